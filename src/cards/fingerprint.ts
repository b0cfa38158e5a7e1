import { createHmac, createSecretKey, type KeyObject } from 'node:crypto';

// The key object, made once per key rather than on every fingerprint (a third of an HMAC's cost).
let cached: { key: string; object: KeyObject } | undefined;

/**
 * The keyed fingerprint of a PAN: HMAC-SHA256 with CARD_FINGERPRINT_KEY, hex. Without the key it cannot
 * be reversed or brute-forced over the small PAN space, so it is safe to store and index.
 */
export function fingerprintPan(pan: string, key: string): string {
  if (cached?.key !== key) cached = { key, object: createSecretKey(Buffer.from(key, 'utf8')) };
  return createHmac('sha256', cached.object).update(pan).digest('hex');
}
