/**
 * `npx tsx bench/validate.ts`: µs per event for validating ordinary ingest events with zod
 * (`CardEventInput.safeParse`), with the hand-written fast path, with the fast path followed by the card
 * number guard every stored event passes (`fast+guard`), and for the nesting-depth scan every JSON body gets
 * before it is parsed (`depth`, over each event's bytes as one request would carry them).
 * Pure CPU, one thread, a few seconds.
 */
import { CardKeys } from '../src/cards/card-keys.ts';
import { luhnValid } from '../src/cards/pan.ts';
import { MAX_JSON_DEPTH, nestsDeeperThan } from '../src/http/json-depth.ts';
import { guardCardNumbers } from '../src/ingest/card-number-guard.ts';
import { fastParseCardEvent } from '../src/ingest/fast-validate.ts';
import { CardEventInput } from '../src/ingest/schema.ts';

const EVENTS = 100_000;

function panFor(seq: number): string {
  const body = `4000${String(seq).padStart(11, '0')}`;
  for (let check = 0; check < 10; check++) if (luhnValid(body + check)) return body + check;
  throw new Error('unreachable');
}

const bodies: Uint8Array[] = [];

// The shape bench/ingest.ts sends, parsed from JSON as the route does; every 4th event uses a token.
function ordinaryEvents(): unknown[] {
  const now = Date.now();
  const events: unknown[] = [];
  for (let i = 0; i < EVENTS; i++) {
    const mid = `M${String(i % 500).padStart(5, '0')}`;
    const card = i % 4 === 3 ? `{"token":"tok_${i.toString(36)}"}` : `{"pan":"${panFor(i % 2000)}"}`;
    const occurredAt = i % 2 ? new Date(now - i * 1000).toISOString() : '2026-11-22T08:15:02-08:00';
    const body =
      `{"id":"b-${i}","type":"authorization","occurred_at":"${occurredAt}","card":${card},` +
      `"amount":${100 + (i % 9000)},"currency":"USD","merchant":{"mid":"${mid}","name":"BENCH MERCHANT ${mid}",` +
      `"mcc":"5814","city":"Oakland","region":"CA","postal_code":"94607","country":"US","terminal_id":"T1"},` +
      `"auth_code":"A1B2C3","rrn":"${String(i).padStart(12, '0')}","entry_mode":"contactless","original_id":null}`;
    bodies.push(Buffer.from(body));
    events.push(JSON.parse(body));
  }
  return events;
}

function measure(name: string, events: unknown[], validate: (raw: unknown) => unknown): void {
  for (const event of events.slice(0, 10_000)) validate(event); // warm-up
  let kept = 0;
  const start = process.hrtime.bigint();
  for (const event of events) if (validate(event)) kept++;
  const micros = Number(process.hrtime.bigint() - start) / 1000;
  console.log(
    `${name.padEnd(10)} ${(micros / events.length).toFixed(2)} µs/event (${kept} of ${events.length} valid)`,
  );
}

const events = ordinaryEvents();
measure('zod', events, (raw) => CardEventInput.safeParse(raw).success);
measure('fast', events, (raw) => fastParseCardEvent(raw) !== null);
measure('zod', events, (raw) => CardEventInput.safeParse(raw).success);
measure('fast', events, (raw) => fastParseCardEvent(raw) !== null);
const KEY = new CardKeys('bench-fingerprint-key');
measure('fast+guard', events, (raw) => {
  const event = fastParseCardEvent(raw);
  return event !== null && guardCardNumbers(event, KEY).ok;
});
measure('depth', bodies, (raw) => !nestsDeeperThan(raw as Uint8Array, MAX_JSON_DEPTH));
