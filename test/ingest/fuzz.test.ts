import fc from 'fast-check';
import { expect, test } from 'vitest';
import { ingestEvents } from '../../src/ingest/ingest.ts';
import { usePlatform } from '../helpers/platform.ts';
import { authorization, createTestProcessor, enrollCard, testPan } from './fixtures.ts';

const platform = usePlatform();

const anyText = fc.oneof(
  fc.string(),
  fc.string({ unit: 'binary' }),
  fc.constantFrom('', ' ', '\u0000', '\ud800x'),
);
/** Mostly absent (the valid default is used), sometimes an arbitrary value: most events stay storable. */
const rarely = <T>(arbitrary: fc.Arbitrary<T>) =>
  fc.oneof({ arbitrary: fc.constant(undefined), weight: 12 }, { arbitrary, weight: 1 });

const timestamp = fc.oneof(
  fc
    .record({
      date: fc.date({
        min: new Date('0001-01-01T00:00:00Z'),
        max: new Date('9999-12-31T23:59:59Z'),
        noInvalidDate: true,
      }),
      offset: fc.integer({ min: -23 * 60 - 59, max: 23 * 60 + 59 }),
      z: fc.boolean(),
    })
    .map(({ date, offset, z }) => {
      const iso = date.toISOString();
      if (z) return iso;
      const sign = offset < 0 ? '-' : '+';
      const abs = Math.abs(offset);
      return `${iso.slice(0, 23)}${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
    }),
  anyText,
);

test('whatever a processor sends inside a batch, each event is accepted or rejected: never a failed request', async () => {
  const processor = await createTestProcessor(platform);
  const pan = testPan(800);
  await enrollCard(platform, pan);
  let seq = 0;
  const seen = { stored: 0, rejected: 0 };
  const event = fc
    .record({
      type: rarely(fc.constantFrom('authorization', 'clearing', 'refund', 'reversal', 'capture')),
      occurred_at: rarely(timestamp),
      amount: rarely(
        fc.oneof(fc.integer(), fc.double(), fc.constant(Number.MAX_SAFE_INTEGER), fc.constant(-1)),
      ),
      currency: rarely(fc.oneof(fc.constantFrom('USD', 'EUR', 'JPY', 'usd', 'XXX'), anyText)),
      mid: rarely(anyText),
      name: rarely(anyText),
      city: rarely(anyText),
      auth_code: rarely(fc.option(anyText)),
      original_id: rarely(fc.option(anyText)),
      token: rarely(fc.option(anyText, { nil: undefined })),
    })
    .map((fields) =>
      authorization({
        id: `fuzz-${seq++}`,
        ...(fields.token !== undefined ? { token: fields.token } : { pan }),
        ...(fields.type !== undefined ? { type: fields.type } : {}),
        ...(fields.occurred_at !== undefined ? { occurred_at: fields.occurred_at } : {}),
        ...(fields.amount !== undefined ? { amount: fields.amount } : {}),
        ...(fields.currency !== undefined ? { currency: fields.currency } : {}),
        ...(fields.auth_code !== undefined ? { auth_code: fields.auth_code } : {}),
        ...(fields.original_id !== undefined ? { original_id: fields.original_id } : {}),
        merchant: { mid: fields.mid ?? '000123', name: fields.name ?? null, city: fields.city ?? null },
      }),
    );
  await fc.assert(
    fc.asyncProperty(fc.array(event, { minLength: 1, maxLength: 30 }), async (events) => {
      const results = await ingestEvents(platform.deps, processor, events);
      expect(results).toHaveLength(events.length);
      for (const result of results) {
        expect(['accepted', 'duplicate', 'rejected']).toContain(result.status);
        seen[result.status === 'rejected' ? 'rejected' : 'stored']++;
      }
    }),
    { numRuns: 60 },
  );
  // Both paths were exercised: events reached Postgres, and bad ones were caught before it.
  expect(seen.stored).toBeGreaterThan(50);
  expect(seen.rejected).toBeGreaterThan(50);
});
