import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { usePlatform } from '../helpers/platform.ts';
import {
  createTestProcessor,
  enrollCard,
  processorRequest,
  type TestProcessor,
  testPan,
} from '../ingest/fixtures.ts';
import { iso8583Authorization } from './fixtures/iso8583.ts';

const platform = usePlatform();

const message = iso8583Authorization;
const original = (m: Record<string, unknown>) => `${m.mti}${m['11']}${m['7']}${'0'.repeat(22)}`;

const post = (processor: TestProcessor, body: unknown) =>
  processorRequest(platform, processor, '/v1/events/iso8583', body);

async function storedEvent(externalId: string) {
  const [row] = await platform.deps.sql`
    select id, type, amount, currency, mid, merchant_name, mcc, merchant_city, merchant_country, terminal_id,
           auth_code, rrn, entry_mode, utc_offset_minutes, card_id, original_external_id, authorization_id,
           reversed_amount, refunded_amount
    from events where external_id = ${externalId}`;
  return row;
}
const eventCount = async (processorId: string) =>
  Number(
    (await platform.deps.sql`select count(*)::int as n from events where processor_id = ${processorId}`)[0]!
      .n,
  );

describe('POST /v1/events/iso8583', () => {
  it('rejects a message holding a NUL character alone; the rest of the batch is stored', async () => {
    const processor = await createTestProcessor(platform);
    const pan = testPan(8583_090);
    await enrollCard(platform, pan);
    const res = await post(processor, {
      messages: [message(pan, { '43': 'NUL\u0000BYTE' }), message(pan)],
    });
    expect(res.status).toBe(200);
    expect(res.body.results.map((r: { status: string }) => r.status)).toEqual(['rejected', 'accepted']);
    expect(await eventCount(processor.id)).toBe(1);
  });

  it('stores an authorization converted from a message, on the enrolled card', async () => {
    const processor = await createTestProcessor(platform);
    const pan = testPan(8583_001);
    const { cardId } = await enrollCard(platform, pan);
    const msg = message(pan);
    const res = await post(processor, msg);
    expect(res.status).toBe(200);
    const [result] = res.body.results;
    expect(result).toMatchObject({ id: `0100:${msg['7']}:${msg['11']}:T1:000123`, status: 'accepted' });
    expect(result.event_id).toMatch(/^evt_/);
    expect(await storedEvent(result.id)).toMatchObject({
      id: result.event_id,
      type: 'authorization',
      amount: '475',
      currency: 'USD',
      mid: '000123',
      merchant_name: 'BLUE BOTTLE COFFEE',
      mcc: '5814',
      merchant_city: 'OAKLAND',
      merchant_country: 'US',
      terminal_id: 'T1',
      auth_code: 'A1B2C3',
      rrn: '123456789012',
      entry_mode: 'contactless',
      utc_offset_minutes: -480,
      card_id: cardId,
    });
    expect(res.text).not.toContain(pan);
  });

  it('answers a resend and a repeat MTI as duplicates of the first message', async () => {
    const processor = await createTestProcessor(platform);
    const pan = testPan(8583_002);
    await enrollCard(platform, pan);
    const msg = message(pan);
    const first = await post(processor, msg);
    const again = await post(processor, msg);
    const repeat = await post(processor, { ...msg, mti: '0101' });
    expect(again.body.results[0]).toMatchObject({
      status: 'duplicate',
      event_id: first.body.results[0].event_id,
    });
    expect(repeat.body.results[0]).toMatchObject({
      status: 'duplicate',
      event_id: first.body.results[0].event_id,
    });
    expect(await eventCount(processor.id)).toBe(1);
  });

  it('links a reversal (DE90) and a refund to the authorization; a partial reversal keeps the amount straight', async () => {
    const processor = await createTestProcessor(platform);
    const pan = testPan(8583_003);
    await enrollCard(platform, pan);
    const auth = message(pan, { '4': '000000001000' });
    const authRes = await post(processor, auth);
    const authId = authRes.body.results[0].event_id;

    const reversal = message(pan, {
      mti: '0420',
      '4': '000000001000',
      '11': auth['11'],
      '90': original(auth),
      '95': `000000000600${'0'.repeat(30)}`,
    });
    const refund = message(pan, { mti: '0200', '3': '200000', '4': '000000000250', '90': original(auth) });
    const res = await post(processor, { messages: [reversal, refund] });
    expect(res.status).toBe(200);
    expect(res.body.results.map((r: { status: string }) => r.status)).toEqual(['accepted', 'accepted']);

    const storedReversal = await storedEvent(res.body.results[0].id);
    expect(storedReversal).toMatchObject({ type: 'reversal', amount: '400', authorization_id: authId });
    expect(storedReversal?.original_external_id).toBe(authRes.body.results[0].id);
    expect(await storedEvent(res.body.results[1].id)).toMatchObject({
      type: 'refund',
      amount: '250',
      authorization_id: authId,
    });
    expect(await storedEvent(authRes.body.results[0].id)).toMatchObject({
      reversed_amount: '400',
      refunded_amount: '250',
    });
  });

  it('links a reversal that arrives before its authorization once the authorization comes', async () => {
    const processor = await createTestProcessor(platform);
    const pan = testPan(8583_004);
    await enrollCard(platform, pan);
    const auth = message(pan);
    const reversal = message(pan, { mti: '0400', '90': original(auth) });
    const early = await post(processor, reversal);
    expect(early.body.results[0].status).toBe('accepted');
    const authRes = await post(processor, auth);
    expect(await storedEvent(early.body.results[0].id)).toMatchObject({
      authorization_id: authRes.body.results[0].event_id,
    });
  });

  it('rejects a bad message inside a batch alone, naming its data elements', async () => {
    const processor = await createTestProcessor(platform);
    const pan = testPan(8583_005);
    await enrollCard(platform, pan);
    const bad = message(pan, { '4': '4.75', '49': '999' });
    const res = await post(processor, { messages: [message(pan), bad, message(pan)] });
    expect(res.status).toBe(200);
    expect(res.body.results.map((r: { status: string }) => r.status)).toEqual([
      'accepted',
      'rejected',
      'accepted',
    ]);
    expect(res.body.results[1]).toMatchObject({ id: null, event_id: null, actions: 0 });
    expect(res.body.results[1].errors.map((e: { path: string }) => e.path).sort()).toEqual(['4', '49']);
    expect(await eventCount(processor.id)).toBe(2);
  });

  it('refuses a bad single message with a 422 naming the data element, storing nothing', async () => {
    const processor = await createTestProcessor(platform);
    const pan = testPan(8583_006);
    const res = await post(processor, message(pan, { '4': '475' }));
    expect(res.status).toBe(422);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
    expect(res.body).toMatchObject({ code: 'validation_failed', errors: [{ path: '4' }] });
    expect(res.text).not.toContain(pan);
    expect(await eventCount(processor.id)).toBe(0);
  });

  it.each([
    ['an empty batch', { messages: [] }],
    ['a batch that is not an array', { messages: {} }],
    ['a batch with a stray key', { messages: [{}], extra: 1 }],
    ['an array body', []],
  ])('refuses %s with a 422', async (_label, body) => {
    const processor = await createTestProcessor(platform);
    const res = await post(processor, body);
    expect(res.status).toBe(422);
    expect(res.body.code).toBe('validation_failed');
    expect(await eventCount(processor.id)).toBe(0);
  });

  it('refuses 1001 messages with a 422', async () => {
    const processor = await createTestProcessor(platform);
    const pan = testPan(8583_007);
    const res = await post(processor, {
      messages: Array.from({ length: 1001 }, () => ({ mti: '0100', '2': pan })),
    });
    expect(res.status).toBe(422);
    expect(res.body.code).toBe('validation_failed');
    expect(res.body.errors[0].path).toBe('messages');
    expect(await eventCount(processor.id)).toBe(0);
  });

  it('is authenticated like /v1/events: no signature, a wrong one or no api key is a 401, nothing stored', async () => {
    const processor = await createTestProcessor(platform);
    const pan = testPan(8583_008);
    await enrollCard(platform, pan);
    const raw = JSON.stringify(message(pan));
    const unsigned = await platform.request('POST', '/v1/events/iso8583', { raw, token: processor.apiKey });
    expect(unsigned.status).toBe(401);
    expect(unsigned.body.code).toBe('signature_invalid');
    const otherSecret = await createTestProcessor(platform, 'Other');
    const wrong = await platform.request('POST', '/v1/events/iso8583', {
      raw,
      token: processor.apiKey,
      headers: (await import('../ingest/fixtures.ts')).signedHeaders(otherSecret, raw),
    });
    expect(wrong.status).toBe(401);
    expect(wrong.body.code).toBe('signature_invalid');
    const noKey = await platform.request('POST', '/v1/events/iso8583', { raw });
    expect(noKey.status).toBe(401);
    expect(noKey.body.code).toBe('unauthorized');
    expect(await eventCount(processor.id)).toBe(0);
  });

  it('stores each message once when the same batch is sent twice at the same time', async () => {
    const processor = await createTestProcessor(platform);
    const pan = testPan(8583_009);
    await enrollCard(platform, pan);
    const batch = { messages: Array.from({ length: 50 }, () => message(pan)) };
    const [first, second] = await Promise.all([post(processor, batch), post(processor, batch)]);
    const statuses = [...first.body.results, ...second.body.results].map((r: { status: string }) => r.status);
    expect(statuses.filter((s) => s === 'accepted')).toHaveLength(50);
    expect(statuses.filter((s) => s === 'duplicate')).toHaveLength(50);
    expect(first.body.results.map((r: { event_id: string }) => r.event_id)).toEqual(
      second.body.results.map((r: { event_id: string }) => r.event_id),
    );
    expect(await eventCount(processor.id)).toBe(50);
  });

  it('refuses a 2 MB body with a 413 problem', async () => {
    const processor = await createTestProcessor(platform);
    const res = await post(processor, { messages: [{ mti: '0100', '43': 'x'.repeat(2 * 1024 * 1024) }] });
    expect(res.status).toBe(413);
    expect(res.body.code).toBe('payload_too_large');
    expect(await eventCount(processor.id)).toBe(0);
  });

  it('never lets a PAN reach a table or a log line', async () => {
    const processor = await createTestProcessor(platform);
    const pans = [testPan(8583_100), testPan(8583_101), testPan(8583_102)];
    await enrollCard(platform, pans[0]!);
    await post(processor, { messages: pans.map((pan) => message(pan)) });
    await post(processor, message(pans[1]!, { '4': 'bad' }));
    await post(processor, message(`${pans[2]!.slice(0, -1)}0`, { mti: '0800' }));
    const dump = execFileSync('pg_dump', ['-h', '127.0.0.1', '-U', 'root', platform.databaseName], {
      maxBuffer: 256 * 1024 * 1024,
    }).toString();
    expect(dump).toContain('BLUE BOTTLE COFFEE');
    const logs = platform.logs.join('\n');
    expect(logs).toContain('/v1/events/iso8583');
    for (const pan of [...pans, `${pans[2]!.slice(0, -1)}0`]) {
      expect(dump).not.toContain(pan);
      expect(logs).not.toContain(pan);
    }
  });
});
