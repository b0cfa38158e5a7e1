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

/** A postgres.js pool with drizzle on top; with `prepare`, drizzle's statements are prepared (see below). */
export function createDatabase(url: string, options: { max?: number; prepare?: boolean } = {}): Database {
  const sql = postgres(url, {
    max: options.max ?? 10,
    onnotice: () => {},
    connection: { application_name: 'cardlink' },
  });
  const db = drizzleOver(options.prepare ? preparingStatements(sql) : sql);
  return { sql, db, close: () => sql.end({ timeout: 5 }) };
}

/**
 * The client as drizzle should see it for its statements to be prepared. Drizzle runs every query through
 * `unsafe(text, params, { prepare: false })` unless the query was given a name, so Postgres parses and plans each
 * statement on every run, and postgres.js first has it described (a round trip of its own) whenever it has
 * parameters. Prepared, a statement costs that once per connection (postgres.js keeps them per connection, and
 * connections live 30 to 60 minutes) and Postgres reuses its plan. Transactions hand drizzle a connection of
 * their own (`begin`, `savepoint`): wrapped the same way. Measured in bench/README.md (Dispatch).
 */
function preparingStatements(sql: Sql): Sql {
  return new Proxy(sql, {
    get(target, property) {
      if (property === 'unsafe')
        return (
          text: string,
          params?: postgres.ParameterOrJSON<never>[],
          options?: postgres.UnsafeQueryOptions,
        ) => target.unsafe(text, params, { ...options, prepare: true });
      if (property === 'begin' || property === 'savepoint')
        return (...args: unknown[]) => {
          const last = args.length - 1;
          const run = args[last] as (connection: Sql) => unknown;
          args[last] = (connection: Sql) => run(preparingStatements(connection));
          return (Reflect.get(target, property) as (...a: unknown[]) => unknown).apply(target, args);
        };
      const value = Reflect.get(target, property, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}
