import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { drizzle } from 'drizzle-orm/postgres-js';
import { migrate } from 'drizzle-orm/postgres-js/migrator';
import postgres from 'postgres';
import { pgErrorCode } from '../errors.ts';
import type { Sql } from './client.ts';

export const MIGRATIONS_FOLDER = fileURLToPath(new URL('../../migrations', import.meta.url));
const MIGRATIONS_SCHEMA = 'drizzle';
const MIGRATIONS_TABLE = '__drizzle_migrations';
// Any fixed 64-bit number works; every process that migrates agrees on this one.
const MIGRATION_LOCK_KEY = 4_242_031_337;

const quiet = { onnotice: () => {} } as const;

/** Creates the database named in `url` when it does not exist yet (safe when several processes race). */
export async function ensureDatabase(url: string): Promise<boolean> {
  const target = new URL(url);
  const name = decodeURIComponent(target.pathname.replace(/^\//, ''));
  if (!name) throw new Error('DATABASE_URL names no database');
  const admin = new URL(url);
  admin.pathname = '/postgres';
  const sql = postgres(admin.toString(), { ...quiet, max: 1 });
  try {
    const [row] = await sql`select 1 as found from pg_database where datname = ${name}`;
    if (row) return false;
    await sql.unsafe(`create database "${name.replaceAll('"', '""')}"`);
    return true;
  } catch (error) {
    // 42P04 duplicate_database, 23505 when two creators collide on pg_database's unique index.
    const code = pgErrorCode(error);
    if (code === '42P04' || code === '23505') return false;
    throw error;
  } finally {
    await sql.end({ timeout: 5 });
  }
}

/** Applies pending migrations holding a Postgres advisory lock, so concurrent starters apply them once. */
export async function runMigrations(url: string, folder = MIGRATIONS_FOLDER): Promise<void> {
  await ensureDatabase(url);
  const sql = postgres(url, { ...quiet, max: 1 });
  try {
    await sql`select pg_advisory_lock(${MIGRATION_LOCK_KEY})`;
    try {
      await migrate(drizzle(sql), {
        migrationsFolder: folder,
        migrationsSchema: MIGRATIONS_SCHEMA,
        migrationsTable: MIGRATIONS_TABLE,
      });
    } finally {
      await sql`select pg_advisory_unlock(${MIGRATION_LOCK_KEY})`;
    }
  } finally {
    await sql.end({ timeout: 5 });
  }
}

interface Journal {
  entries: { idx: number; when: number; tag: string }[];
}

let latestMigrationCache: { folder: string; when: number } | undefined;

function latestMigration(folder: string): number {
  if (latestMigrationCache?.folder !== folder) {
    const journal = JSON.parse(readFileSync(`${folder}/meta/_journal.json`, 'utf8')) as Journal;
    latestMigrationCache = { folder, when: Math.max(0, ...journal.entries.map((e) => e.when)) };
  }
  return latestMigrationCache.when;
}

/** True when the database has every migration this build ships. */
export async function migrationsCurrent(sql: Sql, folder = MIGRATIONS_FOLDER): Promise<boolean> {
  const [row] = await sql<{ latest: string | null }[]>`
    select max(created_at)::text as latest
    from ${sql(MIGRATIONS_SCHEMA)}.${sql(MIGRATIONS_TABLE)}`.catch((error: unknown) => {
    if (pgErrorCode(error) === '42P01' || pgErrorCode(error) === '3F000') return [{ latest: null }];
    throw error;
  });
  return row?.latest != null && Number(row.latest) >= latestMigration(folder);
}
