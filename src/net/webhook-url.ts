import { lookup } from 'node:dns/promises';
import ipaddr from 'ipaddr.js';

/** Every address a host name resolves to (the system resolver by default; tests give their own). */
export type Resolve = (host: string) => Promise<{ address: string }[]>;

const resolveAll: Resolve = (host) => lookup(host, { all: true, verbatim: true });

/** Why a URL may not receive webhooks, or undefined when it may. */
export type UrlRefusal = string | undefined;

// IPv6 global unicast is 2000::/3 (RFC 4291) less the blocks IANA marks as not globally reachable or as
// carrying another address inside (Teredo and the IETF protocol block, 6to4, documentation).
const IPV6_GLOBAL_UNICAST = ipaddr.parseCIDR('2000::/3');
const IPV6_NOT_GLOBAL = ['2001::/23', '2001:db8::/32', '2002::/16', '3fff::/20'].map((cidr) =>
  ipaddr.parseCIDR(cidr),
);

/**
 * True only for a global unicast address. An IPv4-mapped IPv6 address is judged as the IPv4 address it maps;
 * every other IPv6 form that embeds an IPv4 address (compatible, 6to4, NAT64, SIIT, Teredo) is refused, as
 * is any range ipaddr.js does not call `unicast`.
 */
export function isPublicAddress(address: string): boolean {
  if (!ipaddr.isValid(address)) return false;
  const parsed = ipaddr.process(address);
  if (parsed.range() !== 'unicast') return false;
  if (parsed.kind() === 'ipv4') return true;
  return parsed.match(IPV6_GLOBAL_UNICAST) && !IPV6_NOT_GLOBAL.some((cidr) => parsed.match(cidr));
}

/**
 * Checks a webhook URL against SSRF: https only, no credentials, and every address the host resolves to
 * must be public, unless the operator allows private targets (local development and tests).
 */
export async function checkWebhookUrl(
  raw: string,
  options: { allowPrivate: boolean; resolve?: Resolve },
): Promise<UrlRefusal> {
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

  // The URL parser has already turned decimal, octal, hex and short IPv4 forms into dotted quads, and IPv6
  // into its compressed form; a trailing dot names the same host.
  const host = url.hostname.replace(/^\[|\]$/g, '').replace(/\.$/, '');
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
    addresses = await (options.resolve ?? resolveAll)(host);
  } catch {
    return 'host does not resolve';
  }
  if (addresses.length === 0) return 'host does not resolve';
  return addresses.every((a) => isPublicAddress(a.address))
    ? undefined
    : 'must not point at a private or loopback address';
}
