import { drizzle, type PostgresJsDatabase } from 'drizzle-orm/postgres-js';
import postgres from 'postgres';
import * as schema from './schema/index.ts';

export type Schema = typeof schema;
export type Db = PostgresJsDatabase<Schema>;
export type Tx = Parameters<Parameters<Db['transaction']>[0]>[0];
/** What a verb or query runs against: the pool or an open transaction. */
export type Executor = Db | Tx;
export type Sql = postgres.Sql;

export interface Database {
  sql: Sql;
  db: Db;
  close: () => Promise<void>;
}

/** A postgres.js pool with drizzle on top. */
export function createDatabase(url: string, options: { max?: number } = {}): Database {
  const sql = postgres(url, {
    max: options.max ?? 10,
    onnotice: () => {},
    connection: { application_name: 'cardlink' },
  });
  const db = drizzle(sql, { schema, casing: 'snake_case' });
  return { sql, db, close: () => sql.end({ timeout: 5 }) };
}
