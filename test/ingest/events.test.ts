import { describe, expect, test } from 'vitest';
import { usePlatform } from '../helpers/platform.ts';
import {
  authorization,
  createTestProcessor,
  enrollCard,
  postEvents,
  processorRequest,
  signedHeaders,
  testPan,
} from './fixtures.ts';

const platform = usePlatform();
const sql = () => platform.deps.sql;

/** What a processor's requests can store: a refused one must leave every count as it was. */
const storedBy = async (processorId: string) => {
  const [row] = await sql()`
    select (select count(*)::int from events where processor_id = ${processorId}) as events,
           (select count(*)::int from event_keys where processor_id = ${processorId}) as event_keys,
           (select count(*)::int from unenrolled_event_counts where processor_id = ${processorId}) as unenrolled,
           (select count(*)::int from card_tokens where processor_id = ${processorId}) as card_tokens`;
  return row;
};
const NOTHING = { events: 0, event_keys: 0, unenrolled: 0, card_tokens: 0 };

describe('POST /v1/events', () => {
  test('a batch with good and bad events stores the good ones and rejects the bad ones alone', async () => {
    const processor = await createTestProcessor(platform);
    const pan = testPan(100);
    const { cardId, userId } = await enrollCard(platform, pan);
    const good1 = authorization({ pan });
    const good2 = authorization({ pan, amount: 1250, entry_mode: 'chip' });
    const badAmount = authorization({ pan, amount: 12.5 });
    const badLuhn = authorization({ pan: '4111111111111112' });
    const badCard = authorization({ card: { pan, token: 'tok_x' } });
    const missing = { id: 'missing-everything' };
    const notObject = 42;
    const nul = authorization({ pan, merchant: { mid: '1', name: 'NUL\u0000BYTE' } });
    const surrogate = authorization({ pan, merchant: { mid: '1', city: 'Lone \ud800' } });
    const yearZero = authorization({ pan, occurred_at: '0000-01-01T00:00:00Z' });
    const farOffset = authorization({ pan, occurred_at: '2026-01-01T00:00:00+23:59' });
    const res = await postEvents(platform, processor, {
      events: [
        good1,
        badAmount,
        good2,
        badLuhn,
        badCard,
        missing,
        notObject,
        nul,
        surrogate,
        yearZero,
        farOffset,
      ],
    });
    expect(res.status).toBe(200);
    const results = res.body.results;
    expect(results.map((r: { status: string }) => r.status)).toEqual([
      'accepted',
      'rejected',
      'accepted',
      'rejected',
      'rejected',
      'rejected',
      'rejected',
      'rejected',
      'rejected',
      'rejected',
      'rejected',
    ]);
    expect(results[9].errors).toEqual([{ path: 'occurred_at', message: 'must not be before 2000' }]);
    expect(results[10].errors).toEqual([
      { path: 'occurred_at', message: 'must have a UTC offset between -12:00 and +14:00' },
    ]);
    expect(results[7].errors).toEqual([
      { path: 'merchant.name', message: 'must not contain control characters' },
    ]);
    expect(results[8].errors).toEqual([{ path: 'merchant.city', message: 'must be valid Unicode' }]);
    expect(results[0]).toMatchObject({ id: good1.id, actions: 0 });
    expect(results[0].event_id).toMatch(/^evt_/);
    expect(results[1]).toMatchObject({ id: badAmount.id, event_id: null });
    expect(results[1].errors).toEqual([{ path: 'amount', message: expect.stringContaining('integer') }]);
    expect(results[3].errors).toEqual([{ path: 'card.pan', message: expect.stringContaining('Luhn') }]);
    expect(results[4].errors[0].path).toBe('card');
    expect(results[5].errors.map((e: { path: string }) => e.path)).toEqual(
      expect.arrayContaining(['type', 'occurred_at', 'card', 'amount', 'currency', 'merchant']),
    );
    expect(results[6]).toMatchObject({ id: null, status: 'rejected' });
    // Errors never quote the PAN.
    expect(res.text).not.toContain('4111111111111112');
    expect(res.text).not.toContain(pan);

    const rows = await sql()`select * from events where processor_id = ${processor.id} order by external_id`;
    expect(rows).toHaveLength(2);
    const stored = rows.find((row) => row.external_id === good2.id)!;
    expect(stored).toMatchObject({
      id: results[2].event_id,
      card_id: cardId,
      user_id: userId,
      card_scheme: 'visa',
      type: 'authorization',
      amount: '1250',
      currency: 'USD',
      mid: '000123',
      merchant_name: 'BLUE BOTTLE COFFEE',
      mcc: '5814',
      merchant_country: 'US',
      entry_mode: 'chip',
      utc_offset_minutes: -480,
      local_at: '2026-11-23 08:15:02',
    });
  });

  test('an event more than 24 hours in the future (server clock) is rejected alone on occurred_at', async () => {
    const processor = await createTestProcessor(platform);
    const pan = testPan(130);
    await enrollCard(platform, pan);
    const hour = 3_600_000;
    const at = (ms: number, offset = 'Z') => {
      const iso = new Date(Date.now() + ms).toISOString();
      return offset === 'Z' ? iso : iso.replace('Z', offset);
    };
    const soon = authorization({ pan, occurred_at: at(23 * hour) });
    const tooFar = authorization({ pan, occurred_at: at(25 * hour) });
    // +14:00 local wall clock 25 h ahead in UTC terms is still 25 h ahead: the instant is what counts.
    const farWithOffset = authorization({
      pan,
      occurred_at: new Date(Date.now() + 25 * hour + 14 * hour).toISOString().replace('Z', '+14:00'),
    });
    const now = authorization({ pan, occurred_at: at(0) });
    const res = await postEvents(platform, processor, { events: [soon, tooFar, farWithOffset, now] });
    expect(res.status).toBe(200);
    const results = res.body.results;
    expect(results.map((r: { status: string }) => r.status)).toEqual([
      'accepted',
      'rejected',
      'rejected',
      'accepted',
    ]);
    for (const rejected of [results[1], results[2]]) {
      expect(rejected.errors).toEqual([
        { path: 'occurred_at', message: 'must not be more than 24 hours in the future' },
      ]);
    }
    const [row] = await sql()<{ n: number }[]>`
      select count(*)::int as n from events where external_id in (${tooFar.id}, ${farWithOffset.id})`;
    expect(row?.n).toBe(0);
  });

  test('a single event is its own request; a bad single event is a 422', async () => {
    const processor = await createTestProcessor(platform);
    const pan = testPan(101);
    await enrollCard(platform, pan);
    const ok = await postEvents(platform, processor, authorization({ pan }));
    expect(ok.status).toBe(200);
    expect(ok.body.results).toHaveLength(1);
    expect(ok.body.results[0].status).toBe('accepted');

    const before = await storedBy(processor.id);
    const bad = await postEvents(platform, processor, authorization({ pan, currency: 'XYZ' }));
    expect(bad.status).toBe(422);
    expect(bad.body.code).toBe('validation_failed');
    expect(bad.body.errors).toEqual([{ path: 'currency', message: 'is not an ISO 4217 currency' }]);
    expect(await storedBy(processor.id)).toEqual(before);
  });

  test('malformed envelopes are refused whole', async () => {
    const processor = await createTestProcessor(platform);
    const pan = testPan(102);
    const cases: [unknown, number][] = [
      [{ events: [] }, 422],
      [{ events: 'nope' }, 422],
      [{ events: [authorization({ pan })], extra: true }, 422],
      [[authorization({ pan })], 422],
      ['"just a string"', 422],
      ['{"events": [', 400],
    ];
    for (const [body, status] of cases) {
      const res = await postEvents(platform, processor, body);
      expect(res.status, JSON.stringify(body)).toBe(status);
      expect(res.body.code).toBe(status === 400 ? 'bad_request' : 'validation_failed');
      expect(res.headers.get('content-type')).toContain('application/problem+json');
    }
    const [count] =
      await sql()`select count(*)::int as n from event_keys where processor_id = ${processor.id}`;
    expect(count!.n).toBe(0);
    expect(await storedBy(processor.id)).toEqual(NOTHING);
  });

  test('1001 events are refused (422); a 2 MB body is refused (413) before it is read', async () => {
    const processor = await createTestProcessor(platform);
    const pan = testPan(103);
    const tooMany = { events: Array.from({ length: 1001 }, (_, i) => authorization({ pan, id: `e${i}` })) };
    const tooManyText = JSON.stringify(tooMany);
    // 1001 of these fit under the 1 MB limit, so the count is what is refused.
    expect(tooManyText.length).toBeLessThan(1024 * 1024);
    const res = await postEvents(platform, processor, tooManyText);
    expect(res.status).toBe(422);
    expect(res.body.code).toBe('validation_failed');
    expect(res.body.errors).toEqual([{ path: 'events', message: expect.stringContaining('1000') }]);

    const big = JSON.stringify({
      events: Array.from({ length: 1000 }, (_, i) =>
        authorization({ pan, id: `big${i}`, rrn: 'x'.repeat(24) }),
      ),
      padding: 'x'.repeat(2 * 1024 * 1024),
    });
    const huge = await processorRequest(platform, processor, '/v1/events', big);
    expect(huge.status).toBe(413);
    expect(huge.body.code).toBe('payload_too_large');
    const [count] =
      await sql()`select count(*)::int as n from event_keys where processor_id = ${processor.id}`;
    expect(count!.n).toBe(0);
    expect(await storedBy(processor.id)).toEqual(NOTHING);
  });

  test('over a real socket, a 2 MB body is refused (413) whether its length is declared or streamed', async () => {
    const processor = await createTestProcessor(platform);
    const url = `${await platform.listen()}/v1/events`;
    const big = JSON.stringify({
      events: [authorization({ pan: testPan(113) })],
      padding: 'x'.repeat(2 * 1024 * 1024),
    });
    const headers = {
      'content-type': 'application/json',
      authorization: `Bearer ${processor.apiKey}`,
      ...signedHeaders(processor, big),
    };
    const declared = await fetch(url, { method: 'POST', headers, body: big });
    expect(declared.status).toBe(413);
    expect(((await declared.json()) as { code: string }).code).toBe('payload_too_large');
    const bytes = new TextEncoder().encode(big);
    const streamed = await fetch(url, {
      method: 'POST',
      headers,
      body: new ReadableStream({
        start(controller) {
          for (let i = 0; i < bytes.length; i += 64 * 1024)
            controller.enqueue(bytes.subarray(i, i + 64 * 1024));
          controller.close();
        },
      }),
      duplex: 'half',
    } as RequestInit);
    expect(streamed.status).toBe(413);
    expect(((await streamed.json()) as { code: string }).code).toBe('payload_too_large');
    expect(await storedBy(processor.id)).toEqual(NOTHING);
    // A normal request over the socket goes through.
    const small = JSON.stringify(authorization({ pan: testPan(113) }));
    const ok = await fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: `Bearer ${processor.apiKey}`,
        ...signedHeaders(processor, small),
      },
      body: small,
    });
    expect(ok.status).toBe(200);
    const [count] =
      await sql()`select count(*)::int as n from event_keys where processor_id = ${processor.id}`;
    expect(count!.n).toBe(1);
  });

  test('a resend is a duplicate with the original event id, also inside one batch', async () => {
    const processor = await createTestProcessor(platform);
    const pan = testPan(104);
    await enrollCard(platform, pan);
    const event = authorization({ pan });
    const first = await postEvents(platform, processor, event);
    const again = await postEvents(platform, processor, { events: [event, authorization({ pan }), event] });
    expect(again.body.results[0]).toMatchObject({
      status: 'duplicate',
      event_id: first.body.results[0].event_id,
    });
    expect(again.body.results[1].status).toBe('accepted');
    expect(again.body.results[2]).toMatchObject({
      status: 'duplicate',
      event_id: first.body.results[0].event_id,
    });

    const inOne = authorization({ pan });
    const twice = await postEvents(platform, processor, { events: [inOne, inOne] });
    expect(twice.body.results[0].status).toBe('accepted');
    expect(twice.body.results[1]).toMatchObject({
      status: 'duplicate',
      event_id: twice.body.results[0].event_id,
    });

    // Another processor may use the same id: ids are the processor's own.
    const other = await createTestProcessor(platform, 'Other');
    const theirs = await postEvents(platform, other, event);
    expect(theirs.body.results[0].status).toBe('accepted');
    expect(theirs.body.results[0].event_id).not.toBe(first.body.results[0].event_id);

    const [count] = await sql()`select count(*)::int as n from events where external_id = ${event.id}`;
    expect(count!.n).toBe(2);
  });

  test('the same batch sent twice concurrently is stored once', async () => {
    const processor = await createTestProcessor(platform);
    const pans = [testPan(105), testPan(106), testPan(107)];
    for (const pan of pans) await enrollCard(platform, pan);
    const batch = { events: Array.from({ length: 300 }, (_, i) => authorization({ pan: pans[i % 3]! })) };
    const responses = await Promise.all(
      Array.from({ length: 4 }, () => postEvents(platform, processor, batch)),
    );
    for (const res of responses) expect(res.status).toBe(200);
    for (let i = 0; i < 300; i++) {
      const outcomes = responses.map((res) => res.body.results[i]);
      expect(outcomes.filter((o) => o.status === 'accepted')).toHaveLength(1);
      expect(outcomes.filter((o) => o.status === 'duplicate')).toHaveLength(3);
      expect(new Set(outcomes.map((o) => o.event_id)).size).toBe(1);
    }
    const [count] = await sql()`
      select count(*)::int as n, count(distinct external_id)::int as distinct_ids
      from events where processor_id = ${processor.id}`;
    expect(count).toEqual({ n: 300, distinct_ids: 300 });
  });

  test('events on cards nobody enrolled are accepted and counted, and nothing about the card is kept', async () => {
    const processor = await createTestProcessor(platform);
    const pan = testPan(108);
    const event = authorization({ pan });
    const tokenEvent = authorization({ token: 'tok_never_linked' });
    const res = await postEvents(platform, processor, { events: [event, tokenEvent] });
    expect(res.status, res.text).toBe(200);
    expect(res.body.results.map((r: { status: string }) => r.status)).toEqual(['accepted', 'accepted']);
    expect(res.body.results[0].actions).toBe(0);
    const again = await postEvents(platform, processor, event);
    expect(again.body.results[0]).toMatchObject({
      status: 'duplicate',
      event_id: res.body.results[0].event_id,
    });

    const rows = await sql()`select * from events where processor_id = ${processor.id}`;
    expect(rows).toHaveLength(0);
    const keys =
      await sql()`select * from event_keys where processor_id = ${processor.id} order by external_id`;
    expect(keys.map((k) => k.stored)).toEqual([false, false]);
    const [counted] =
      await sql()`select sum(count)::int as n from unenrolled_event_counts where processor_id = ${processor.id}`;
    expect(counted!.n).toBe(2);
    const metrics = await platform.request('GET', '/metrics');
    expect(metrics.text).toMatch(/cardlink_ingest_events_total\{status="unenrolled"\} [1-9]/);
  });

  test('merchant brand and local time: registered MIDs resolve; a UTC timestamp uses the merchant time zone', async () => {
    const processor = await createTestProcessor(platform);
    const pan = testPan(109);
    await enrollCard(platform, pan);
    const merchant = await platform.admin('POST', '/v1/merchants', {
      body: { name: 'Blue Bottle', mids: ['777001'], timezone: 'America/Los_Angeles' },
    });
    expect(merchant.status).toBe(201);
    const utc = authorization({
      pan,
      occurred_at: '2026-07-01T16:30:00Z',
      merchant: { mid: '777001', name: 'BLUE BOTTLE #2' },
    });
    const offset = authorization({
      pan,
      occurred_at: '2026-07-01T16:30:00+02:00',
      merchant: { mid: '777001' },
    });
    const unknown = authorization({ pan, occurred_at: '2026-07-01T16:30:00Z', merchant: { mid: '999999' } });
    const res = await postEvents(platform, processor, { events: [utc, offset, unknown] });
    const ids = res.body.results.map((r: { event_id: string }) => r.event_id);
    const rows =
      await sql()`select id, merchant_id, local_at, utc_offset_minutes from events where id = any(${ids})`;
    const byId = new Map(rows.map((row) => [row.id, row]));
    expect(byId.get(ids[0])).toMatchObject({
      merchant_id: merchant.body.id,
      local_at: '2026-07-01 09:30:00',
      utc_offset_minutes: -420,
    });
    expect(byId.get(ids[1])).toMatchObject({ local_at: '2026-07-01 16:30:00', utc_offset_minutes: 120 });
    expect(byId.get(ids[2])).toMatchObject({
      merchant_id: null,
      local_at: '2026-07-01 16:30:00',
      utc_offset_minutes: 0,
    });
  });
});

describe('card numbers used as keys are never echoed', () => {
  test('in an event, beside the batch and in an ISO 8583 message', async () => {
    const processor = await createTestProcessor(platform);
    const pan = testPan(113);
    const inEvent = await postEvents(platform, processor, {
      events: [authorization({ card: { token: 'tok_key', [pan]: 'x' } })],
    });
    expect(inEvent.status).toBe(200);
    expect(inEvent.body.results[0].status).toBe('rejected');
    expect(inEvent.text).not.toContain(pan);
    const beside = await postEvents(platform, processor, {
      events: [authorization({ token: 't' })],
      [pan]: 1,
    });
    expect(beside.status).toBe(422);
    expect(beside.body.code).toBe('validation_failed');
    expect(beside.text).not.toContain(pan);
    const iso = await processorRequest(platform, processor, '/v1/events/iso8583', {
      messages: [{ mti: '0100', [pan]: 'x' }],
    });
    expect(iso.status).toBe(200);
    expect(iso.body.results[0].status).toBe('rejected');
    expect(iso.text).not.toContain(pan);
    const isoBeside = await processorRequest(platform, processor, '/v1/events/iso8583', {
      messages: [{ mti: '0100' }],
      [pan]: 1,
    });
    expect(isoBeside.status).toBe(422);
    expect(isoBeside.body.code).toBe('validation_failed');
    expect(isoBeside.text).not.toContain(pan);
    expect(await storedBy(processor.id)).toEqual(NOTHING);
  });
});

describe('POST /v1/card_tokens', () => {
  test('a token that is (or holds) a card number is refused and never stored or echoed', async () => {
    const processor = await createTestProcessor(platform);
    const pan = testPan(112);
    for (const token of [pan, `tok_${pan}`]) {
      const res = await processorRequest(platform, processor, '/v1/card_tokens', { token, pan });
      expect(res.status).toBe(422);
      expect(res.body.code).toBe('validation_failed');
      expect(res.body.errors.map((e: { path: string }) => e.path)).toContain('token');
      expect(res.text).not.toContain(pan);
      const event = await postEvents(platform, processor, { events: [authorization({ token })] });
      expect(event.body.results[0].status).toBe('rejected');
      expect(event.text).not.toContain(pan);
    }
    expect(await sql()`select 1 from card_tokens where processor_id = ${processor.id}`).toHaveLength(0);
  });

  test('links a token once; token events resolve to the card, also one enrolled after the link', async () => {
    const processor = await createTestProcessor(platform);
    const pan = testPan(110);
    const link = await processorRequest(platform, processor, '/v1/card_tokens', { token: 'ic_1Abc', pan });
    expect(link.status).toBe(201);
    expect(link.body).toMatchObject({ object: 'card_token', token: 'ic_1Abc' });
    expect(link.text).not.toContain(pan);
    const repeat = await processorRequest(platform, processor, '/v1/card_tokens', { token: 'ic_1Abc', pan });
    expect(repeat.status).toBe(200);
    const conflict = await processorRequest(platform, processor, '/v1/card_tokens', {
      token: 'ic_1Abc',
      pan: testPan(111),
    });
    expect(conflict.status).toBe(409);
    expect(conflict.body.code).toBe('conflict');
    const invalid = await processorRequest(platform, processor, '/v1/card_tokens', {
      token: 'ic_2',
      pan: '4111111111111112',
    });
    expect(invalid.status).toBe(422);
    expect(invalid.body.code).toBe('validation_failed');
    expect(await storedBy(processor.id)).toEqual({ ...NOTHING, card_tokens: 1 });
    expect(invalid.text).not.toContain('4111111111111112');

    // Not enrolled yet: acknowledged, nothing stored.
    const early = await postEvents(platform, processor, authorization({ token: 'ic_1Abc' }));
    expect(early.body.results[0].status).toBe('accepted');
    expect(await sql()`select 1 from events where processor_id = ${processor.id}`).toHaveLength(0);

    const { cardId } = await enrollCard(platform, pan);
    const late = await postEvents(platform, processor, authorization({ token: 'ic_1Abc' }));
    const [row] = await sql()`select card_id from events where id = ${late.body.results[0].event_id}`;
    expect(row!.card_id).toBe(cardId);

    // Tokens are per processor: another processor's identical token is unrelated.
    const other = await createTestProcessor(platform, 'Other');
    const theirs = await postEvents(platform, other, authorization({ token: 'ic_1Abc' }));
    expect(await sql()`select 1 from events where id = ${theirs.body.results[0].event_id}`).toHaveLength(0);
  });

  test('a deleted card no longer matches', async () => {
    const processor = await createTestProcessor(platform);
    const pan = testPan(112);
    const { cardId } = await enrollCard(platform, pan);
    await sql()`update cards set deleted_at = now() where id = ${cardId}`;
    const res = await postEvents(platform, processor, authorization({ pan }));
    expect(res.body.results[0].status).toBe('accepted');
    expect(await sql()`select 1 from events where id = ${res.body.results[0].event_id}`).toHaveLength(0);
  });
});

test('the OpenAPI document describes the processor routes', async () => {
  const res = await platform.request('GET', '/openapi.json');
  expect(res.status, platform.logs.filter((l) => l.includes('unhandled')).join('\n')).toBe(200);
  expect(res.body.paths['/v1/events'].post.security).toEqual([{ processorApiKey: [] }]);
  expect(res.body.paths['/v1/card_tokens'].post).toBeDefined();
  expect(res.body.components.schemas.CardEvent.properties.card).toBeDefined();
  expect(res.body.components.securitySchemes.processorApiKey).toBeDefined();
});

test('cards enrolled through POST /v1/me/cards receive events by PAN and by token, until removed', async () => {
  const processor = await createTestProcessor(platform);
  const email = `ingest-${Date.now().toString(36)}@example.test`;
  const password = 'correct horse battery staple';
  expect((await platform.request('POST', '/v1/users', { body: { email, password } })).status).toBe(201);
  const session = await platform.request('POST', '/v1/sessions', { body: { email, password } });
  expect(session.status).toBe(200);
  const pan = '5105105105105100';
  const link = await processorRequest(platform, processor, '/v1/card_tokens', { token: 'ic_enrolled', pan });
  expect(link.status).toBe(201);
  const card = await platform.request('POST', '/v1/me/cards', {
    token: session.body.token,
    body: { pan, exp_month: 12, exp_year: new Date().getUTCFullYear() + 2 },
  });
  expect(card.status, card.text).toBe(201);

  const res = await postEvents(platform, processor, {
    events: [authorization({ pan }), authorization({ token: 'ic_enrolled' })],
  });
  const ids = res.body.results.map((r: { event_id: string }) => r.event_id);
  const rows = await sql()<{ card_id: string; card_scheme: string }[]>`
    select card_id, card_scheme from events where id = any(${ids})`;
  expect(rows).toHaveLength(2);
  for (const row of rows) expect(row).toEqual({ card_id: card.body.id, card_scheme: 'mastercard' });

  const removed = await platform.request('DELETE', `/v1/me/cards/${card.body.id}`, {
    token: session.body.token,
  });
  expect(removed.status).toBe(204);
  const after = await postEvents(platform, processor, authorization({ pan }));
  expect(after.body.results[0].status).toBe('accepted');
  expect(await sql()`select 1 from events where id = ${after.body.results[0].event_id}`).toHaveLength(0);
});
