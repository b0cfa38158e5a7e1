import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import Stripe from 'stripe';
import { describe, expect, test } from 'vitest';
import { luhnValid } from '../../src/cards/pan.ts';
import { ensureEventPartitions, linkOrphanEvents } from '../../src/ingest/maintenance.ts';
import {
  CARD_ID,
  authorization as stripeAuthorization,
  stripeEvent,
  transaction as stripeTransaction,
} from '../adapters/fixtures/stripe-issuing.ts';
import { type ApiResponse, usePlatform } from '../helpers/platform.ts';
import {
  authorization,
  createTestProcessor,
  enrollCard,
  follower,
  postEvents,
  processorRequest,
  signedHeaders,
  type TestProcessor,
  testPan,
} from './fixtures.ts';

const platform = usePlatform();
const run = promisify(execFile);

test('a PAN never reaches a table or a log line, whatever the processor sends', async () => {
  const processor = await createTestProcessor(platform);
  const enrolled = testPan(424242, '5555');
  const stranger = testPan(737373, '4000');
  const linkedOnly = testPan(919191, '4111');
  const luhnBad = `${enrolled.slice(0, 15)}${(Number(enrolled[15]) + 1) % 10}`;
  await enrollCard(platform, enrolled);

  const link = await processorRequest(platform, processor, '/v1/card_tokens', {
    token: 'tok_pan_scan',
    pan: linkedOnly,
  });
  expect(link.status).toBe(201);
  const conflicting = await processorRequest(platform, processor, '/v1/card_tokens', {
    token: 'tok_pan_scan',
    pan: enrolled,
  });
  expect(conflicting.status).toBe(409);

  const auth = authorization({ pan: enrolled });
  const batch = await postEvents(platform, processor, {
    events: [
      auth,
      follower('clearing', { pan: enrolled, original_id: auth.id }),
      authorization({ pan: stranger }),
      authorization({ pan: luhnBad }),
      authorization({ pan: enrolled, currency: 'usd' }),
      authorization({ card: { pan: enrolled, token: 'both' } }),
      authorization({ pan: enrolled, id: enrolled }),
      authorization({
        pan: enrolled,
        id: `ref-${enrolled}-x`,
        merchant: { mid: '1', name: `CARD ${enrolled}` },
      }),
      authorization({ pan: luhnBad, id: `ref-${stranger}` }),
      // Another card's number in the descriptor of a good event, whole or grouped.
      authorization({ pan: enrolled, merchant: { mid: '2', name: `PAY ${stranger}` } }),
      authorization({
        token: 'tok_pan_scan',
        merchant: { mid: '3', city: linkedOnly.match(/.{1,4}/g)!.join(' ') },
      }),
      { id: enrolled, card: { pan: enrolled } },
      authorization({ token: 'tok_pan_scan' }),
    ],
  });
  expect(batch.status).toBe(200);
  const single = await postEvents(platform, processor, authorization({ pan: luhnBad }));
  expect(single.status).toBe(422);
  const garbage = await postEvents(platform, processor, `{"card":{"pan":"${enrolled}"`);
  expect(garbage.status).toBe(400);
  await linkOrphanEvents(platform.deps.sql, platform.deps.actionsHook);
  await ensureEventPartitions(platform.deps.db);

  for (const text of [batch.text, single.text, garbage.text, link.text, conflicting.text]) {
    for (const pan of [enrolled, stranger, linkedOnly, luhnBad]) expect(text).not.toContain(pan);
  }

  const { stdout } = await run(
    'pg_dump',
    ['-h', '127.0.0.1', '-U', 'root', '--data-only', platform.databaseName],
    {
      maxBuffer: 64 * 1024 * 1024,
    },
  );
  // The dump really holds the data: the events and the token link are in it.
  expect(stdout).toContain(batch.body.results[0].event_id);
  expect(stdout).toContain('tok_pan_scan');
  const logs = platform.logs.join('\n');
  expect(logs.length).toBeGreaterThan(0);
  for (const pan of [enrolled, stranger, linkedOnly, luhnBad]) {
    expect(stdout.includes(pan), `PAN found in the database dump`).toBe(false);
    expect(logs.includes(pan), `PAN found in the logs`).toBe(false);
    // Nor its BIN + last 4 for the cards nobody enrolled.
    if (pan !== enrolled)
      expect(stdout.includes(pan.slice(-4)) && stdout.includes(pan.slice(0, 6))).toBe(false);
  }
});

// ---- every field of every feed ----

/** Every card number sent below, as digits: none may be found in an answer, a table or a log line. */
const sent: string[] = [];
/** Every answer received below. */
const answers: ApiResponse[] = [];
let seed = 7000;

/** A fresh Luhn-valid card number of `length` digits (any card's: none of them is enrolled). */
function cardNumber(length = 16): string {
  const body = `5${String(seed++).padStart(length - 2, '0')}`;
  for (let check = 0; check < 10; check++) {
    if (luhnValid(body + check)) {
      sent.push(body + check);
      return body + check;
    }
  }
  throw new Error('unreachable');
}
const spaced = (digits: string) => digits.match(/.{1,4}/g)!.join(' ');
const fullWidth = (digits: string) =>
  digits.replace(/[0-9]/g, (d) => String.fromCodePoint(0xff10 + Number(d)));
const kept = <T extends ApiResponse>(response: T) => {
  answers.push(response);
  return response;
};
const storedEvent = async (processorId: string, externalId: string) => {
  const [row] = await platform.deps.sql`
    select external_id, mid, rrn, merchant_id, authorization_id from events
    where processor_id = ${processorId} and external_id = ${externalId}`;
  return row;
};
const eventsOf = async (processorId: string) =>
  (await platform.deps.sql`select count(*)::int as n from events where processor_id = ${processorId}`)[0]!.n;

describe('card numbers in any field of any feed: refused, or kept only as a keyed hash', () => {
  const enrolled = testPan(515151, '4242');
  let processor: TestProcessor;

  test('POST /v1/events: refused in descriptive fields and codes, hashed in references (also on token cards)', async () => {
    processor = await createTestProcessor(platform, 'Every Field');
    await enrollCard(platform, enrolled);
    expect(
      kept(
        await processorRequest(platform, processor, '/v1/card_tokens', { token: 'tok_every', pan: enrolled }),
      ).status,
    ).toBe(201);
    const token = { token: 'tok_every' };
    const merchant = authorization().merchant;
    const refused: [path: string, event: Record<string, unknown>][] = [
      [
        'merchant.name',
        authorization({ ...token, merchant: { ...merchant, name: `PAY ${fullWidth(cardNumber())}` } }),
      ],
      ['merchant.city', authorization({ ...token, merchant: { ...merchant, city: spaced(cardNumber()) } })],
      ['merchant.region', authorization({ ...token, merchant: { ...merchant, region: cardNumber(19) } })],
      [
        'merchant.postal_code',
        authorization({
          ...token,
          merchant: {
            ...merchant,
            postal_code: cardNumber()
              .match(/.{1,4}/g)!
              .join('.'),
          },
        }),
      ],
      [
        'merchant.terminal_id',
        authorization({ ...token, merchant: { ...merchant, terminal_id: `T-${cardNumber()}` } }),
      ],
      ['auth_code', authorization({ ...token, auth_code: cardNumber(12) })],
      // Groups split by two spaces, by slashes.
      [
        'merchant.name',
        authorization({
          ...token,
          merchant: { ...merchant, name: spaced(cardNumber()).replaceAll(' ', '  ') },
        }),
      ],
      [
        'merchant.city',
        authorization({
          ...token,
          merchant: { ...merchant, city: spaced(cardNumber()).replaceAll(' ', '/') },
        }),
      ],
    ];
    const authId = `auth-${cardNumber()}`;
    // A merchant registered with a MID that reads as a card number still matches the events carrying it.
    const mid = cardNumber(15);
    const brand = kept(
      await platform.admin('POST', '/v1/merchants', { body: { name: 'Numeric MID', mids: [mid] } }),
    );
    expect(brand.status).toBe(201);
    expect(brand.body.mids).toEqual([expect.stringMatching(/^hmac_/)]);
    const hashed = [
      authorization({
        ...token,
        id: authId,
        merchant: { ...merchant, mid },
        rrn: cardNumber(12),
      }),
      follower('clearing', { ...token, original_id: authId }),
      // Another card's number in the id of an event carrying a PAN.
      authorization({ pan: enrolled, id: `ref-${spaced(cardNumber())}`.replaceAll(' ', '-') }),
    ];
    const raw = JSON.stringify({ events: [...refused.map(([, event]) => event), ...hashed] });
    const res = kept(
      await platform.http('POST', '/v1/events', {
        raw,
        token: processor.apiKey,
        headers: { ...signedHeaders(processor, raw), 'idempotency-key': cardNumber() },
      }),
    );
    expect(res.status).toBe(200);
    const results = res.body.results as { id: string | null; status: string; errors?: unknown[] }[];
    refused.forEach(([path], i) => {
      expect(results[i], path).toMatchObject({
        status: 'rejected',
        errors: [{ path, message: 'must not contain a card number' }],
      });
    });
    const [auth, clearing, byPan] = results.slice(refused.length);
    for (const result of [auth, clearing, byPan]) expect(result!.status).toBe('accepted');
    expect(auth!.id).toMatch(/^hmac_/);
    expect(byPan!.id).toMatch(/^hmac_/);
    // Stored as hashes that still work as keys: the clearing found its authorization through original_id.
    const storedAuth = await storedEvent(processor.id, auth!.id!);
    expect(storedAuth).toMatchObject({
      mid: expect.stringMatching(/^hmac_/),
      rrn: expect.stringMatching(/^hmac_/),
      merchant_id: brand.body.id,
    });
    expect((await storedEvent(processor.id, clearing!.id!))!.authorization_id).not.toBeNull();
    expect(await eventsOf(processor.id)).toBe(3);
    // Resending the same id is still a duplicate.
    const again = kept(await postEvents(platform, processor, hashed[0]));
    expect(again.body.results[0]).toMatchObject({ status: 'duplicate', id: auth!.id });
  });

  test("the event's own PAN falls under the same rule: hashed in references, refused elsewhere and when spread", async () => {
    sent.push(enrolled);
    const merchant = authorization().merchant;
    const spread = enrolled.split('').join('x');
    const res = kept(
      await postEvents(platform, processor, {
        events: [
          authorization({
            pan: enrolled,
            id: `own-${enrolled}`,
            rrn: `R${enrolled}`,
            merchant: { ...merchant, mid: `M${enrolled}` },
          }),
          authorization({ pan: enrolled, merchant: { ...merchant, name: `PAY ${spread}` } }),
          // Spread by other characters it is no card number by itself: hashing it would hash this MID in this
          // event only (not in others, nor in merchants' MIDs), so it is refused.
          authorization({ pan: enrolled, merchant: { ...merchant, mid: `M${spread}` } }),
          // The same in the id: refused, and the answer does not echo it.
          authorization({ pan: enrolled, id: `id-${spread}` }),
          authorization({ pan: enrolled, auth_code: enrolled.slice(0, 12) }),
          // A schema error and a card number: both in one answer.
          authorization({
            pan: enrolled,
            currency: 'usd',
            merchant: { ...merchant, city: spaced(cardNumber()) },
          }),
        ],
      }),
    );
    expect(res.status).toBe(200);
    const [hashed, refused, spreadMid, spreadId, partial, both] = res.body.results;
    expect(spreadId).toMatchObject({
      id: null,
      status: 'rejected',
      errors: [{ path: 'id', message: 'must not contain a card number' }],
    });
    expect(spreadMid).toMatchObject({
      status: 'rejected',
      errors: [{ path: 'merchant.mid', message: 'must not contain a card number' }],
    });
    expect(both.status).toBe('rejected');
    expect(both.errors.map((e: { path: string }) => e.path).sort()).toEqual(['currency', 'merchant.city']);
    expect(hashed).toMatchObject({ status: 'accepted', id: expect.stringMatching(/^hmac_/) });
    expect(await storedEvent(processor.id, hashed.id)).toMatchObject({
      mid: expect.stringMatching(/^hmac_/),
      rrn: expect.stringMatching(/^hmac_/),
    });
    expect(refused).toMatchObject({
      status: 'rejected',
      errors: [{ path: 'merchant.name', message: 'must not contain a card number' }],
    });
    // Part of a card number is none.
    expect(partial.status).toBe('accepted');
  });

  test('ISO 8583: a card number in DE42 or DE37 is hashed (the event id too), in DE43 refused, also when cut or encoded', async () => {
    const mid = cardNumber(15);
    const rrn = cardNumber(12);
    const spacedMid = cardNumber(13);
    const now = new Date();
    const de7 = `${String(now.getUTCMonth() + 1).padStart(2, '0')}${String(now.getUTCDate()).padStart(2, '0')}${[
      now.getUTCHours(),
      now.getUTCMinutes(),
      now.getUTCSeconds(),
    ]
      .map((n) => String(n).padStart(2, '0'))
      .join('')}`;
    const message = (over: Record<string, string>) => ({
      mti: '0100',
      '2': enrolled,
      '3': '000000',
      '4': '000000000475',
      '7': de7,
      '11': String(seed++ % 1_000_000).padStart(6, '0'),
      '22': '071',
      '37': '123456789012',
      '38': 'A1B2C3',
      '41': 'T1',
      '42': '000123',
      '43': `${'BLUE BOTTLE COFFEE'.padEnd(25)}${'OAKLAND'.padEnd(13)}US`,
      '49': '840',
      ...over,
    });
    const res = kept(
      await processorRequest(platform, processor, '/v1/events/iso8583', {
        messages: [
          message({ '42': mid, '37': rrn }),
          message({ '43': `${`X ${cardNumber()}`.padEnd(25)}${'OAKLAND'.padEnd(13)}US` }),
          // Cut by the split into name (positions 1-25) and city (26-38): in neither field whole.
          message({ '43': `SHOPNAMEXYZWV${cardNumber()} OAKLAND US` }),
          // 13 digits and a space: whole in DE42, but URI-encoded into the event id ('%20').
          message({ '42': `${spacedMid.slice(0, 6)} ${spacedMid.slice(6)}` }),
          // A conversion error and a card number: both in one answer.
          message({ '49': '84', '43': `${`X ${cardNumber()}`.padEnd(25)}${'OAKLAND'.padEnd(13)}US` }),
        ],
      }),
    );
    expect(res.status).toBe(200);
    const [hashed, refused, cut, encoded, both] = res.body.results;
    expect(both).toMatchObject({
      status: 'rejected',
      errors: [{ path: '49' }, { path: '43', message: 'must not contain a card number' }],
    });
    expect(cut).toMatchObject({
      status: 'rejected',
      errors: [{ path: '43', message: 'must not contain a card number' }],
    });
    expect(encoded).toMatchObject({ status: 'accepted', id: expect.stringMatching(/^hmac_/) });
    expect(await storedEvent(processor.id, encoded.id)).toMatchObject({
      mid: expect.stringMatching(/^hmac_/),
    });
    expect(hashed).toMatchObject({ status: 'accepted', id: expect.stringMatching(/^hmac_/) });
    expect(await storedEvent(processor.id, hashed.id)).toMatchObject({
      mid: expect.stringMatching(/^hmac_/),
      rrn: expect.stringMatching(/^hmac_/),
    });
    expect(refused).toMatchObject({ status: 'rejected', errors: [{ path: '43' }] });
    expect(await eventsOf(processor.id)).toBe(7);
  });

  test('Stripe Issuing: the iauth_ id and network_id are hashed; name, city, state, postal_code, terminal_id refused', async () => {
    const secret = 'whsec_every_field_0123456789abcdef';
    const created = kept(
      await platform.admin('POST', '/v1/processors', {
        body: { name: 'Stripe', stripe_endpoint_secret: secret },
      }),
    );
    const stripeProcessor = {
      id: created.body.id as string,
      apiKey: created.body.api_key as string,
      signingSecret: created.body.signing_secret as string,
    };
    expect(
      kept(
        await processorRequest(platform, stripeProcessor, '/v1/card_tokens', {
          token: CARD_ID,
          pan: enrolled,
        }),
      ).status,
    ).toBe(201);
    const stripe = new Stripe('sk_test_unused');
    const deliver = (body: unknown) => {
      const payload = JSON.stringify(body);
      return platform.http('POST', `/v1/events/stripe/${stripeProcessor.id}`, {
        raw: payload,
        headers: { 'stripe-signature': stripe.webhooks.generateTestHeaderString({ payload, secret }) },
      });
    };
    const merchantData = stripeAuthorization().merchant_data;
    const authId = `iauth_${cardNumber()}`;
    const auth = kept(
      await deliver(
        stripeEvent(
          'issuing_authorization.created',
          stripeAuthorization({ id: authId, merchant_data: { ...merchantData, network_id: cardNumber() } }),
        ),
      ),
    );
    expect(auth.status).toBe(200);
    const capture = kept(
      await deliver(stripeEvent('issuing_transaction.created', stripeTransaction({ authorization: authId }))),
    );
    expect(capture.status).toBe(200);
    const [authRow] = await platform.deps.sql`
      select external_id, mid from events where processor_id = ${stripeProcessor.id} and type = 'authorization'`;
    expect(authRow).toMatchObject({
      external_id: expect.stringMatching(/^hmac_/),
      mid: expect.stringMatching(/^hmac_/),
    });
    const [captureRow] = await platform.deps.sql`
      select authorization_id from events where processor_id = ${stripeProcessor.id} and type = 'clearing'`;
    expect(captureRow!.authorization_id).not.toBeNull();

    for (const field of ['name', 'city', 'state', 'postal_code', 'terminal_id'] as const) {
      const res = kept(
        await deliver(
          stripeEvent(
            'issuing_authorization.created',
            stripeAuthorization({
              id: `iauth_refused_${field}`,
              merchant_data: { ...merchantData, [field]: cardNumber() },
            }),
          ),
        ),
      );
      expect(res.status, field).toBe(422);
      expect(res.body.code).toBe('validation_failed');
      expect(res.body.errors.map((e: { path: string }) => e.path)).toContain(
        `data.object.merchant_data.${field}`,
      );
    }
    // A schema error and a card number: both in one answer.
    const both = kept(
      await deliver(
        stripeEvent(
          'issuing_authorization.created',
          stripeAuthorization({
            id: 'iauth_refused_both',
            merchant_data: { ...merchantData, category_code: 'caterers', city: spaced(cardNumber()) },
          }),
        ),
      ),
    );
    expect(both.status).toBe(422);
    expect(both.body.errors.map((e: { path: string }) => e.path).sort()).toEqual([
      'data.object.merchant_data.category_code',
      'data.object.merchant_data.city',
    ]);
    expect(await eventsOf(stripeProcessor.id)).toBe(2);
  });

  test('card numbers sent as an Idempotency-Key and in unknown paths (their own tests are in test/http)', async () => {
    for (const key of [cardNumber(), spaced(cardNumber())]) {
      const headers = { 'idempotency-key': key };
      expect(
        kept(await platform.admin('POST', '/v1/processors', { body: { name: 'Keyed' }, headers })).status,
      ).toBe(201);
    }
    expect(kept(await platform.http('GET', `/${cardNumber()}`)).status).toBe(404);
  });

  test('after all of it, no answer, table (pg_dump) or log line holds any of those card numbers', async () => {
    expect(sent.length).toBeGreaterThan(20);
    const { stdout } = await run('pg_dump', ['-h', '127.0.0.1', '-U', 'root', platform.databaseName], {
      maxBuffer: 64 * 1024 * 1024,
    });
    // The dump really holds what was sent: the events and the token links are in it.
    expect(stdout).toContain('tok_every');
    expect(stdout).toContain('hmac_');
    const texts = {
      answers: answers.map((a) => a.text).join('\n'),
      'the database dump': stdout,
      'the logs': platform.logs.join('\n'),
    };
    for (const [where, text] of Object.entries(texts)) {
      // Digits as sent, and with grouping and full-width digits folded away.
      const folded = text.normalize('NFKC').replace(/[ ,./_-]/g, '');
      for (const number of sent) {
        expect(text.includes(number), `a card number found in ${where}`).toBe(false);
        expect(folded.includes(number), `a card number (grouped or full-width) found in ${where}`).toBe(
          false,
        );
      }
    }
  });
});
