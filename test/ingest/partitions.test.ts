import type { Job } from 'bullmq';
import { expect, test } from 'vitest';
import { maintenanceProcessor } from '../../workers/maintenance/processor.ts';
import { usePlatform } from '../helpers/platform.ts';
import { authorization, createTestProcessor, enrollCard, postEvents, testPan } from './fixtures.ts';

const platform = usePlatform();

async function partitions(): Promise<string[]> {
  const rows = await platform.deps.sql<{ name: string }[]>`
    select c.relname as name from pg_inherits i join pg_class c on c.oid = i.inhrelid
    where i.inhparent = 'events'::regclass order by 1`;
  return rows.map((row) => row.name);
}

const monthName = (offset: number) => {
  const now = new Date();
  const d = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + offset, 1));
  return `events_${d.getUTCFullYear()}_${String(d.getUTCMonth() + 1).padStart(2, '0')}`;
};

test('events are partitioned by month; the maintenance job creates months ahead and drains the default', async () => {
  // Migrations create this month and the next two, plus the default partition.
  expect(await partitions()).toEqual(
    expect.arrayContaining([monthName(0), monthName(1), monthName(2), 'events_default']),
  );

  const processor = await createTestProcessor(platform);
  const pan = testPan(500);
  await enrollCard(platform, pan);
  const res = await postEvents(platform, processor, authorization({ pan }));
  const [row] = await platform.deps
    .sql`select tableoid::regclass::text as part from events where id = ${res.body.results[0].event_id}`;
  expect(row!.part).toBe(monthName(0));

  // A row for a month without a partition falls into the default one...
  const far = new Date(Date.now());
  far.setUTCMonth(far.getUTCMonth() + 5, 15);
  await platform.deps.sql`
    insert into events select (id || '_far'), ${far.toISOString()}::timestamptz, processor_id, external_id || '_far', type, occurred_at, local_at,
      utc_offset_minutes, card_id, user_id, card_scheme, amount, currency, merchant_id, mid, merchant_name, mcc,
      merchant_city, merchant_region, merchant_postal_code, merchant_country, terminal_id, auth_code, rrn, entry_mode,
      original_external_id, authorization_id, authorization_received_at, cleared_amount, refunded_amount, reversed_amount
    from events where id = ${res.body.results[0].event_id}`;
  const [inDefault] = await platform.deps.sql`select count(*)::int as n from events_default`;
  expect(inDefault!.n).toBe(1);

  // ...and moves into its own partition once maintenance creates it.
  const run = maintenanceProcessor(platform.deps);
  const first = await run({ name: 'create-event-partitions' } as Job);
  expect(first).toEqual({ created: 1 }); // migrations made months 0 to 2; the job keeps 3 ahead
  await platform.deps.sql`select cardlink_ensure_event_partitions(6)`;
  expect(await partitions()).toEqual(expect.arrayContaining([monthName(3), monthName(5), monthName(6)]));
  const [drained] = await platform.deps.sql`select count(*)::int as n from events_default`;
  expect(drained!.n).toBe(0);
  const [moved] = await platform.deps
    .sql`select tableoid::regclass::text as part from events where id like '%_far'`;
  expect(moved!.part).toBe(monthName(5));

  // Idempotent.
  expect(await run({ name: 'create-event-partitions' } as Job)).toEqual({ created: 0 });
});
