import { lookup } from 'node:dns/promises';
import ipaddr from 'ipaddr.js';

/** Why a URL may not receive webhooks, or undefined when it may. */
export type UrlRefusal = string | undefined;

/** True for addresses on the public internet (ipaddr's `unicast` range), false for every other range. */
export function isPublicAddress(address: string): boolean {
  if (!ipaddr.isValid(address)) return false;
  return ipaddr.process(address).range() === 'unicast';
}

/**
 * Checks a webhook URL against SSRF: https only, no credentials, and every address the host resolves to
 * must be public, unless the operator allows private targets (local development and tests).
 */
export async function checkWebhookUrl(raw: string, options: { allowPrivate: boolean }): Promise<UrlRefusal> {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return 'must be an absolute URL';
  }
  if (url.username || url.password) return 'must not carry credentials';
  if (url.protocol !== 'https:' && !(options.allowPrivate && url.protocol === 'http:'))
    return 'must use https';
  if (options.allowPrivate) return undefined;

  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (ipaddr.isValid(host))
    return isPublicAddress(host) ? undefined : 'must not point at a private or loopback address';
  if (
    host === 'localhost' ||
    host.endsWith('.localhost') ||
    host.endsWith('.internal') ||
    host.endsWith('.local')
  ) {
    return 'must not point at a private or loopback address';
  }
  let addresses: { address: string }[];
  try {
    addresses = await lookup(host, { all: true, verbatim: true });
  } catch {
    return 'host does not resolve';
  }
  if (addresses.length === 0) return 'host does not resolve';
  return addresses.every((a) => isPublicAddress(a.address))
    ? undefined
    : 'must not point at a private or loopback address';
}
