import Stripe from 'stripe';
import { describe, expect, it } from 'vitest';
import { usePlatform } from '../helpers/platform.ts';
import { enrollCard, processorRequest, testPan } from '../ingest/fixtures.ts';
import { authorization, CARD_ID, stripeEvent, transaction } from './fixtures/stripe-issuing.ts';

const platform = usePlatform();
const stripe = new Stripe('sk_test_unused');
const ENDPOINT_SECRET = 'whsec_stripe_endpoint_secret_0123456789';

async function stripeProcessor(secret: string | null = ENDPOINT_SECRET) {
  const res = await platform.admin('POST', '/v1/processors', {
    body: secret ? { name: 'Stripe Issuing', stripe_endpoint_secret: secret } : { name: 'No Stripe' },
  });
  expect(res.status).toBe(201);
  return {
    id: res.body.id as string,
    apiKey: res.body.api_key as string,
    signingSecret: res.body.signing_secret as string,
  };
}

/** Links the Stripe card id to a freshly enrolled PAN through POST /v1/card_tokens. */
async function linkStripeCard(processor: Awaited<ReturnType<typeof stripeProcessor>>, seed: number) {
  const pan = testPan(seed);
  const card = await enrollCard(platform, pan);
  const linked = await processorRequest(platform, processor, '/v1/card_tokens', { token: CARD_ID, pan });
  expect(linked.status).toBe(201);
  return card;
}

function deliver(
  processorId: string,
  body: unknown,
  options: { secret?: string; timestamp?: number; header?: string | null } = {},
) {
  const payload = JSON.stringify(body);
  const header =
    options.header === undefined
      ? stripe.webhooks.generateTestHeaderString({
          payload,
          secret: options.secret ?? ENDPOINT_SECRET,
          ...(options.timestamp ? { timestamp: options.timestamp } : {}),
        })
      : options.header;
  return platform.request('POST', `/v1/events/stripe/${processorId}`, {
    raw: payload,
    headers: header === null ? {} : { 'stripe-signature': header },
  });
}

const stored = (processorId: string) =>
  platform.deps.sql`
    select id, external_id, type, amount, currency, mid, mcc, merchant_name, merchant_region, merchant_postal_code,
           merchant_country, entry_mode, auth_code, card_id, authorization_id, cleared_amount, refunded_amount
    from events where processor_id = ${processorId} order by occurred_at`;

describe('POST /v1/events/stripe/{processor_id}', () => {
  it('stores an authorization, its capture and a refund, linked on the ic_ token; Stripe retries are duplicates', async () => {
    const processor = await stripeProcessor();
    const { cardId } = await linkStripeCard(processor, 4_000_001);

    const authEvent = stripeEvent('issuing_authorization.created', authorization());
    const auth = await deliver(processor.id, authEvent);
    expect(auth.status).toBe(200);
    expect(auth.body).toMatchObject({
      received: true,
      status: 'accepted',
      stripe_event_id: authEvent.id,
      id: 'iauth_1QZkA2LkdIwHu7ixkWAl3Y2B',
    });

    const retry = await deliver(processor.id, authEvent);
    expect(retry.body).toMatchObject({ status: 'duplicate', event_id: auth.body.event_id });

    const capture = await deliver(processor.id, stripeEvent('issuing_transaction.created', transaction()));
    expect(capture.body.status).toBe('accepted');
    const refund = await deliver(
      processor.id,
      stripeEvent(
        'issuing_transaction.created',
        transaction({
          id: 'ipi_refund_0001',
          type: 'refund',
          amount: 300,
          created: authEvent.created + 2 * 86_400,
        }),
      ),
    );
    expect(refund.body.status).toBe('accepted');

    const rows = await stored(processor.id);
    expect(rows).toHaveLength(3);
    expect(rows[0]).toMatchObject({
      id: auth.body.event_id,
      external_id: 'iauth_1QZkA2LkdIwHu7ixkWAl3Y2B',
      type: 'authorization',
      amount: '1250',
      currency: 'USD',
      mid: '1234567890',
      mcc: '5811',
      merchant_name: 'Rocket Rides',
      merchant_region: 'CA',
      merchant_postal_code: '94107',
      merchant_country: 'US',
      entry_mode: 'contactless',
      auth_code: 'S498162',
      card_id: cardId,
      cleared_amount: '1250',
      refunded_amount: '300',
    });
    expect(rows[1]).toMatchObject({ type: 'clearing', amount: '1250', authorization_id: auth.body.event_id });
    expect(rows[2]).toMatchObject({ type: 'refund', amount: '300', authorization_id: auth.body.event_id });
  });

  it('acknowledges what it does not handle (other types, declines) and stores nothing', async () => {
    const processor = await stripeProcessor();
    await linkStripeCard(processor, 4_000_002);
    const other = {
      ...stripeEvent('issuing_authorization.created', authorization()),
      type: 'issuing_card.updated',
    };
    const declined = stripeEvent(
      'issuing_authorization.created',
      authorization({ approved: false, amount: 0 }),
    );
    for (const body of [other, declined]) {
      const res = await deliver(processor.id, body);
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ received: true, status: 'ignored', id: null, event_id: null });
    }
    expect(await stored(processor.id)).toHaveLength(0);
  });

  it('never echoes a card number sent in the event id, the event type or the transaction type', async () => {
    const processor = await stripeProcessor();
    await linkStripeCard(processor, 4_000_005);
    const pan = testPan(4_000_004);
    const grouped = pan.match(/.{4}/g)!.join('-');
    const otherType = {
      ...stripeEvent('issuing_authorization.created', authorization(), `evt_${pan}`),
      type: `x.${grouped}`,
    };
    const otherTransaction = stripeEvent(
      'issuing_transaction.created',
      transaction({ type: `t${pan}` as Stripe.Issuing.Transaction['type'] }),
      `evt_a${grouped}`,
    );
    const handled = stripeEvent('issuing_authorization.created', authorization(), `evt_b${pan}`);
    const answers = [];
    for (const body of [otherType, otherTransaction, handled]) {
      const res = await deliver(processor.id, body);
      expect(res.status).toBe(200);
      answers.push(res);
    }
    expect(answers.map((res) => res.body.status)).toEqual(['ignored', 'ignored', 'accepted']);
    expect(answers.map((res) => res.body.stripe_event_id)).toEqual([
      'evt_[card number]',
      'evt_a[card number]',
      'evt_b[card number]',
    ]);
    expect(answers[0]!.body.reason).toBe('event type x.[card number] is not handled');
    expect(answers[1]!.body.reason).toBe('transaction type t[card number]');
    for (const res of answers) {
      expect(res.text).not.toContain(pan);
      expect(res.text).not.toContain(grouped);
    }
  });

  it('names the Stripe field of a malformed handled event (422) and stores nothing', async () => {
    const processor = await stripeProcessor();
    const bad = stripeEvent(
      'issuing_authorization.created',
      authorization({ merchant_data: { ...authorization().merchant_data, category_code: 'caterers' } }),
    );
    const res = await deliver(processor.id, bad);
    expect(res.status).toBe(422);
    expect(res.body.code).toBe('validation_failed');
    expect(res.body.errors).toContainEqual({
      path: 'data.object.merchant_data.category_code',
      message: expect.any(String),
    });
    expect(await stored(processor.id)).toHaveLength(0);
  });

  it('refuses every bad credential with the same 401, revealing nothing, storing nothing', async () => {
    const processor = await stripeProcessor();
    const withoutSecret = await stripeProcessor(null);
    const disabled = await stripeProcessor();
    await platform.admin('PATCH', `/v1/processors/${disabled.id}`, { body: { status: 'disabled' } });
    const body = stripeEvent('issuing_authorization.created', authorization());
    const now = Math.floor(Date.now() / 1000);

    const cases = [
      await deliver(processor.id, body, { header: null }),
      await deliver(processor.id, body, { secret: 'whsec_not_the_endpoint_secret' }),
      await deliver(processor.id, body, { timestamp: now - 301 - 5 }),
      await deliver(processor.id, body, { timestamp: now + 360 }),
      await deliver(processor.id, body, { header: `t=${now},v1=${'0'.repeat(64)}` }),
      await deliver('prc_01unknown00000000000000000', body),
      await deliver('not-an-id', body),
      await deliver(withoutSecret.id, body),
      await deliver(disabled.id, body),
    ];
    const details = new Set(cases.map((res) => res.body.detail));
    for (const res of cases) {
      expect(res.status).toBe(401);
      expect(res.headers.get('content-type')).toContain('application/problem+json');
      expect(res.body.code).toBe('signature_invalid');
    }
    expect(details.size).toBe(1);
    for (const p of [processor, withoutSecret, disabled]) expect(await stored(p.id)).toHaveLength(0);
  });

  it('verifies against the exact bytes: a body re-serialised after signing is refused', async () => {
    const processor = await stripeProcessor();
    const body = stripeEvent('issuing_authorization.created', authorization());
    const payload = JSON.stringify(body);
    const header = stripe.webhooks.generateTestHeaderString({ payload, secret: ENDPOINT_SECRET });
    const res = await platform.request('POST', `/v1/events/stripe/${processor.id}`, {
      raw: JSON.stringify(body, null, 2),
      headers: { 'stripe-signature': header },
    });
    expect(res.status).toBe(401);
    expect(res.body.code).toBe('signature_invalid');
    expect(await stored(processor.id)).toHaveLength(0);
  });

  it('follows a rotated endpoint secret set with PATCH /v1/processors', async () => {
    const processor = await stripeProcessor();
    await linkStripeCard(processor, 4_000_003);
    const next = 'whsec_rotated_endpoint_secret_abcdefghij';
    await platform.admin('PATCH', `/v1/processors/${processor.id}`, {
      body: { stripe_endpoint_secret: next },
    });
    const body = stripeEvent('issuing_authorization.created', authorization({ id: 'iauth_rotated_0001' }));
    const stale = await deliver(processor.id, body);
    expect(stale.status).toBe(401);
    expect(stale.body.code).toBe('signature_invalid');
    expect(await stored(processor.id)).toHaveLength(0);
    expect((await deliver(processor.id, body, { secret: next })).body.status).toBe('accepted');
  });

  it('refuses a 2 MB body with a 413 problem before anything else', async () => {
    const processor = await stripeProcessor();
    const body = {
      ...stripeEvent('issuing_authorization.created', authorization()),
      padding: 'x'.repeat(2 * 1024 * 1024),
    };
    const res = await deliver(processor.id, body);
    expect(res.status).toBe(413);
    expect(res.body.code).toBe('payload_too_large');
    expect(await stored(processor.id)).toHaveLength(0);
  });

  it('is in the OpenAPI document with its mapping table', async () => {
    const doc = await platform.request('GET', '/openapi.json');
    const post = doc.body.paths['/v1/events/stripe/{processor_id}'].post;
    expect(post.description).toContain('issuing_transaction.created');
    expect(post.security ?? []).toEqual([]);
    expect(doc.body.paths['/v1/events/iso8583'].post.description).toContain('| 0420, 0421 | reversal |');
  });
});
