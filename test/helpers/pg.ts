import { randomBytes } from 'node:crypto';
import postgres from 'postgres';

/** The server the tests use; any database on it serves as the admin connection. */
export const TEST_PG_ADMIN_URL = process.env.TEST_PG_URL ?? 'postgres://127.0.0.1:5432/postgres';
export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

export const uniqueName = (prefix: string) =>
  `${prefix}_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;

export function databaseUrl(name: string): string {
  const url = new URL(TEST_PG_ADMIN_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

export async function withAdmin<T>(run: (sql: postgres.Sql) => Promise<T>): Promise<T> {
  const sql = postgres(TEST_PG_ADMIN_URL, { max: 1, onnotice: () => {} });
  try {
    return await run(sql);
  } finally {
    await sql.end({ timeout: 5 });
  }
}

export const dropDatabase = (name: string) =>
  withAdmin((sql) => sql.unsafe(`drop database if exists "${name}" with (force)`));
