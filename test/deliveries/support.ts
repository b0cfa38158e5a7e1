// Apps with a webhook endpoint on the test sink, deliveries recorded and queued, and reading back what happened.
import { eq } from 'drizzle-orm';
import { Webhook as StandardWebhook } from 'standardwebhooks';
import { Webhook as SvixWebhook } from 'svix';
import { expect, vi } from 'vitest';
import { apps, deliveries, deliveryAttempts } from '../../src/db/schema/index.ts';
import { recordDelivery } from '../../src/grants/outbox.ts';
import type { TestPlatform } from '../helpers/platform.ts';
import type { SinkRequest, WebhookSink } from '../helpers/webhook-sink.ts';
import { registerApp, type TestApp } from '../oauth/support.ts';

let appCounter = 0;

/** An app whose webhook URL is `${sink.url}/<path>`; the path is returned with it. */
export async function appOnSink(
  platform: TestPlatform,
  sink: WebhookSink,
  label = 'app',
): Promise<TestApp & { path: string }> {
  const path = `${label}-${++appCounter}`;
  const app = await registerApp(platform, { name: label, webhookUrl: `${sink.url}/${path}` });
  return { ...app, path };
}

/** Records deliveries for an app (as the outbox does) and hands them to the queue; returns their ids. */
export async function queueDeliveries(
  platform: TestPlatform,
  appId: string,
  count = 1,
  message: { type?: string; userId?: string; data?: Record<string, unknown> } = {},
): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const row = await recordDelivery(platform.deps.db, {
      appId,
      userId: message.userId ?? null,
      type: message.type ?? 'transaction.notified',
      data: message.data ?? { n: i, note: 'café ☕' },
    });
    ids.push(row.id);
  }
  platform.deps.dispatcher.deliveriesRecorded(ids);
  return ids;
}

export async function deliveryRow(platform: TestPlatform, id: string) {
  const [row] = await platform.deps.db.select().from(deliveries).where(eq(deliveries.id, id));
  return row!;
}

export async function appRow(platform: TestPlatform, id: string) {
  const [row] = await platform.deps.db.select().from(apps).where(eq(apps.id, id));
  return row!;
}

export const attemptsOf = (platform: TestPlatform, id: string) =>
  platform.deps.db
    .select()
    .from(deliveryAttempts)
    .where(eq(deliveryAttempts.deliveryId, id))
    .orderBy(deliveryAttempts.attempt);

/** Waits until the delivery has this status and returns its row. */
export function settled(platform: TestPlatform, id: string, status: string, timeout = 10_000) {
  return vi.waitFor(
    async () => {
      const row = await deliveryRow(platform, id);
      expect(row.status).toBe(status);
      return row;
    },
    { timeout, interval: 20 },
  );
}

/**
 * Verifies a received webhook as an app would, with both the `standardwebhooks` and `svix` libraries;
 * returns the payload. Either throws if the signature does not hold.
 */
export function verifyAsApp(secret: string, request: SinkRequest): Record<string, any> {
  const headers = {
    'webhook-id': String(request.headers['webhook-id']),
    'webhook-timestamp': String(request.headers['webhook-timestamp']),
    'webhook-signature': String(request.headers['webhook-signature']),
  };
  const standard = new StandardWebhook(secret).verify(request.body, headers) as Record<string, any>;
  const svix = new SvixWebhook(secret).verify(request.body, headers) as Record<string, any>;
  expect(svix).toEqual(standard);
  return standard;
}

/** Waits for the platform's log line with this message about the app, and returns it (parsed). */
export function loggedAbout(platform: TestPlatform, msg: string, appId: string) {
  return vi.waitFor(
    () => {
      const line = platform.logs
        .map((text) => JSON.parse(text))
        .find((entry) => entry.msg === msg && entry.app_id === appId);
      if (!line) throw new Error(`no "${msg}" line for ${appId} yet`);
      return line as Record<string, unknown>;
    },
    { timeout: 10_000 },
  );
}
