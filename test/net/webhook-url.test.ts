import { describe, expect, it } from 'vitest';
import { checkWebhookUrl, isPublicAddress } from '../../src/net/webhook-url.ts';

describe('webhook URL guard', () => {
  it.each([
    ['93.184.215.14', true],
    ['8.8.8.8', true],
    ['2606:4700:4700::1111', true],
    ['127.0.0.1', false],
    ['10.0.0.1', false],
    ['172.16.5.4', false],
    ['192.168.1.1', false],
    ['169.254.169.254', false],
    ['100.64.0.1', false],
    ['0.0.0.0', false],
    ['::1', false],
    ['fc00::1', false],
    ['fe80::1', false],
    ['::ffff:127.0.0.1', false],
    ['224.0.0.1', false],
    ['not-an-ip', false],
  ])('%s public: %s', (address, expected) => {
    expect(isPublicAddress(address)).toBe(expected);
  });

  it('refuses private targets unless allowed, and http unless allowed', async () => {
    expect(await checkWebhookUrl('https://127.0.0.1/x', { allowPrivate: false })).toMatch(
      /private or loopback/,
    );
    expect(await checkWebhookUrl('https://localhost:8443/x', { allowPrivate: false })).toMatch(
      /private or loopback/,
    );
    expect(await checkWebhookUrl('http://93.184.215.14/x', { allowPrivate: false })).toBe('must use https');
    expect(await checkWebhookUrl('https://93.184.215.14/x', { allowPrivate: false })).toBeUndefined();
    expect(await checkWebhookUrl('http://127.0.0.1:9/x', { allowPrivate: true })).toBeUndefined();
    expect(await checkWebhookUrl('https://no-such-host.invalid/x', { allowPrivate: false })).toBe(
      'host does not resolve',
    );
  });
});
