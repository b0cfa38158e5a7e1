import fc from 'fast-check';
import { expect, test } from 'vitest';
import { statedOffsetMinutes } from '../../src/ingest/local-time.ts';
import { usePlatform } from '../helpers/platform.ts';
import { authorization, createTestProcessor, enrollCard, postEvents, testPan } from './fixtures.ts';

const platform = usePlatform();
const ZONES = [
  'America/Los_Angeles',
  'Europe/Paris',
  'Asia/Calcutta',
  'Australia/Lord_Howe',
  'Pacific/Chatham',
  'UTC',
];

/** Reference: the wall clock of `instant` in `zone`, from Intl (independent of the SQL under test). */
function wallClock(instant: Date, zone: string): string {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-GB', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    })
      .formatToParts(instant)
      .map((part) => [part.type, part.value]),
  );
  return `${parts.year}-${parts.month}-${parts.day} ${parts.hour}:${parts.minute}:${parts.second}`;
}

function withOffset(instant: Date, offsetMinutes: number): string {
  const shifted = new Date(instant.getTime() + offsetMinutes * 60_000).toISOString().slice(0, 19);
  const sign = offsetMinutes < 0 ? '-' : '+';
  const abs = Math.abs(offsetMinutes);
  return `${shifted}${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
}

test('statedOffsetMinutes reads RFC 3339 offsets; Z and -00:00 state none', () => {
  expect(statedOffsetMinutes('2026-01-01T00:00:00Z')).toBeNull();
  expect(statedOffsetMinutes('2026-01-01T00:00:00-00:00')).toBeNull();
  expect(statedOffsetMinutes('2026-01-01T00:00:00+00:00')).toBe(0);
  expect(statedOffsetMinutes('2026-01-01T00:00:00.123+05:45')).toBe(345);
  expect(statedOffsetMinutes('2026-01-01T00:00:00-09:30')).toBe(-570);
});

test('stored local time equals the Intl reference: from the stated offset, else the merchant zone', async () => {
  const processor = await createTestProcessor(platform);
  const pan = testPan(600);
  await enrollCard(platform, pan);
  for (const [i, zone] of ZONES.entries()) {
    const res = await platform.admin('POST', '/v1/merchants', {
      body: { name: `Zone ${zone}`, mids: [`TZ${i}`], timezone: zone },
    });
    expect(res.status, res.text).toBe(201);
  }
  let seq = 0;
  await fc.assert(
    fc.asyncProperty(
      fc.array(
        fc.record({
          // Whole seconds from 2020 to now (events over a day ahead are refused), including DST transitions.
          seconds: fc.integer({ min: 1_577_836_800, max: Math.floor(Date.now() / 1000) }),
          zoneIndex: fc.integer({ min: 0, max: ZONES.length - 1 }),
          offset: fc.option(fc.integer({ min: -12 * 60, max: 14 * 60 }), { nil: undefined }),
        }),
        { minLength: 1, maxLength: 20 },
      ),
      async (cases) => {
        const events = cases.map((c) => {
          const instant = new Date(c.seconds * 1000);
          return authorization({
            pan,
            id: `tz-${seq++}`,
            occurred_at: c.offset === undefined ? instant.toISOString() : withOffset(instant, c.offset),
            merchant: { mid: `TZ${c.zoneIndex}` },
          });
        });
        const res = await postEvents(platform, processor, { events });
        expect(res.status).toBe(200);
        const ids = res.body.results.map((r: { event_id: string }) => r.event_id);
        const rows = await platform.deps.sql<{ id: string; local_at: string; utc_offset_minutes: number }[]>`
          select id, to_char(local_at, 'YYYY-MM-DD HH24:MI:SS') as local_at, utc_offset_minutes
          from events where id = any(${ids})`;
        const byId = new Map(rows.map((row) => [row.id, row]));
        cases.forEach((c, i) => {
          const instant = new Date(c.seconds * 1000);
          const row = byId.get(ids[i])!;
          if (c.offset !== undefined) {
            expect(row.utc_offset_minutes).toBe(c.offset);
            expect(row.local_at).toBe(withOffset(instant, c.offset).slice(0, 19).replace('T', ' '));
          } else {
            expect(row.local_at).toBe(wallClock(instant, ZONES[c.zoneIndex]!));
          }
        });
      },
    ),
    { numRuns: 25 },
  );
});
