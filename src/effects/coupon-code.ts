import { randomBytes } from 'node:crypto';

// Crockford's base32 in capitals: no I, L, O or U, so a code read aloud or typed is hard to get wrong.
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const RANDOM_CHARACTERS = 16;

/**
 * A coupon code: the trigger's prefix, a dash, then 16 characters drawn from 80 crypto-random bits (10 bytes,
 * 5 bits a character, so each character is uniform): too many to guess or enumerate.
 */
export function newCouponCode(prefix: string): string {
  let bits = BigInt(`0x${randomBytes((RANDOM_CHARACTERS * 5) / 8).toString('hex')}`);
  let text = '';
  for (let i = 0; i < RANDOM_CHARACTERS; i++) {
    text = ALPHABET[Number(bits & 31n)] + text;
    bits >>= 5n;
  }
  return `${prefix}-${text}`;
}
