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
    ['::7f00:1', false],
    ['::2', false],
    ['2002:7f00:1::', false],
    ['64:ff9b::a9fe:a9fe', false],
    ['2001:db8::1', false],
    ['2001::1', false],
    ['3fff::1', false],
    ['::ffff:8.8.8.8', true],
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
  });

  // Names are resolved by a stand-in for the system resolver: no test sends a DNS query off the machine.
  const resolver =
    (table: Record<string, string[]>) =>
    async (host: string): Promise<{ address: string }[]> => {
      const addresses = table[host];
      if (!addresses) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
      return addresses.map((address) => ({ address }));
    };

  it.each([
    ['a name that does not resolve', 'https://nowhere.example/x', 'host does not resolve'],
    ['a name resolving to a public address', 'https://hooks.example/x', undefined],
    [
      'a name with one private address among public ones',
      'https://mixed.example/x',
      'must not point at a private or loopback address',
    ],
    [
      'a name resolving to an IPv4-compatible loopback',
      'https://compat.example/x',
      'must not point at a private or loopback address',
    ],
  ])('judges %s by every address it resolves to', async (_name, url, expected) => {
    const resolve = resolver({
      'hooks.example': ['93.184.215.14', '2606:4700:4700::1111'],
      'mixed.example': ['93.184.215.14', '10.0.0.7'],
      'compat.example': ['::7f00:1'],
    });
    expect(await checkWebhookUrl(url, { allowPrivate: false, resolve })).toBe(expected);
  });

  // Every notation of a non-public address the security probe tried; each must be refused when the
  // operator has not allowed private webhooks.
  it.each([
    ['mapped', 'https://[::ffff:127.0.0.1]/h'],
    ['mapped, hex', 'https://[::ffff:7f00:1]/h'],
    ['mapped, metadata', 'https://[::ffff:169.254.169.254]/h'],
    ['SIIT (RFC 6145)', 'https://[::ffff:0:127.0.0.1]/h'],
    ['compatible', 'https://[::127.0.0.1]/h'],
    ['compatible, hex', 'https://[::7f00:1]/h'],
    ['compatible, metadata', 'https://[::169.254.169.254]/h'],
    ['compatible, metadata hex', 'https://[::a9fe:a9fe]/h'],
    ['compatible, private', 'https://[::10.0.0.1]/h'],
    ['compatible, ::2', 'https://[::2]/h'],
    ['unspecified', 'https://[::]/h'],
    ['loopback, long form', 'https://[0:0:0:0:0:0:0:1]/h'],
    ['6to4 of loopback', 'https://[2002:7f00:1::]/h'],
    ['6to4 of metadata', 'https://[2002:a9fe:a9fe::1]/h'],
    ['NAT64 of loopback', 'https://[64:ff9b::127.0.0.1]/h'],
    ['NAT64 of metadata', 'https://[64:ff9b::a9fe:a9fe]/h'],
    ['local-use NAT64', 'https://[64:ff9b:1::a00:1]/h'],
    ['Teredo', 'https://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/h'],
    ['IPv6 documentation', 'https://[2001:db8::1]/h'],
    ['unique local', 'https://[fd00::1]/h'],
    ['link local', 'https://[fe80::1]/h'],
    ['site local', 'https://[fec0::1]/h'],
    ['multicast', 'https://[ff02::1]/h'],
    ['decimal', 'https://2130706433/h'],
    ['decimal, private', 'https://3232235521/h'],
    ['octal', 'https://0177.0.0.1/h'],
    ['octal, whole', 'https://017700000001/h'],
    ['hex', 'https://0x7f.0.0.1/h'],
    ['hex, whole', 'https://0x7f000001/h'],
    ['hex, metadata', 'https://0xa9fea9fe/h'],
    ['short', 'https://127.1/h'],
    ['short, private', 'https://10.1/h'],
    ['trailing dot', 'https://127.0.0.1./h'],
    ['localhost with trailing dot', 'https://localhost./h'],
    ['zero network', 'https://0.0.0.0/h'],
    ['carrier-grade NAT', 'https://100.64.0.1/h'],
    ['benchmarking', 'https://198.18.0.1/h'],
    ['broadcast', 'https://255.255.255.255/h'],
  ])('refuses %s: %s', async (_form, url) => {
    expect(await checkWebhookUrl(url, { allowPrivate: false })).toBe(
      'must not point at a private or loopback address',
    );
  });

  it.each([
    ['IPv4', 'https://8.8.8.8/h'],
    ['IPv4-mapped public', 'https://[::ffff:8.8.8.8]/h'],
    ['IPv6 global', 'https://[2606:4700:4700::1111]/h'],
  ])('accepts a global unicast address (%s)', async (_form, url) => {
    expect(await checkWebhookUrl(url, { allowPrivate: false })).toBeUndefined();
  });
});
