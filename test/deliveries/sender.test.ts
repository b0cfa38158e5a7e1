// The sender alone, against the test sink: connections kept alive, and the address check at connect time.
import type { lookup } from 'node:dns';
import { afterAll, describe, expect, it } from 'vitest';
import { createWebhookSender } from '../../src/deliveries/send.ts';
import { useWebhookSink } from '../helpers/webhook-sink.ts';

const sink = useWebhookSink();
const headers = { 'content-type': 'application/json' };

/** A resolver that answers `address` for every name, as a DNS record changed to point inside would. */
const resolvingTo = (address: string) =>
  ((
    _host: string,
    _options: unknown,
    callback: (e: null, a: { address: string; family: number }[]) => void,
  ) => callback(null, [{ address, family: address.includes(':') ? 6 : 4 }])) as unknown as typeof lookup;

const open = createWebhookSender({ allowPrivate: true, timeoutMs: 2000 });
afterAll(() => open.close());

describe('webhook sender', () => {
  it('keeps the connection to an endpoint alive across deliveries', async () => {
    for (let i = 0; i < 3; i++) {
      const sent = await open.post(`${sink.url}/kept`, headers, '{}');
      expect(sent).toMatchObject({ statusCode: 200, error: null });
    }
    const ports = new Set(sink.at('kept').map((r) => r.remotePort));
    expect(ports.size).toBe(1);
  });

  it('refuses, when it connects, a name that now resolves to a private address', async () => {
    const port = new URL(sink.url).port;
    for (const address of ['10.1.2.3', '127.0.0.1', '::1', '169.254.169.254', 'fd00::1']) {
      const guarded = createWebhookSender({
        allowPrivate: false,
        timeoutMs: 2000,
        resolve: resolvingTo(address),
      });
      const sent = await guarded.post(`http://hooks.example.com:${port}/changed`, headers, '{}');
      guarded.close();
      expect(sent.statusCode).toBeNull();
      expect(sent.error).toContain(`hooks.example.com resolves to ${address}, which is not a public address`);
    }
    expect(sink.at('changed')).toHaveLength(0);
  });

  it('refuses private addresses written in the URL', async () => {
    const port = new URL(sink.url).port;
    const guarded = createWebhookSender({ allowPrivate: false, timeoutMs: 2000 });
    for (const host of ['127.0.0.1', '[::1]', '[::ffff:127.0.0.1]', '0x7f.1']) {
      const sent = await guarded.post(`http://${host}:${port}/literal`, headers, '{}');
      expect(sent).toMatchObject({ statusCode: null, error: expect.stringMatching(/not a public address/) });
    }
    guarded.close();
    expect(sink.at('literal')).toHaveLength(0);
  });
});
