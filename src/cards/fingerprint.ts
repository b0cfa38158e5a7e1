import { createHmac } from 'node:crypto';

/**
 * The keyed fingerprint of a PAN: HMAC-SHA256 with CARD_FINGERPRINT_KEY, hex. Without the key it cannot
 * be reversed or brute-forced over the small PAN space, so it is safe to store and index.
 */
export function fingerprintPan(pan: string, key: string): string {
  return createHmac('sha256', key).update(pan).digest('hex');
}
