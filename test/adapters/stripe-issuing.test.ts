import fc from 'fast-check';
import Stripe from 'stripe';
import { describe, expect, it } from 'vitest';
import { convertStripeEvent } from '../../src/adapters/stripe-issuing.ts';
import { verifyStripeSignature } from '../../src/adapters/stripe-signature.ts';
import { CardEventInput } from '../../src/ingest/schema.ts';
import { authorization, CARD_ID, stripeEvent, transaction } from './fixtures/stripe-issuing.ts';

const converted = (body: unknown) => {
  const result = convertStripeEvent(body);
  if (result.kind !== 'event') throw new Error(`expected an event, got ${JSON.stringify(result)}`);
  expect(CardEventInput.safeParse(result.event).error?.issues ?? []).toEqual([]);
  return result.event;
};

describe('Stripe Issuing → event', () => {
  it('turns issuing_authorization.created into an authorization on the ic_ token', () => {
    expect(converted(stripeEvent('issuing_authorization.created', authorization()))).toEqual({
      id: 'iauth_1QZkA2LkdIwHu7ixkWAl3Y2B',
      type: 'authorization',
      occurred_at: '2026-11-13T16:15:02Z',
      card: { token: CARD_ID },
      amount: 1250,
      currency: 'USD',
      merchant: {
        mid: '1234567890',
        name: 'Rocket Rides',
        mcc: '5811',
        city: 'San Francisco',
        region: 'CA',
        postal_code: '94107',
        country: 'US',
        terminal_id: 'TERM0001',
      },
      auth_code: 'S498162',
      entry_mode: 'contactless',
      original_id: null,
    });
  });

  it('takes pending_request.amount when amount is still 0', () => {
    const auth = authorization({
      amount: 0,
      pending_request: {
        amount: 900,
        amount_details: null,
        currency: 'usd',
        is_amount_controllable: false,
        merchant_amount: 900,
        merchant_currency: 'usd',
        network_risk_score: null,
      },
    });
    expect(converted(stripeEvent('issuing_authorization.created', auth)).amount).toBe(900);
  });

  it.each([
    ['chip', 'chip'],
    ['contactless', 'contactless'],
    ['swipe', 'magstripe'],
    ['keyed_in', 'manual'],
    ['online', 'ecommerce'],
  ])('maps authorization_method %s to %s', (method, mode) => {
    const auth = authorization({
      authorization_method: method as Stripe.Issuing.Authorization.AuthorizationMethod,
    });
    expect(converted(stripeEvent('issuing_authorization.created', auth)).entry_mode).toBe(mode);
  });

  it('ignores a declined authorization (nothing was bought)', () => {
    const auth = authorization({ approved: false, amount: 0, status: 'closed' });
    expect(convertStripeEvent(stripeEvent('issuing_authorization.created', auth))).toMatchObject({
      kind: 'ignored',
    });
  });

  it('turns a capture into a clearing of its authorization, with a positive amount', () => {
    expect(converted(stripeEvent('issuing_transaction.created', transaction()))).toMatchObject({
      id: 'ipi_1QZkC0LkdIwHu7ixw8Hc9Ve2',
      type: 'clearing',
      occurred_at: '2026-11-14T16:15:02Z',
      card: { token: CARD_ID },
      amount: 1250,
      currency: 'USD',
      original_id: 'iauth_1QZkA2LkdIwHu7ixkWAl3Y2B',
      auth_code: 'S498162',
      merchant: { mid: '1234567890', mcc: '5811' },
    });
  });

  it('turns a refund transaction into a refund; one without authorization has original_id null', () => {
    const refund = transaction({ id: 'ipi_refund1', type: 'refund', amount: 500, authorization: null });
    expect(converted(stripeEvent('issuing_transaction.created', refund))).toMatchObject({
      id: 'ipi_refund1',
      type: 'refund',
      amount: 500,
      original_id: null,
    });
  });

  it('accepts expanded card and authorization objects', () => {
    const txn = transaction({ card: authorization().card, authorization: authorization() });
    expect(converted(stripeEvent('issuing_transaction.created', txn))).toMatchObject({
      card: { token: CARD_ID },
      original_id: 'iauth_1QZkA2LkdIwHu7ixkWAl3Y2B',
    });
  });

  it('ignores event types it does not handle', () => {
    const body = {
      ...stripeEvent('issuing_authorization.created', authorization()),
      type: 'issuing_card.created',
    };
    expect(convertStripeEvent(body)).toMatchObject({ kind: 'ignored', stripeEventId: body.id });
  });

  it.each<[string, unknown, string]>([
    ['no data', { id: 'evt_1', object: 'event', type: 'issuing_authorization.created' }, 'data'],
    [
      'a bad card id',
      stripeEvent(
        'issuing_authorization.created',
        authorization({ card: { id: 'card_x' } as Stripe.Issuing.Card }),
      ),
      'data.object.card.id',
    ],
    [
      'a bad MCC',
      stripeEvent(
        'issuing_authorization.created',
        authorization({ merchant_data: { ...authorization().merchant_data, category_code: 'caterers' } }),
      ),
      'data.object.merchant_data.category_code',
    ],
    [
      'an unknown currency',
      stripeEvent('issuing_authorization.created', authorization({ currency: 'zzz' })),
      'data.object.currency',
    ],
    [
      'a zero transaction',
      stripeEvent('issuing_transaction.created', transaction({ amount: 0 })),
      'data.object.amount',
    ],
    [
      'a missing network id',
      stripeEvent(
        'issuing_transaction.created',
        transaction({ merchant_data: { ...transaction().merchant_data, network_id: '' } }),
      ),
      'data.object.merchant_data.network_id',
    ],
    [
      'a created time beyond any date',
      stripeEvent('issuing_authorization.created', authorization({ created: 1e13 })),
      'data.object.created',
    ],
    [
      'a transaction created beyond any date',
      stripeEvent('issuing_transaction.created', transaction({ created: Number.MAX_SAFE_INTEGER })),
      'data.object.created',
    ],
  ])('reports %s with its path', (_label, body, path) => {
    const result = convertStripeEvent(body);
    expect(result.kind).toBe('invalid');
    if (result.kind === 'invalid') expect(result.errors.map((e) => e.path)).toContain(path);
  });

  it('never throws on arbitrary input (property)', () => {
    fc.assert(
      fc.property(fc.anything(), fc.anything(), (object, anything) => {
        expect(() => convertStripeEvent(anything)).not.toThrow();
        expect(() =>
          convertStripeEvent({
            id: 'evt_1',
            object: 'event',
            type: 'issuing_transaction.created',
            data: { object },
          }),
        ).not.toThrow();
      }),
    );
  });
});

describe('Stripe-Signature', () => {
  const secret = 'whsec_test_secret_abcdefghijklmnop';
  const stripe = new Stripe('sk_test_unused');
  const payload = JSON.stringify(stripeEvent('issuing_authorization.created', authorization()));
  const now = 1_795_450_600;
  const header = (over: { secret?: string; timestamp?: number; payload?: string } = {}) =>
    stripe.webhooks.generateTestHeaderString({
      payload: over.payload ?? payload,
      secret: over.secret ?? secret,
      timestamp: over.timestamp ?? now,
    });

  it('accepts a header made by the official stripe package', () => {
    expect(verifyStripeSignature(header(), payload, secret, now)).toEqual({ ok: true });
  });

  it('accepts when any of several v1 signatures matches (secret roll)', () => {
    const other = header({ secret: 'whsec_other' }).split(',')[1];
    const mine = header().split(',')[1];
    expect(verifyStripeSignature(`t=${now},${other},${mine},v0=abc`, payload, secret, now)).toEqual({
      ok: true,
    });
  });

  it.each([
    ['no header', undefined],
    ['another secret', 'other'],
    ['another body', 'body'],
    ['no v1', 'no-v1'],
    ['no timestamp', 'no-t'],
    ['a timestamp 6 minutes old', 'old'],
    ['a timestamp 6 minutes ahead', 'ahead'],
    ['a v1 of the wrong length', 'short'],
  ])('refuses %s', (_label, kind) => {
    const headers: Record<string, string | undefined> = {
      other: header({ secret: 'whsec_other' }),
      body: header({ payload: `${payload} ` }),
      'no-v1': `t=${now}`,
      'no-t': header().split(',')[1] ?? '',
      old: header({ timestamp: now - 360 }),
      ahead: header({ timestamp: now + 360 }),
      short: `t=${now},v1=abcd`,
    };
    const value = kind === undefined ? undefined : headers[kind];
    expect(verifyStripeSignature(value, payload, secret, now).ok).toBe(false);
  });

  it('accepts the edge of the tolerance', () => {
    expect(verifyStripeSignature(header({ timestamp: now - 300 }), payload, secret, now).ok).toBe(true);
  });
});
