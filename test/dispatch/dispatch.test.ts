// From a purchase to the app's endpoint: each effect performed once and announced by a signed webhook that an app
// verifies with the Standard Webhooks library and with Svix's.
import { Webhook as SvixWebhook } from 'svix';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { settle } from '../../src/dispatch/settle.ts';
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

  it('a return period ends by the date: the due reward becomes available and the app is told', async () => {
    const trigger = await scene.createTrigger({
      name: 'Cashback after 14 days',
      match: { mids: ['RETURN1'] },
      action: { type: 'cashback', percent_bps: 1000, available_after_days: 14 },
    });
    const holder = await scene.cardholder();
    const merchant = { mid: 'RETURN1', name: 'SHOES', mcc: '5661', country: 'US' };
    const purchase = authorization({ pan: holder.pan, amount: 1_000, merchant });
    const [result] = await scene.send(purchase);
    await scene.send(
      follower('clearing', { pan: holder.pan, original_id: purchase.id, amount: 1_000, merchant }),
    );
    const reward = await vi.waitFor(
      async () => {
        const [row] = await platform.deps.sql<
          { action_id: string; state: string; next_check_at: string | null }[]
        >`
          select r.action_id, r.state, r.next_check_at from rewards r join actions a on a.id = r.action_id
          where a.trigger_id = ${trigger.id} and r.cleared_at is not null`;
        expect(row).toBeDefined();
        return row!;
      },
      { timeout: 15_000 },
    );
    expect(reward.state).toBe('pending');
    expect(reward.next_check_at).not.toBeNull();
    // What the relay enqueues once next_check_at has passed, run as the worker runs it, a day after that.
    const later = new Date(Date.parse(reward.next_check_at!) + 24 * 60 * 60 * 1000);
    const deliveryIds = await settle(platform.deps, { actionIds: [reward.action_id] }, later);
    expect(deliveryIds).toHaveLength(1);
    const [after] = await platform.deps.sql<
      { state: string; available: number; next_check_at: string | null }[]
    >`
      select state, available::int, next_check_at from rewards where action_id = ${reward.action_id}`;
    expect(after).toEqual({ state: 'available', available: 100, next_check_at: null });
    platform.deps.dispatcher.deliveriesRecorded(deliveryIds);
    await vi.waitFor(() => expect(arrived('cashback.available', result!.event_id)).toHaveLength(1), {
      timeout: 15_000,
    });
  });
});
