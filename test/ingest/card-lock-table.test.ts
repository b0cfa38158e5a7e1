// Card locks (card-locks.ts) at the batch sizes group commit makes: INGEST_MAX_IN_FLIGHT (4) transactions of
// INGEST_MAX_EVENTS (5000) events each, on distinct cards. A lock per card in Postgres' shared lock table
// (max_locks_per_transaction 64 × max_connections 100 by default) would fill it: "out of shared memory" (53200).
import { expect, it } from 'vitest';
import type { PendingEvent } from '../../src/ingest/event-fields.ts';
import { storeEvents } from '../../src/ingest/store-events.ts';
import { usePlatform } from '../helpers/platform.ts';
import { createTestProcessor } from './fixtures.ts';

const platform = usePlatform();

it('full group-commit batches of clearings on distinct cards store side by side', async () => {
  const processor = await createTestProcessor(platform);
  const sql = platform.deps.sql;
  const batches = 4;
  const size = 5000;
  await sql`
    insert into users (id, email, password_hash)
    select 'usr_lk' || g, 'lk' || g || '@example.test', 'x' from generate_series(1, ${batches * size}::int) g`;
  await sql`
    insert into cards (id, user_id, fingerprint, bin, last4, scheme, exp_month, exp_year)
    select 'crd_lk' || g, 'usr_lk' || g, 'fp_lk' || g, '411111', '1111', 'visa', 12, 2030
    from generate_series(1, ${batches * size}::int) g`;
  const batch = (from: number): PendingEvent[] =>
    Array.from({ length: size }, (_, i) => ({
      processorId: processor.id,
      externalId: `clr_${from + i}`,
      type: 'clearing',
      occurredAt: new Date().toISOString(),
      amount: 100,
      currency: 'USD',
      mid: 'MLK1',
      merchantName: null,
      mcc: null,
      merchantCity: null,
      merchantRegion: null,
      merchantPostalCode: null,
      merchantCountry: null,
      terminalId: null,
      authCode: null,
      rrn: null,
      entryMode: null,
      originalExternalId: null,
      card: { fingerprint: `fp_lk${from + i + 1}` },
    }));
  const results = await Promise.allSettled(
    Array.from({ length: batches }, (_, b) =>
      storeEvents(platform.deps.db, batch(b * size), { actions: platform.deps.actionsHook }),
    ),
  );
  const failed = results.flatMap((r) => (r.status === 'rejected' ? [(r.reason as Error).message] : []));
  expect(failed).toEqual([]);
}, 120_000);
