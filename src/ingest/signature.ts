// Signs and verifies Standard Webhooks signatures (processors sign the events they push).
import { createHmac, createSecretKey, type KeyObject, timingSafeEqual } from 'node:crypto';

/** Signatures older or newer than this (seconds) are refused, bounding replays. */
export const SIGNATURE_TOLERANCE_SECONDS = 5 * 60;

export interface SignatureHeaders {
  id: string | undefined;
  timestamp: string | undefined;
  signature: string | undefined;
}

export type SignatureCheck =
  | { ok: true }
  | { ok: false; reason: 'missing_headers' | 'bad_timestamp' | 'stale_timestamp' | 'no_match' };

/**
 * The HMAC key of a Standard Webhooks secret (`whsec_<base64>`). Whoever keeps a secret makes its key once
 * (the processor cache does): making it from the bytes on every signature was a third of an HMAC's cost.
 */
export function webhookSigningKey(secret: string): KeyObject {
  return createSecretKey(
    Buffer.from(secret.startsWith('whsec_') ? secret.slice('whsec_'.length) : secret, 'base64'),
  );
}

/** The `v1,<base64>` signature of a body with a key from `webhookSigningKey` (made once per secret). */
export function signatureWith(
  key: KeyObject,
  id: string,
  timestamp: number,
  body: Uint8Array | string,
): string {
  const mac = createHmac('sha256', key);
  mac.update(`${id}.${timestamp}.`);
  mac.update(body);
  return `v1,${mac.digest('base64')}`;
}

/** The `v1,<base64>` signature of a body per Standard Webhooks (HMAC-SHA256 over `id.timestamp.body`). */
export function signStandardWebhook(
  secret: string,
  id: string,
  timestamp: number,
  body: Uint8Array | string,
): string {
  return signatureWith(webhookSigningKey(secret), id, timestamp, body);
}

/**
 * Verifies a Standard Webhooks signature over the raw body bytes against any of `keys` (`webhookSigningKey`
 * of the current secret and, during a rotation, the previous). Comparison is constant-time; the header may
 * list several signatures.
 */
export function verifyStandardWebhook(
  keys: readonly KeyObject[],
  headers: SignatureHeaders,
  body: Uint8Array,
  nowSeconds = Math.floor(Date.now() / 1000),
): SignatureCheck {
  const { id, timestamp, signature } = headers;
  if (!id || !timestamp || !signature) return { ok: false, reason: 'missing_headers' };
  if (!/^[0-9]{1,12}$/.test(timestamp)) return { ok: false, reason: 'bad_timestamp' };
  const sentAt = Number(timestamp);
  if (Math.abs(nowSeconds - sentAt) > SIGNATURE_TOLERANCE_SECONDS)
    return { ok: false, reason: 'stale_timestamp' };
  // Compared as the exact base64 text (not decoded: Node's lenient base64 decoding would accept junk).
  const offered = signature
    .split(' ')
    .map((part) => part.split(','))
    .filter((pair) => pair[0] === 'v1' && pair[1])
    .map((pair) => Buffer.from(pair[1]!, 'utf8'));
  for (const key of keys) {
    const expected = Buffer.from(signatureWith(key, id, sentAt, body).slice(3), 'utf8');
    for (const candidate of offered) {
      if (candidate.length === expected.length && timingSafeEqual(candidate, expected)) return { ok: true };
    }
  }
  return { ok: false, reason: 'no_match' };
}
