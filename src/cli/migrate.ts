import { Command } from 'commander';
import postgres from 'postgres';
import { loadConfig } from '../config.ts';
import { runMigrations } from '../db/migrate.ts';

/** How many migrations the database has applied (0 when it has none, or does not exist yet). */
async function appliedCount(databaseUrl: string): Promise<number> {
  const sql = postgres(databaseUrl, { max: 1, onnotice: () => {} });
  try {
    const [row] = await sql<{ n: number }[]>`select count(*)::int as n from drizzle.__drizzle_migrations`;
    return row?.n ?? 0;
  } catch {
    return 0;
  } finally {
    await sql.end({ timeout: 5 });
  }
}

export function migrateCommand(): Command {
  return new Command('migrate')
    .summary('create the database if needed and apply pending migrations')
    .description(
      'Creates the database DATABASE_URL names when it does not exist and applies the pending migrations (under ' +
        'a Postgres advisory lock, so it is safe beside running servers, which do the same when they start). ' +
        'Prints what it did as JSON.',
    )
    .action(async () => {
      const { config } = loadConfig();
      const before = await appliedCount(config.databaseUrl);
      await runMigrations(config.databaseUrl);
      const after = await appliedCount(config.databaseUrl);
      const url = new URL(config.databaseUrl);
      process.stdout.write(
        `${JSON.stringify(
          {
            database: decodeURIComponent(url.pathname.slice(1)),
            host: url.host,
            applied_now: after - before,
            applied_total: after,
          },
          null,
          2,
        )}\n`,
      );
    });
}
