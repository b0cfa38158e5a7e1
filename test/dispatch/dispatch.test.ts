// From a purchase to the app's endpoint: each effect performed once and announced by a signed webhook that an app
// verifies with the Standard Webhooks library and with Svix's.
import { Webhook as SvixWebhook } from 'svix';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type RewardsScene, rewardsScene } from '../actions/support.ts';
import { usePlatform } from '../helpers/platform.ts';
import { authorization, follower } from '../ingest/fixtures.ts';
import { Sink } from './support.ts';

const platform = usePlatform({ workers: true, env: { DISPATCH_RELAY_GRACE_MS: '200' } });
const sink = new Sink();
let scene: RewardsScene;

beforeAll(async () => {
  await sink.listen();
  scene = await rewardsScene(platform, { webhookUrl: sink.url });
  sink.verifyWith(scene.app.webhook_secret);
  await scene.createTrigger({ name: 'Cashback', action: { type: 'cashback', percent_bps: 1000 } });
  await scene.createTrigger({ name: 'Receipts', action: { type: 'receipt' } });
});
afterAll(() => sink.close());

const arrived = (type: string, eventId?: string) =>
  sink.received
    .map((r) => ({ ...r, parsed: JSON.parse(r.body) }))
    .filter((r) => r.parsed.type === type && (!eventId || r.parsed.data.event?.id === eventId));

describe('dispatch', () => {
  it('a purchase earns pending cashback and a receipt, each announced once, signed as Standard Webhooks and Svix verify', async () => {
    const holder = await scene.cardholder();
    const purchase = authorization({ pan: holder.pan, amount: 4_750 });
    const [result] = await scene.send(purchase);
    expect(result!.actions).toBe(2);
    await vi.waitFor(
      () => {
        expect(arrived('cashback.pending', result!.event_id)).toHaveLength(1);
        expect(arrived('receipt.created', result!.event_id)).toHaveLength(1);
      },
      { timeout: 15_000 },
    );
    const svix = new SvixWebhook(scene.app.webhook_secret);
    for (const copy of sink.received) {
      expect(() => svix.verify(copy.body, copy.headers)).not.toThrow();
      expect(copy.body).not.toContain(holder.pan);
    }
    const cashback = arrived('cashback.pending', result!.event_id)[0]!.parsed;
    expect(cashback).toMatchObject({
      id: arrived('cashback.pending', result!.event_id)[0]!.webhookId,
      type: 'cashback.pending',
      data: {
        user_id: holder.userId,
        amount: 475,
        currency: 'USD',
        event: { id: result!.event_id, type: 'authorization', amount: 4_750, currency: 'USD' },
        card: { last4: holder.pan.slice(-4) },
      },
    });
    // The app's own pseudonym of the card, never the cardholder's id.
    expect(cashback.data.card.id).not.toBe(holder.cardId);
    const receipt = arrived('receipt.created', result!.event_id)[0]!.parsed;
    const read = await platform.request('GET', `/v1/receipts/${receipt.data.receipt_id}`, {
      token: scene.token,
    });
    expect(read.status).toBe(200);
    expect(read.body).toMatchObject({ amount: 4_750, currency: 'USD' });
  });

  it('a clearing makes the cashback available and a reversal takes it back, each with its webhook', async () => {
    const holder = await scene.cardholder();
    const first = authorization({ pan: holder.pan, amount: 2_000 });
    const second = authorization({ pan: holder.pan, amount: 3_000 });
    const [a, b] = await scene.send(first, second);
    await vi.waitFor(
      () =>
        expect(
          arrived('cashback.pending').filter((r) =>
            [a!.event_id, b!.event_id].includes(r.parsed.data.event.id),
          ),
        ).toHaveLength(2),
      { timeout: 15_000 },
    );
    await scene.send(
      follower('clearing', { pan: holder.pan, original_id: first.id, amount: 2_000 }),
      follower('reversal', { pan: holder.pan, original_id: second.id, amount: 3_000 }),
    );
    await vi.waitFor(
      () => {
        expect(arrived('cashback.available', a!.event_id)).toHaveLength(1);
        expect(arrived('cashback.reversed', b!.event_id)).toHaveLength(1);
      },
      { timeout: 15_000 },
    );
    expect(arrived('cashback.available', a!.event_id)[0]!.parsed.data.amount).toBe(200);
    expect(arrived('cashback.reversed', b!.event_id)[0]!.parsed.data.amount).toBe(300);
    const balances = await platform.request('GET', `/v1/users/${holder.userId}/balances`, {
      token: scene.token,
    });
    expect(balances.status).toBe(200);
    expect(balances.body.data).toEqual([
      expect.objectContaining({ kind: 'cashback', currency: 'USD', pending: 0, available: 200, paid_out: 0 }),
    ]);
  });
});
