import Stripe from 'stripe';
import { beforeAll, describe, expect, it } from 'vitest';
import { iso8583Authorization } from '../adapters/fixtures/iso8583.ts';
import {
  CARD_ID,
  authorization as stripeAuthorization,
  stripeEvent,
  transaction as stripeTransaction,
} from '../adapters/fixtures/stripe-issuing.ts';
import { usePlatform } from '../helpers/platform.ts';
import { processorRequest } from '../ingest/fixtures.ts';
import { cashbackAt, type RewardsScene, rewardsScene } from './support.ts';

const platform = usePlatform();
let scene: RewardsScene;

const actionsOf = (purchaseId: string) =>
  platform.deps.sql<{ trigger_id: string; reward_amount: number }[]>`
    select trigger_id, reward_amount::int from actions where purchase_id = ${purchaseId}`;

beforeAll(async () => {
  scene = await rewardsScene(platform);
});

describe('the ISO 8583 adapter', () => {
  it('an authorization request message fires a matching trigger', async () => {
    const trigger = await scene.createTrigger(cashbackAt('858301'));
    const holder = await scene.cardholder();
    const res = await processorRequest(
      platform,
      scene.processor,
      '/v1/events/iso8583',
      iso8583Authorization(holder.pan, { '42': '858301' }),
    );
    expect(res.status).toBe(200);
    const [result] = res.body.results;
    expect(result).toMatchObject({ status: 'accepted', actions: 1 });
    expect(await actionsOf(result.event_id)).toEqual([{ trigger_id: trigger.id, reward_amount: 47 }]);
  });
});

describe('the Stripe Issuing adapter', () => {
  const ENDPOINT_SECRET = 'whsec_stripe_endpoint_secret_0123456789';
  const stripe = new Stripe('sk_test_unused');

  const deliver = (processorId: string, body: unknown) => {
    const payload = JSON.stringify(body);
    return platform.request('POST', `/v1/events/stripe/${processorId}`, {
      raw: payload,
      headers: {
        'stripe-signature': stripe.webhooks.generateTestHeaderString({ payload, secret: ENDPOINT_SECRET }),
      },
    });
  };

  it('an issuing_authorization.created webhook fires a matching trigger; its capture does not fire again', async () => {
    const created = await platform.admin('POST', '/v1/processors', {
      body: { name: 'Stripe Issuing', stripe_endpoint_secret: ENDPOINT_SECRET },
    });
    expect(created.status).toBe(201);
    const processor = {
      id: created.body.id as string,
      apiKey: created.body.api_key as string,
      signingSecret: created.body.signing_secret as string,
    };
    const holder = await scene.cardholder();
    const linked = await processorRequest(platform, processor, '/v1/card_tokens', {
      token: CARD_ID,
      pan: holder.pan,
    });
    expect(linked.status).toBe(201);
    // The fixture's merchant: MID 1234567890, 12.50 USD.
    const trigger = await scene.createTrigger(cashbackAt('1234567890'));

    const auth = await deliver(
      processor.id,
      stripeEvent('issuing_authorization.created', stripeAuthorization()),
    );
    expect(auth.status).toBe(200);
    expect(auth.body).toMatchObject({ status: 'accepted', actions: 1 });
    expect(await actionsOf(auth.body.event_id)).toEqual([{ trigger_id: trigger.id, reward_amount: 125 }]);

    const capture = await deliver(
      processor.id,
      stripeEvent('issuing_transaction.created', stripeTransaction()),
    );
    expect(capture.body).toMatchObject({ status: 'accepted', actions: 0 });
  });
});
