import { sql } from 'drizzle-orm';
import { beforeAll, expect, test } from 'vitest';
import { inTransaction } from '../../src/ingest/ingest-transaction.ts';
import { usePlatform } from '../helpers/platform.ts';

// The ingestion transaction writes BEGIN together with its first statement (no round trip of its own) on a
// reserved connection: these check it is still one transaction, all or nothing, and never leaks a connection.
const platform = usePlatform();

beforeAll(async () => {
  await platform.deps.sql`create table tx_probe (id int primary key)`;
});

const count = async () =>
  (await platform.deps.sql<{ n: number }[]>`select count(*)::int as n from tx_probe`)[0]!.n;

test('the first statement runs inside the transaction: invisible to others until COMMIT', async () => {
  await platform.deps.sql`delete from tx_probe`;
  const seenInside = await inTransaction(platform.deps.sql, async (tx) => {
    await tx.sql`insert into tx_probe values (1), (2)`;
    const inside = (await tx.sql<{ n: number }[]>`select count(*)::int as n from tx_probe`)[0]!.n;
    expect(inside).toBe(2);
    return count(); // another connection of the pool
  });
  expect(seenInside).toBe(0);
  expect(await count()).toBe(2);
});

test('a failure after the first statement rolls everything back', async () => {
  await platform.deps.sql`delete from tx_probe`;
  await expect(
    inTransaction(platform.deps.sql, async (tx) => {
      await tx.sql`insert into tx_probe values (10)`;
      throw new Error('the rules seam failed');
    }),
  ).rejects.toThrow('the rules seam failed');
  expect(await count()).toBe(0);
});

test('a failing statement rolls back and returns the connection clean, however often it happens', async () => {
  await platform.deps.sql`delete from tx_probe`;
  await platform.deps.sql`insert into tx_probe values (1)`;
  // More failures than the pool has connections: a connection left reserved or mid-transaction would hang
  // or poison the next transaction.
  for (let i = 0; i < 25; i++) {
    await expect(
      inTransaction(platform.deps.sql, async (tx) => {
        await tx.sql`insert into tx_probe values (${100 + i})`;
        await tx.sql`insert into tx_probe values (1)`; // duplicate key
      }),
    ).rejects.toMatchObject({ code: '23505' });
  }
  const result = await inTransaction(platform.deps.sql, async (tx) => {
    // The rules seam's drizzle database works on the same connection, inside the same transaction.
    await tx.db().execute(sql`insert into tx_probe values (2)`);
    return (await tx.sql<{ n: number }[]>`select count(*)::int as n from tx_probe where id = 2`)[0]!.n;
  });
  expect(result).toBe(1);
  expect(
    (await platform.deps.sql<{ id: number }[]>`select id from tx_probe order by id`).map((r) => r.id),
  ).toEqual([1, 2]);
});

test('statements sent with COMMIT commit with it, and one failing among them commits nothing', async () => {
  await platform.deps.sql`delete from tx_probe`;
  await inTransaction(platform.deps.sql, async (tx) => {
    await tx.sql`insert into tx_probe values (1)`;
    tx.sendWithCommit([tx.sql`insert into tx_probe values (2)`, tx.sql`insert into tx_probe values (3)`]);
  });
  expect(await count()).toBe(3);
  for (let i = 0; i < 12; i++)
    await expect(
      inTransaction(platform.deps.sql, async (tx) => {
        await tx.sql`insert into tx_probe values (${10 + i})`;
        tx.sendWithCommit([
          tx.sql`insert into tx_probe values (${20 + i})`,
          tx.sql`insert into tx_probe values (1)`,
        ]);
      }),
    ).rejects.toMatchObject({ code: '23505' });
  // Nothing of the failed ones, and the pool's connections are clean (more failures than connections).
  expect(await count()).toBe(3);
  await inTransaction(platform.deps.sql, async (tx) => {
    tx.sendWithCommit([tx.sql`insert into tx_probe values (4)`]);
  });
  expect(await count()).toBe(4);
});
