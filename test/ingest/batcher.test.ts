import fc from 'fast-check';
import { expect, test, vi } from 'vitest';
import { ingestEvents } from '../../src/ingest/ingest.ts';
import { usePlatform } from '../helpers/platform.ts';
import { authorization, createTestProcessor, enrollCard, testPan } from './fixtures.ts';

const platform = usePlatform();

test('concurrent callers with overlapping ids: each id is stored once and every caller sees its own results in order', async () => {
  const processor = await createTestProcessor(platform);
  const pans = [testPan(700), testPan(701)];
  for (const pan of pans) await enrollCard(platform, pan);
  const unenrolled = testPan(702);
  let round = 0;
  await fc.assert(
    fc.asyncProperty(
      // Callers, each sending a list of ids drawn from a small pool (so they collide within and across calls).
      fc.array(fc.array(fc.integer({ min: 0, max: 40 }), { minLength: 1, maxLength: 60 }), {
        minLength: 1,
        maxLength: 12,
      }),
      async (callers) => {
        const prefix = `r${round++}-`;
        const pending = callers.map((ids) =>
          ingestEvents(
            platform.deps,
            processor,
            ids.map((n) =>
              authorization({ id: `${prefix}${n}`, pan: n % 5 === 0 ? unenrolled : pans[n % 2]! }),
            ),
          ),
        );
        const results = await Promise.all(pending);
        const eventIdOf = new Map<string, string>();
        const accepted = new Map<string, number>();
        results.forEach((callerResults, c) => {
          expect(callerResults.map((r) => r.id)).toEqual(callers[c]!.map((n) => `${prefix}${n}`));
          for (const result of callerResults) {
            expect(['accepted', 'duplicate']).toContain(result.status);
            const id = result.id!;
            if (eventIdOf.has(id)) expect(result.event_id).toBe(eventIdOf.get(id));
            else eventIdOf.set(id, result.event_id!);
            if (result.status === 'accepted') accepted.set(id, (accepted.get(id) ?? 0) + 1);
          }
        });
        for (const id of eventIdOf.keys()) expect(accepted.get(id), id).toBe(1);
        const rows = await platform.deps.sql<{ external_id: string; id: string }[]>`
          select external_id, id from events
          where processor_id = ${processor.id} and external_id like ${`${prefix}%`}`;
        const enrolledIds = [...eventIdOf.keys()].filter((id) => Number(id.slice(prefix.length)) % 5 !== 0);
        expect(rows.map((row) => row.external_id).sort()).toEqual(enrolledIds.sort());
        for (const row of rows) expect(row.id).toBe(eventIdOf.get(row.external_id));
        const [keys] = await platform.deps.sql<{ n: number }[]>`
          select count(*)::int as n from event_keys where processor_id = ${processor.id} and external_id like ${`${prefix}%`}`;
        expect(keys!.n).toBe(eventIdOf.size);
      },
    ),
    { numRuns: 20 },
  );
});

test('a small request beside a large transaction gets its own after a short wait, not after the large one', async () => {
  const processor = await createTestProcessor(platform);
  const pan = testPan(710);
  await enrollCard(platform, pan);
  const order: string[] = [];
  // 5,000 events: one transaction of a good fraction of a second on these machines.
  const large = ingestEvents(
    platform.deps,
    processor,
    Array.from({ length: 5000 }, (_, n) => authorization({ id: `large-${n}`, pan })),
  ).then(() => order.push('large'));
  await vi.waitFor(() => expect(platform.deps.ingestBatcher.inFlight).toBe(1), {
    interval: 1,
    timeout: 10_000,
  });
  // Fewer events than open a second transaction at once (parallelFrom): they wait maxWaitMs, not for `large`.
  const small = ingestEvents(platform.deps, processor, [authorization({ id: 'small-1', pan })]).then(() =>
    order.push('small'),
  );
  await Promise.all([large, small]);
  expect(order).toEqual(['small', 'large']);
});
