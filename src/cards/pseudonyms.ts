import { createCipheriv, createDecipheriv, hkdfSync } from 'node:crypto';

const CROCKFORD = '0123456789abcdefghjkmnpqrstvwxyz';
const DECODE = new Map([...CROCKFORD].map((char, index) => [char, index]));

/** 26 Crockford base32 characters (a ULID's text) to its 16 bytes, or undefined if not a ULID. */
function ulidBytes(text: string): Buffer | undefined {
  if (text.length !== 26) return undefined;
  let value = 0n;
  for (const char of text.toLowerCase()) {
    const digit = DECODE.get(char);
    if (digit === undefined) return undefined;
    value = (value << 5n) | BigInt(digit);
  }
  if (value >> 128n !== 0n) return undefined;
  return Buffer.from(value.toString(16).padStart(32, '0'), 'hex');
}

function ulidText(bytes: Buffer): string {
  let value = BigInt(`0x${bytes.toString('hex')}`);
  let text = '';
  for (let i = 0; i < 26; i++) {
    text = CROCKFORD[Number(value & 31n)] + text;
    value >>= 5n;
  }
  return text;
}

export interface PseudonymKey {
  /** SECRETS_KEY: the per-app keys are derived from it with HKDF, apart from every other use of it. */
  secretsKey: string;
}

const appKey = (key: PseudonymKey, appId: string) =>
  Buffer.from(hkdfSync('sha256', key.secretsKey, 'cardlink card pseudonyms', `app:${appId}`, 32));

function permute(key: PseudonymKey, appId: string, block: Buffer, direction: 'encrypt' | 'decrypt') {
  const make = direction === 'encrypt' ? createCipheriv : createDecipheriv;
  const cipher = make('aes-256-ecb', appKey(key, appId), null).setAutoPadding(false);
  return Buffer.concat([cipher.update(block), cipher.final()]);
}

/**
 * The id app `appId` sees for card `cardId`: `crd_` + the card id's 128 bits put through AES-256 under a key
 * derived (HKDF) from SECRETS_KEY and the app id. It is a keyed pseudorandom permutation: stable per
 * (app, card), unlinkable between apps without the key, never the platform id, and reversible by us alone.
 */
export function cardIdForApp(key: PseudonymKey, appId: string, cardId: string): string {
  const bytes = ulidBytes(cardId.replace(/^crd_/, ''));
  if (!bytes) throw new Error('Not a card id');
  return `crd_${ulidText(permute(key, appId, bytes, 'encrypt'))}`;
}

/**
 * The platform card id behind an app's pseudonym, or undefined when it is not one (callers must still check
 * that the card exists and that the app may see its user). Another app's pseudonym yields an unrelated id.
 */
export function cardIdFromApp(key: PseudonymKey, appId: string, pseudonym: string): string | undefined {
  if (!pseudonym.startsWith('crd_')) return undefined;
  const bytes = ulidBytes(pseudonym.slice(4));
  if (!bytes) return undefined;
  return `crd_${ulidText(permute(key, appId, bytes, 'decrypt'))}`;
}
