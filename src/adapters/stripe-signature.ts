import { createHmac, timingSafeEqual } from 'node:crypto';

/** Stripe refuses to replay events older than this; so do we, in both directions of clock skew. */
export const STRIPE_TOLERANCE_SECONDS = 300;

export type StripeSignatureCheck = { ok: true } | { ok: false; reason: string };

/**
 * Verifies a `Stripe-Signature` header (`t=<unix>,v1=<hex>[,v1=<hex>…]`): HMAC-SHA256 of `${t}.${rawBody}`
 * keyed with the endpoint secret (the whole `whsec_…` string, as Stripe does), compared in constant time
 * against every `v1` (Stripe sends several while a secret rolls). `v0` and unknown schemes are ignored.
 */
export function verifyStripeSignature(
  header: string | undefined,
  rawBody: string,
  secret: string,
  nowSeconds: number,
  toleranceSeconds = STRIPE_TOLERANCE_SECONDS,
): StripeSignatureCheck {
  if (!header) return { ok: false, reason: 'missing Stripe-Signature header' };
  let timestamp: string | undefined;
  const signatures: Buffer[] = [];
  for (const part of header.split(',')) {
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    const key = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    if (key === 't') timestamp = value;
    else if (key === 'v1' && /^[0-9a-f]{64}$/i.test(value)) signatures.push(Buffer.from(value, 'hex'));
  }
  if (!timestamp || !/^\d{1,12}$/.test(timestamp))
    return { ok: false, reason: 'no timestamp in Stripe-Signature' };
  if (signatures.length === 0) return { ok: false, reason: 'no v1 signature in Stripe-Signature' };
  const expected = createHmac('sha256', secret).update(`${timestamp}.${rawBody}`, 'utf8').digest();
  let match = false;
  for (const signature of signatures) match = timingSafeEqual(signature, expected) || match;
  if (!match) return { ok: false, reason: 'no v1 signature matches' };
  if (Math.abs(nowSeconds - Number(timestamp)) > toleranceSeconds)
    return { ok: false, reason: 'timestamp outside the tolerance' };
  return { ok: true };
}
