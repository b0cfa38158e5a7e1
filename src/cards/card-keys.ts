import { createHmac, createSecretKey, type KeyObject } from 'node:crypto';
import { holdsCardNumber } from './card-numbers.ts';

/**
 * The keyed hashes made with CARD_FINGERPRINT_KEY, its key object made once per process (in createDeps)
 * rather than on every hash (bench/README.md).
 */
export class CardKeys {
  readonly #key: KeyObject;

  constructor(cardFingerprintKey: string) {
    this.#key = createSecretKey(Buffer.from(cardFingerprintKey, 'utf8'));
  }

  /**
   * The keyed fingerprint of a PAN: HMAC-SHA256, hex. Without the key it cannot be reversed or brute-forced
   * over the small PAN space, so it is safe to store and index.
   */
  fingerprint(pan: string): string {
    return createHmac('sha256', this.#key).update(pan).digest('hex');
  }

  /**
   * What is kept of an identifier that must not be stored as given (a reference holding a card number, an
   * Idempotency-Key): `hmac_` and a keyed HMAC-SHA256 of it in base64url. Equal inputs stay equal, so it still
   * works as a key; the domain prefix keeps it from ever equalling a card's fingerprint.
   */
  identifier(value: string): string {
    const digest = createHmac('sha256', this.#key)
      .update(`cardlink identifier\u0000${value}`)
      .digest('base64url');
    return `hmac_${digest}`;
  }

  /**
   * A reference as it may be stored: itself, or its `identifier` when it holds a card number. For values
   * compared only for equality (event ids, MIDs, RRNs), which keep working as keys either way.
   */
  reference(value: string): string {
    return holdsCardNumber(value) ? this.identifier(value) : value;
  }
}
