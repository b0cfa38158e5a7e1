// With ALLOW_PRIVATE_WEBHOOKS=false, the address is checked when a delivery connects, not only when the URL
// was saved: a URL that passed then and points at a private address now is refused.
import { eq } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { apps } from '../../src/db/schema/index.ts';
import { usePlatform } from '../helpers/platform.ts';
import { useWebhookSink } from '../helpers/webhook-sink.ts';
import { registerApp } from '../oauth/support.ts';
import { attemptsOf, queueDeliveries, settled } from './support.ts';

const platform = usePlatform({
  workers: true,
  env: { ALLOW_PRIVATE_WEBHOOKS: 'false', DELIVERY_RETRY_SCHEDULE: '20ms', DELIVERY_TIMEOUT_MS: '1000' },
});
const sink = useWebhookSink();

/** An app saved with a public URL (a literal address: no DNS needed), whose URL then changes under it. */
async function appNowAt(url: string) {
  const app = await registerApp(platform, { webhookUrl: 'https://93.184.215.14/hooks' });
  await platform.deps.db.update(apps).set({ webhookUrl: url }).where(eq(apps.id, app.id));
  return app;
}

describe('private addresses at connect time', () => {
  it('refuses a name that resolves to a loopback address, sending nothing', async () => {
    const port = new URL(sink.url).port;
    const app = await appNowAt(`http://localhost:${port}/by-name`);
    const [id] = await queueDeliveries(platform, app.id);
    expect((await settled(platform, id!, 'failed')).attempts).toBe(2);
    for (const attempt of await attemptsOf(platform, id!)) {
      expect(attempt.statusCode).toBeNull();
      expect(attempt.error).toMatch(/localhost resolves to .*not a public address/);
    }
    expect(sink.at('by-name')).toHaveLength(0);
  });

  it('refuses a private address written in the URL', async () => {
    const port = new URL(sink.url).port;
    const app = await appNowAt(`http://127.0.0.1:${port}/literal`);
    const [id] = await queueDeliveries(platform, app.id);
    await settled(platform, id!, 'failed');
    const [attempt] = await attemptsOf(platform, id!);
    expect(attempt!.error).toMatch(/127\.0\.0\.1.*not a public address/);
    expect(sink.at('literal')).toHaveLength(0);
  });
});
