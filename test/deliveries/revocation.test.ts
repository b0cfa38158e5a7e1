// What may no longer be sent is not: a revoked grant or a disabled app stops every pending delivery at once.
import { describe, expect, it } from 'vitest';
import { grantApp, revokeGrant } from '../../src/grants/grants.ts';
import { recordDelivery } from '../../src/grants/outbox.ts';
import { usePlatform } from '../helpers/platform.ts';
import { useWebhookSink } from '../helpers/webhook-sink.ts';
import { signUp } from '../oauth/support.ts';
import { appOnSink, queueDeliveries, settled, verifyAsApp } from './support.ts';

const platform = usePlatform({ workers: true, env: { DELIVERY_RETRY_SCHEDULE: '50ms' } });
const sink = useWebhookSink();

const grantDeps = () => ({ db: platform.deps.db, config: platform.deps.config });

const deliveriesOf = (appId: string) =>
  platform.deps.db.query.deliveries.findMany({ where: (d, { eq }) => eq(d.appId, appId) });

describe('deliveries after a revocation', () => {
  it("cancels a revoked user's pending deliveries, but delivers grant.revoked and other users' deliveries", async () => {
    const app = await appOnSink(platform, sink, 'revoked');
    const [leaving, staying] = [await signUp(platform, 'leaving'), await signUp(platform, 'staying')];
    for (const user of [leaving, staying]) {
      await grantApp(grantDeps(), {
        userId: user.id,
        appId: app.id,
        scopes: ['transactions', 'cashback'],
        mode: 'replace',
        source: 'api',
      });
    }
    // Recorded before the revocation, not yet sent when it commits.
    const held = { type: 'cashback.pending', data: { amount: 120 } };
    const record = async (userId: string) =>
      (await recordDelivery(platform.deps.db, { appId: app.id, userId, ...held })).id;
    const leavingIds = [await record(leaving.id), await record(leaving.id), await record(leaving.id)];
    const stayingId = await record(staying.id);

    await revokeGrant(grantDeps(), { userId: leaving.id, appId: app.id, source: 'api' });
    const rows = await deliveriesOf(app.id);
    platform.deps.dispatcher.deliveriesRecorded(rows.map((row) => row.id));

    const revoked = rows.find((row) => row.type === 'grant.revoked')!;
    const grantedLeaving = rows.find((row) => row.type === 'grant.created' && row.userId === leaving.id)!;
    await settled(platform, revoked.id, 'succeeded');
    await settled(platform, stayingId, 'succeeded');
    for (const id of [...leavingIds, grantedLeaving.id]) {
      const row = await settled(platform, id, 'cancelled');
      expect(row.attempts).toBe(0);
      expect(row.completedAt).toBeInstanceOf(Date);
    }

    const received = sink.at(app.path).map((request) => verifyAsApp(app.webhook_secret, request));
    const ids = received.map((payload) => payload.id);
    expect(ids).toContain(revoked.id);
    expect(ids).toContain(stayingId);
    for (const id of [...leavingIds, grantedLeaving.id]) expect(ids).not.toContain(id);
    expect(received.find((payload) => payload.id === revoked.id)).toMatchObject({
      type: 'grant.revoked',
      data: { user_id: leaving.id },
    });
  });

  it("cancels a disabled app's pending deliveries", async () => {
    const app = await appOnSink(platform, sink, 'disabled-app');
    const disabled = await platform.admin('PATCH', `/v1/apps/${app.id}`, { body: { status: 'disabled' } });
    expect(disabled.status).toBe(200);
    const [id] = await queueDeliveries(platform, app.id);
    expect((await settled(platform, id!, 'cancelled')).attempts).toBe(0);
    expect(sink.at(app.path)).toHaveLength(0);
  });
});
