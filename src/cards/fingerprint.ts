import { createHmac, createSecretKey, type KeyObject } from 'node:crypto';
import { holdsCardNumber } from './card-numbers.ts';

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

/**
 * What is kept of an identifier that must not be stored as given (a reference holding a card number, an
 * Idempotency-Key): `hmac_` and a keyed HMAC-SHA256 of it in base64url. Equal inputs stay equal, so it still
 * works as a key; the domain prefix keeps it from ever equalling a card's fingerprint.
 */
export function keyedIdentifier(value: string, key: string): string {
  if (cached?.key !== key) cached = { key, object: createSecretKey(Buffer.from(key, 'utf8')) };
  return `hmac_${createHmac('sha256', cached.object).update(`cardlink identifier\u0000${value}`).digest('base64url')}`;
}

/**
 * A reference as it may be stored: itself, or its `keyedIdentifier` when it holds a card number. For values
 * compared only for equality (event ids, MIDs, RRNs), which keep working as keys either way.
 */
export function storedReference(value: string, key: string): string {
  return holdsCardNumber(value) ? keyedIdentifier(value, key) : value;
}
