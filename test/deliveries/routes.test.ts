// An app reads its deliveries and sends them again: list, get with attempts, redeliver, replay a range.
import { eq, inArray } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import { deliveries } from '../../src/db/schema/index.ts';
import { usePlatform } from '../helpers/platform.ts';
import { useWebhookSink } from '../helpers/webhook-sink.ts';
import { appToken, authorize, signUp, type TestApp } from '../oauth/support.ts';
import { appOnSink, queueDeliveries, settled, verifyAsApp } from './support.ts';

const platform = usePlatform({ workers: true, env: { DELIVERY_RETRY_SCHEDULE: '30ms' } });
const sink = useWebhookSink();

let app: TestApp & { path: string };
let token: string;
let other: TestApp & { path: string };
let otherToken: string;
let otherDelivery: string | undefined;

const asApp = (method: string, path: string, body?: unknown) =>
  platform.request(method, path, { token, ...(body === undefined ? {} : { body }) });

beforeAll(async () => {
  app = await appOnSink(platform, sink, 'reader');
  token = await appToken(platform, app);
  other = await appOnSink(platform, sink, 'other');
  otherToken = await appToken(platform, other);
  [otherDelivery] = await queueDeliveries(platform, other.id);
  await settled(platform, otherDelivery!, 'succeeded');
});

describe('delivery routes', () => {
  it('lists the app’s own deliveries, newest first, by status and in pages', async () => {
    sink.answer(app.path, (r) => (JSON.parse(r.body).data.fail ? { status: 500 } : { status: 200 }));
    const ok = await queueDeliveries(platform, app.id, 3);
    const [bad] = await queueDeliveries(platform, app.id, 1, { data: { fail: true } });
    for (const id of ok) await settled(platform, id, 'succeeded');
    await settled(platform, bad!, 'failed');

    const all = await asApp('GET', '/v1/deliveries');
    expect(all.status).toBe(200);
    expect(all.body.data.map((d: { id: string }) => d.id)).toEqual([bad, ...ok].sort().reverse());
    expect(all.body.data.map((d: { id: string }) => d.id)).not.toContain(otherDelivery);
    expect(all.body.data[0]).toMatchObject({
      object: 'delivery',
      type: 'transaction.notified',
      status: 'failed',
      attempt_count: 2,
      next_attempt_at: null,
      payload: { id: bad, type: 'transaction.notified', data: { fail: true } },
    });

    const failed = await asApp('GET', '/v1/deliveries?status=failed');
    expect(failed.body.data.map((d: { id: string }) => d.id)).toEqual([bad]);
    const page = await asApp('GET', '/v1/deliveries?limit=2');
    expect(page.body).toMatchObject({ has_more: true });
    const next = await asApp('GET', `/v1/deliveries?limit=2&starting_after=${page.body.data[1].id}`);
    expect([...page.body.data, ...next.body.data].map((d: { id: string }) => d.id)).toEqual(
      all.body.data.map((d: { id: string }) => d.id),
    );
    expect(next.body.has_more).toBe(false);
  });

  it('shows a delivery with every attempt', async () => {
    const shown = await asApp('GET', '/v1/deliveries?status=failed');
    const id = shown.body.data[0].id;
    const res = await asApp('GET', `/v1/deliveries/${id}`);
    expect(res.status).toBe(200);
    expect(res.body.attempts).toEqual([
      {
        number: 1,
        started_at: expect.any(String),
        status_code: 500,
        latency_ms: expect.any(Number),
        error: null,
        response_excerpt: null,
      },
      expect.objectContaining({ number: 2, status_code: 500 }),
    ]);
    expect(res.body.completed_at).toEqual(expect.any(String));
  });

  it("answers 404 for another app's delivery, as for an unknown id", async () => {
    for (const [method, path] of [
      ['GET', `/v1/deliveries/${otherDelivery}`],
      ['POST', `/v1/deliveries/${otherDelivery}/redeliver`],
      ['GET', '/v1/deliveries/dlv_unknown'],
    ] as const) {
      const res = await asApp(method, path);
      expect(res.status).toBe(404);
      expect(res.body.code).toBe('not_found');
    }
    const theirs = await platform.request('GET', `/v1/deliveries/${otherDelivery}`, { token: otherToken });
    expect(theirs.status).toBe(200);
  });

  it("takes the app's own token only", async () => {
    expect((await platform.request('GET', '/v1/deliveries')).status).toBe(401);
    const user = await signUp(platform);
    const delegated = await authorize(platform, user, app, 'transactions');
    const res = await platform.request('GET', '/v1/deliveries', { token: delegated.access_token });
    expect(res.status).toBe(403);
  });

  it('redelivers with the same webhook-id, recording the new attempt', async () => {
    sink.answer(app.path, () => ({ status: 200 }));
    const [id] = await queueDeliveries(platform, app.id);
    await settled(platform, id!, 'succeeded');
    const res = await asApp('POST', `/v1/deliveries/${id}/redeliver`);
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ id, status: 'pending', completed_at: null });

    const row = await settled(platform, id!, 'succeeded');
    expect(row.attempts).toBe(2);
    const received = sink.at(app.path).filter((r) => r.headers['webhook-id'] === id);
    expect(received).toHaveLength(2);
    for (const request of received) expect(verifyAsApp(app.webhook_secret, request).id).toBe(id);
    const shown = await asApp('GET', `/v1/deliveries/${id}`);
    expect(shown.body.attempts.map((a: { number: number }) => a.number)).toEqual([1, 2]);
  });

  it('brings forward a redelivery of a delivery waiting for its next retry', async () => {
    const patient = await appOnSink(platform, sink, 'patient');
    const patientToken = await appToken(platform, patient);
    sink.answer(patient.path, (r) =>
      r.nth === 1 ? { status: 503, headers: { 'retry-after': '3600' } } : undefined,
    );
    const [id] = await queueDeliveries(platform, patient.id);
    await expect.poll(() => sink.at(patient.path).length).toBe(1);
    await expect
      .poll(async () => (await platform.request('GET', `/v1/deliveries/${id}`, { token: patientToken })).body)
      .toMatchObject({ attempt_count: 1, status: 'pending' });
    const res = await platform.request('POST', `/v1/deliveries/${id}/redeliver`, { token: patientToken });
    expect(res.status).toBe(202);
    await settled(platform, id!, 'succeeded');
    expect(sink.at(patient.path)).toHaveLength(2);
  });

  it('replays the succeeded and failed deliveries created in a time range', async () => {
    const replaying = await appOnSink(platform, sink, 'replaying');
    const replayToken = await appToken(platform, replaying);
    let down = true;
    sink.answer(replaying.path, (r) => (down && JSON.parse(r.body).data.fail ? { status: 500 } : undefined));
    const [succeeded, failed, cancelled, early] = [
      ...(await queueDeliveries(platform, replaying.id, 1)),
      ...(await queueDeliveries(platform, replaying.id, 1, { data: { fail: true } })),
      ...(await queueDeliveries(platform, replaying.id, 2)),
    ];
    await settled(platform, succeeded!, 'succeeded');
    await settled(platform, failed!, 'failed');
    await settled(platform, early!, 'succeeded');
    await settled(platform, cancelled!, 'succeeded');
    const day = 86_400_000;
    const now = Date.now();
    await platform.deps.db
      .update(deliveries)
      .set({ status: 'cancelled' })
      .where(eq(deliveries.id, cancelled!));
    await platform.deps.db
      .update(deliveries)
      .set({ createdAt: new Date(now - 3 * day) })
      .where(eq(deliveries.id, early!));
    const countBefore = sink.at(replaying.path).length;
    down = false;

    const res = await platform.request('POST', '/v1/deliveries/replay', {
      token: replayToken,
      body: { from: new Date(now - day).toISOString(), to: new Date(now + 60_000).toISOString() },
    });
    expect(res.status).toBe(202);
    expect(res.body).toEqual({ replayed: 2 });
    await expect.poll(() => sink.at(replaying.path).length).toBe(countBefore + 2);
    const resent = sink
      .at(replaying.path)
      .slice(countBefore)
      .map((r) => r.headers['webhook-id']);
    expect(resent.sort()).toEqual([succeeded, failed].sort());
    const rows = await platform.deps.db
      .select({ id: deliveries.id, status: deliveries.status })
      .from(deliveries)
      .where(inArray(deliveries.id, [succeeded!, failed!, cancelled!, early!]));
    await expect
      .poll(async () => {
        const now = await platform.deps.db
          .select({ id: deliveries.id, status: deliveries.status })
          .from(deliveries)
          .where(inArray(deliveries.id, [succeeded!, failed!]));
        return now.map((row) => row.status);
      })
      .toEqual(['succeeded', 'succeeded']);
    expect(rows.find((row) => row.id === cancelled)?.status).toBe('cancelled');
  });

  it('refuses a replay range longer than 7 days or backwards', async () => {
    const from = '2026-01-01T00:00:00Z';
    for (const to of ['2026-01-08T00:00:01Z', '2025-12-31T00:00:00Z']) {
      const res = await asApp('POST', '/v1/deliveries/replay', { from, to });
      expect(res.status).toBe(422);
      expect(res.body.errors).toEqual([{ path: 'to', message: expect.any(String) }]);
    }
    const week = await asApp('POST', '/v1/deliveries/replay', { from, to: '2026-01-08T00:00:00Z' });
    expect(week.body).toEqual({ replayed: 0 });
  });

  it('refuses to send again while the endpoint is disabled', async () => {
    const gone = await appOnSink(platform, sink, 'gone');
    const goneToken = await appToken(platform, gone);
    sink.answer(gone.path, () => ({ status: 410 }));
    const [id] = await queueDeliveries(platform, gone.id);
    await settled(platform, id!, 'failed');
    const redeliver = await platform.request('POST', `/v1/deliveries/${id}/redeliver`, { token: goneToken });
    expect(redeliver.status).toBe(409);
    expect(redeliver.body.detail).toMatch(/disabled.*410/);
    const replay = await platform.request('POST', '/v1/deliveries/replay', {
      token: goneToken,
      body: { from: new Date(Date.now() - 60_000).toISOString(), to: new Date().toISOString() },
    });
    expect(replay.status).toBe(409);
  });

  it('documents the routes in the OpenAPI document', async () => {
    const doc = (await platform.request('GET', '/openapi.json')).body;
    for (const path of [
      '/v1/deliveries',
      '/v1/deliveries/{id}',
      '/v1/deliveries/{id}/redeliver',
      '/v1/deliveries/replay',
    ]) {
      expect(doc.paths[path]).toBeDefined();
    }
    expect(doc.components.schemas.DeliveryWithAttempts).toBeDefined();
  });
});
