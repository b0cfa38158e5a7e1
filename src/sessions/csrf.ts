import { createHmac } from 'node:crypto';
import type { Deps } from '../deps.ts';
import { hashToken, safeEqual } from '../lib/secrets.ts';

/** How long a form of the cardholder's pages stays valid after it was shown. */
export const FORM_TTL_SECONDS = 60 * 60;

const mac = (secretsKey: string, parts: unknown[]) =>
  createHmac('sha256', secretsKey).update(JSON.stringify(parts)).digest('base64url');

const stamped = (secretsKey: string, parts: unknown[], now: number) => {
  const issuedAt = Math.floor(now / 1000);
  return `${issuedAt}.${mac(secretsKey, [...parts, issuedAt])}`;
};

/** The token is `<issued at>.<HMAC over parts and issued at>`, unexpired and authentic. */
function stampValid(secretsKey: string, parts: unknown[], token: string, now: number): boolean {
  const match = /^([0-9]{1,12})\.([A-Za-z0-9_-]{43})$/.exec(token);
  if (!match) return false;
  const issuedAt = Number(match[1]);
  const age = now / 1000 - issuedAt;
  if (age < -60 || age > FORM_TTL_SECONDS) return false;
  return safeEqual(match[2]!, mac(secretsKey, [...parts, issuedAt]));
}

const NONCE = /^[A-Za-z0-9_-]{20,64}$/;

/** The forms shown before there is a session: their token is bound to a random nonce in a cookie instead. */
export type SignedOutForm = 'login' | 'signup';

/** A signed-out form's cookie value: a random nonce and the server's HMAC over it (`<nonce>.<mac>`). */
export const nonceCookie = (secretsKey: string, form: SignedOutForm, nonce: string) =>
  `${nonce}.${mac(secretsKey, [`${form}-nonce`, nonce])}`;

/** The nonce of a form's cookie this server issued, or undefined for any other value (planted or stale). */
export function issuedNonce(
  secretsKey: string,
  form: SignedOutForm,
  cookie: string | undefined,
): string | undefined {
  const dot = cookie?.lastIndexOf('.') ?? -1;
  if (!cookie || dot < 0) return undefined;
  const nonce = cookie.slice(0, dot);
  if (!NONCE.test(nonce)) return undefined;
  return safeEqual(cookie, nonceCookie(secretsKey, form, nonce)) ? nonce : undefined;
}

/**
 * A signed-out form's token for the random nonce in its cookie (there is no session yet to bind it to). Signed
 * with the server key, so a cookie an attacker plants does not pair with a token of their choosing.
 */
export const nonceFormToken = (secretsKey: string, form: SignedOutForm, nonce: string, now = Date.now()) =>
  stamped(secretsKey, [form, nonce], now);

export const nonceFormTokenValid = (
  secretsKey: string,
  form: SignedOutForm,
  nonce: string,
  token: string,
  now = Date.now(),
) => stampValid(secretsKey, [form, nonce], token, now);

/**
 * The token of a form a signed-in user sends from their account pages: bound to the session (its hash) and to
 * what the form does (`purpose`, e.g. `remove-card:crd_…`), so a token shown for one card cannot remove another.
 */
export const sessionFormToken = (
  secretsKey: string,
  sessionToken: string,
  purpose: string,
  now = Date.now(),
) => stamped(secretsKey, ['account', hashToken(sessionToken), purpose], now);

export const sessionFormTokenValid = (
  secretsKey: string,
  sessionToken: string,
  purpose: string,
  token: string,
  now = Date.now(),
) => stampValid(secretsKey, ['account', hashToken(sessionToken), purpose], token, now);

/** The one authorization request a consent form was shown for, to this session. */
export interface ConsentBinding {
  sessionToken: string;
  clientId: string;
  redirectUri: string;
  scopes: string[];
  codeChallenge: string;
  state: string | undefined;
}

const consentParts = (binding: ConsentBinding) => [
  'consent',
  hashToken(binding.sessionToken),
  binding.clientId,
  binding.redirectUri,
  [...binding.scopes].sort(),
  binding.codeChallenge,
  binding.state ?? null,
];

/** The consent form's token: valid only for this session and exactly this authorization request. */
export const consentCsrfToken = (secretsKey: string, binding: ConsentBinding, now = Date.now()) =>
  stamped(secretsKey, consentParts(binding), now);

/**
 * Accepts a consent form's token once: it must match the session and the request the page was shown for, be
 * unexpired, and not have been used before (recorded in Redis until it would have expired anyway).
 */
export async function redeemConsentCsrf(
  deps: Pick<Deps, 'config' | 'redis'>,
  binding: ConsentBinding,
  token: string,
  now = Date.now(),
): Promise<boolean> {
  if (!stampValid(deps.config.secretsKey, consentParts(binding), token, now)) return false;
  const key = `${deps.config.queuePrefix}:consent-csrf:${hashToken(token)}`;
  // The queue connection, not the fail-fast probe: a brief Redis hiccup delays the consent, never refuses it.
  const first = await deps.redis.set(key, '1', 'EX', FORM_TTL_SECONDS + 60, 'NX');
  return first === 'OK';
}
