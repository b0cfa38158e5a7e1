import postgres from 'postgres';
import { afterAll, describe, expect, it } from 'vitest';
import { ensureDatabase, migrationsCurrent, runMigrations } from '../../src/db/migrate.ts';
import { databaseUrl, dropDatabase, uniqueName } from '../helpers/pg.ts';

const created: string[] = [];
afterAll(async () => {
  for (const name of created) await dropDatabase(name);
});

describe('migrations', () => {
  it('creates a missing database and applies migrations once when several processes start together', async () => {
    const name = uniqueName('cardlink_mig');
    created.push(name);
    const url = databaseUrl(name);
    await Promise.all([runMigrations(url), runMigrations(url), runMigrations(url), runMigrations(url)]);

    const sql = postgres(url, { max: 1, onnotice: () => {} });
    try {
      const applied =
        await sql`select hash, count(*)::int as n from drizzle.__drizzle_migrations group by hash`;
      expect(applied.length).toBeGreaterThan(0);
      expect(applied.every((row) => row.n === 1)).toBe(true);
      expect(await migrationsCurrent(sql)).toBe(true);
      const tables = await sql`select tablename from pg_tables where schemaname = 'public'`;
      expect(tables.map((t) => t.tablename)).toEqual(
        expect.arrayContaining(['processors', 'apps', 'merchants']),
      );
    } finally {
      await sql.end();
    }
  });

  it('ensureDatabase is a no-op for an existing database and safe under a race', async () => {
    const name = uniqueName('cardlink_ens');
    created.push(name);
    const results = await Promise.all([1, 2, 3].map(() => ensureDatabase(databaseUrl(name))));
    expect(results.filter(Boolean).length).toBeLessThanOrEqual(1);
    expect(await ensureDatabase(databaseUrl(name))).toBe(false);
  });
});
