import { drizzle, type PostgresJsDatabase } from 'drizzle-orm/postgres-js';
import postgres from 'postgres';
import * as schema from './schema/index.ts';

export type Schema = typeof schema;
/** Drizzle over postgres.js; `$client` is the postgres.js client underneath (for the hot paths' tagged templates). */
export type Db = PostgresJsDatabase<Schema> & { $client: Sql };
export type Tx = Parameters<Parameters<Db['transaction']>[0]>[0];
/** What a verb or query runs against: the pool or an open transaction. */
export type Executor = Db | Tx;
export type Sql = postgres.Sql;

export interface Database {
  sql: Sql;
  db: Db;
  close: () => Promise<void>;
}

/** Drizzle over a postgres.js client: a pool, or one reserved connection (e.g. inside its transaction). */
export function drizzleOver(sql: Sql): Db {
  return drizzle(sql, { schema, casing: 'snake_case' });
}

/** A postgres.js pool with drizzle on top. */
export function createDatabase(url: string, options: { max?: number } = {}): Database {
  const sql = postgres(url, {
    max: options.max ?? 10,
    onnotice: () => {},
    connection: { application_name: 'cardlink' },
  });
  const db = drizzleOver(sql);
  return { sql, db, close: () => sql.end({ timeout: 5 }) };
}
