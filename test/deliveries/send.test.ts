// Sending webhooks to a real local endpoint: signatures as apps verify them, retries, what each answer means.
import { eq } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { apps } from '../../src/db/schema/index.ts';
import { grantApp } from '../../src/grants/grants.ts';
import { usePlatform } from '../helpers/platform.ts';
import { useWebhookSink } from '../helpers/webhook-sink.ts';
import { signUp } from '../oauth/support.ts';
import {
  appOnSink,
  appRow,
  attemptsOf,
  deliveryRow,
  loggedAbout,
  queueDeliveries,
  settled,
  verifyAsApp,
} from './support.ts';

const platform = usePlatform({
  workers: true,
  env: { DELIVERY_RETRY_SCHEDULE: '50ms,100ms,100ms', DELIVERY_TIMEOUT_MS: '400' },
});
const sink = useWebhookSink();

describe('webhook delivery', () => {
  it('signs every webhook so that the standardwebhooks and svix libraries both verify it', async () => {
    const app = await appOnSink(platform, sink, 'signed');
    const user = await signUp(platform);
    await grantApp(
      { db: platform.deps.db, config: platform.deps.config },
      { userId: user.id, appId: app.id, scopes: ['transactions'], mode: 'replace', source: 'api' },
    );
    const [grantDelivery] = await platform.deps.db.query.deliveries.findMany({
      where: (d, { eq }) => eq(d.appId, app.id),
    });
    platform.deps.dispatcher.deliveriesRecorded([grantDelivery!.id]);
    const ids = [grantDelivery!.id, ...(await queueDeliveries(platform, app.id, 3))];

    await expect.poll(() => sink.at(app.path).length).toBe(4);
    const received = sink.at(app.path).map((request) => {
      const payload = verifyAsApp(app.webhook_secret, request);
      expect(payload.id).toBe(request.headers['webhook-id']);
      expect(request.headers['content-type']).toBe('application/json');
      return payload;
    });
    expect(received.map((p) => p.id).sort()).toEqual([...ids].sort());
    expect(received.find((p) => p.type === 'grant.created')?.data).toMatchObject({ user_id: user.id });
    expect(received.find((p) => p.data.n === 1)?.data).toEqual({ n: 1, note: 'café ☕' });
    // A body altered on the way is refused by the app's verifier.
    const first = sink.at(app.path)[0]!;
    expect(() =>
      verifyAsApp(app.webhook_secret, { ...first, body: first.body.replace('}', ',"x":1}') }),
    ).toThrow();

    for (const id of ids) {
      const row = await settled(platform, id, 'succeeded');
      expect(row).toMatchObject({ attempts: 1, nextAttemptAt: null });
      expect(row.completedAt).toBeInstanceOf(Date);
      const [attempt] = await attemptsOf(platform, id);
      expect(attempt).toMatchObject({ attempt: 1, statusCode: 200, error: null });
    }
  });

  it('retries after 500s with the same webhook-id until the endpoint answers 2xx, recording each attempt', async () => {
    const app = await appOnSink(platform, sink, 'flaky');
    sink.answer(app.path, (r) => (r.nth <= 2 ? { status: 500, body: `down ${r.nth}` } : { status: 204 }));
    const [id] = await queueDeliveries(platform, app.id);
    await expect.poll(async () => (await appRow(platform, app.id)).webhookFailingSince).toBeInstanceOf(Date);

    const row = await settled(platform, id!, 'succeeded');
    expect(row.attempts).toBe(3);
    const requests = sink.at(app.path);
    expect(requests.map((r) => r.headers['webhook-id'])).toEqual([id, id, id]);
    for (const request of requests) verifyAsApp(app.webhook_secret, request);
    const attempts = await attemptsOf(platform, id!);
    expect(attempts.map((a) => [a.attempt, a.statusCode, a.responseExcerpt])).toEqual([
      [1, 500, 'down 1'],
      [2, 500, 'down 2'],
      [3, 204, null],
    ]);
    for (const attempt of attempts) expect(attempt.latencyMs).toBeGreaterThanOrEqual(0);
    // Answering again ends the endpoint's run of failures.
    expect((await appRow(platform, app.id)).webhookFailingSince).toBeNull();
  });

  it("records an attempt once even when the endpoint's state cannot be saved, and says so to the operator", async () => {
    const app = await appOnSink(platform, sink, 'unsaved');
    sink.answer(app.path, (r) => (r.nth === 1 ? { status: 500 } : { status: 200 }));
    // A fault in Postgres itself: this app's row refuses the update that marks its endpoint failing.
    const sql = platform.deps.sql;
    await sql.unsafe(`
      create function refuse_failing_since() returns trigger language plpgsql as $$
      begin raise exception 'refused for the test'; end $$;
      create trigger refuse_failing_since before update of webhook_failing_since on apps
      for each row when (new.id = '${app.id}') execute function refuse_failing_since();`);
    try {
      const [id] = await queueDeliveries(platform, app.id);
      const row = await settled(platform, id!, 'succeeded');
      // Each request the endpoint received is one recorded attempt: none was sent again for the lost state.
      expect(row.attempts).toBe(2);
      expect(sink.at(app.path)).toHaveLength(2);
      expect((await attemptsOf(platform, id!)).map((a) => a.statusCode)).toEqual([500, 200]);
      expect(await loggedAbout(platform, 'webhook endpoint state not saved', app.id)).toMatchObject({
        level: 50,
      });
    } finally {
      await sql.unsafe('drop trigger refuse_failing_since on apps; drop function refuse_failing_since();');
    }
  });

  it('fails a delivery once the schedule is spent, and the endpoint is remembered as failing', async () => {
    const app = await appOnSink(platform, sink, 'down');
    sink.answer(app.path, () => ({ status: 500 }));
    const [id] = await queueDeliveries(platform, app.id);
    const row = await settled(platform, id!, 'failed');
    // One attempt, then one per step of the schedule (3 steps).
    expect(row.attempts).toBe(4);
    expect(sink.at(app.path)).toHaveLength(4);
    expect((await appRow(platform, app.id)).webhookFailingSince).toBeInstanceOf(Date);
    expect((await appRow(platform, app.id)).webhookStatus).toBe('enabled');
  });

  it('disables the endpoint when it answers 410, and sends it nothing more until the operator enables it', async () => {
    const app = await appOnSink(platform, sink, 'gone');
    sink.answer(app.path, () => ({ status: 410 }));
    const [first] = await queueDeliveries(platform, app.id);
    expect((await settled(platform, first!, 'failed')).attempts).toBe(1);

    const shown = await platform.admin('GET', `/v1/apps/${app.id}`);
    expect(shown.body).toMatchObject({
      webhook_status: 'disabled',
      webhook_disabled_reason: expect.stringMatching(/410/),
    });
    expect(shown.body.webhook_disabled_at).toEqual(expect.any(String));

    const [second] = await queueDeliveries(platform, app.id);
    expect((await settled(platform, second!, 'failed')).attempts).toBe(0);
    expect(sink.at(app.path)).toHaveLength(1);

    const enabled = await platform.admin('PATCH', `/v1/apps/${app.id}`, {
      body: { webhook_status: 'enabled' },
    });
    expect(enabled.body).toMatchObject({
      webhook_status: 'enabled',
      webhook_disabled_reason: null,
      webhook_disabled_at: null,
      webhook_failing_since: null,
    });
    sink.answer(app.path, () => ({ status: 200 }));
    const [third] = await queueDeliveries(platform, app.id);
    await settled(platform, third!, 'succeeded');
  });

  it('disables an endpoint that has failed for days, with an error line for the operator', async () => {
    const app = await appOnSink(platform, sink, 'dead-for-days');
    const sixDaysAgo = new Date(Date.now() - 6 * 86_400_000);
    await platform.deps.db.update(apps).set({ webhookFailingSince: sixDaysAgo }).where(eq(apps.id, app.id));
    sink.answer(app.path, () => ({ status: 502 }));
    const [id] = await queueDeliveries(platform, app.id);
    expect((await settled(platform, id!, 'failed')).attempts).toBe(1);
    // The endpoint's state is written before the attempt settles; the operator's line follows it: waited for.
    const row = await appRow(platform, app.id);
    expect(row.webhookStatus).toBe('disabled');
    expect(row.webhookDisabledReason).toMatch(/more than 5 days/);
    expect(await loggedAbout(platform, 'webhook endpoint disabled', app.id)).toMatchObject({ level: 50 });
  });

  it('waits at least what Retry-After asks after a 429', async () => {
    const app = await appOnSink(platform, sink, 'throttled');
    sink.answer(app.path, (r) =>
      r.nth === 1 ? { status: 429, headers: { 'retry-after': '1' } } : { status: 200 },
    );
    const [id] = await queueDeliveries(platform, app.id);
    await settled(platform, id!, 'succeeded');
    const [first, second] = sink.at(app.path);
    // The schedule's first step is 50 ms; Retry-After asked for a second.
    expect(second!.receivedAt - first!.receivedAt).toBeGreaterThanOrEqual(950);
    expect((await attemptsOf(platform, id!)).map((a) => a.statusCode)).toEqual([429, 200]);
  });

  it('does not follow a redirect: a 3xx is a failed attempt', async () => {
    const app = await appOnSink(platform, sink, 'moved');
    sink.answer(app.path, () => ({ status: 307, headers: { location: `${sink.url}/elsewhere` } }));
    const [id] = await queueDeliveries(platform, app.id);
    expect((await settled(platform, id!, 'failed')).attempts).toBe(4);
    expect(sink.at('elsewhere')).toHaveLength(0);
    expect((await attemptsOf(platform, id!)).every((a) => a.statusCode === 307)).toBe(true);
  });

  it('reads a huge response body only to a bound, keeping an excerpt', async () => {
    const app = await appOnSink(platform, sink, 'chatty');
    // An endless body: read to its end, the attempt would only stop at the time limit, with an error.
    sink.answer(app.path, () => ({ status: 200, bodyBytes: Number.POSITIVE_INFINITY }));
    const [id] = await queueDeliveries(platform, app.id);
    await settled(platform, id!, 'succeeded');
    const [attempt] = await attemptsOf(platform, id!);
    expect(attempt!.responseExcerpt).toBe('x'.repeat(1024));
    expect(attempt!.error).toBeNull();
  });

  it('gives up on an endpoint that does not answer within the time limit', async () => {
    const app = await appOnSink(platform, sink, 'silent');
    sink.answer(app.path, () => ({ after: new Promise(() => {}) }));
    const [id] = await queueDeliveries(platform, app.id);
    const row = await settled(platform, id!, 'failed');
    expect(row.attempts).toBe(4);
    const attempts = await attemptsOf(platform, id!);
    for (const attempt of attempts) {
      expect(attempt).toMatchObject({ statusCode: null, error: 'No complete answer within 400 ms.' });
      expect(attempt.latencyMs).toBeGreaterThanOrEqual(400);
    }
  });

  it('skips a delivery that is no longer pending', async () => {
    const app = await appOnSink(platform, sink, 'skipped');
    const [id] = await queueDeliveries(platform, app.id, 1);
    await settled(platform, id!, 'succeeded');
    platform.deps.dispatcher.deliveriesRecorded([id!]);
    await expect
      .poll(() => platform.deps.queues.deliveries.getJobCounts('waiting', 'active', 'delayed'))
      .toEqual({
        waiting: 0,
        active: 0,
        delayed: 0,
      });
    expect(sink.at(app.path)).toHaveLength(1);
    expect((await deliveryRow(platform, id!)).attempts).toBe(1);
  });

  it('exposes delivery metrics and queue depth on /metrics', async () => {
    const app = await appOnSink(platform, sink, 'metered');
    sink.answer(app.path, (r) => ({ status: r.nth === 1 ? 500 : 200 }));
    const [id] = await queueDeliveries(platform, app.id);
    await settled(platform, id!, 'succeeded');
    const text = (await platform.request('GET', '/metrics')).text;
    expect(text).toMatch(/cardlink_delivery_attempts_total\{outcome="succeeded"\} [1-9]/);
    expect(text).toMatch(/cardlink_delivery_attempts_total\{outcome="retried"\} [1-9]/);
    expect(text).toContain(`cardlink_delivery_failures_total{app_id="${app.id}"} 1`);
    expect(text).toMatch(/cardlink_delivery_latency_seconds_count [1-9]/);
    expect(text).toMatch(/cardlink_queue_jobs\{queue="deliveries",state="waiting"\} \d+/);
    expect(text).toMatch(/cardlink_queue_jobs\{queue="actions",state="delayed"\} \d+/);
  });
});
