// A processor registered for a simulated feed, through the operator API of a running platform.
import { randomBytes } from 'node:crypto';
import type { ProcessorCredentials } from './sign.ts';

/**
 * Registers a processor (`POST /v1/processors`) with a Stripe endpoint secret of its own, so it can send all
 * three feeds, and returns the credentials shown once.
 */
export async function registerProcessor(
  baseUrl: string,
  adminToken: string,
  name: string,
): Promise<ProcessorCredentials> {
  const stripeEndpointSecret = `whsec_${randomBytes(24).toString('base64url')}`;
  const res = await fetch(`${baseUrl.replace(/\/+$/, '')}/v1/processors`, {
    method: 'POST',
    headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name, stripe_endpoint_secret: stripeEndpointSecret }),
  });
  const text = await res.text();
  if (res.status !== 201) throw new Error(`POST /v1/processors answered ${res.status}: ${text}`);
  const body = JSON.parse(text) as { id: string; api_key: string; signing_secret: string };
  return { id: body.id, apiKey: body.api_key, signingSecret: body.signing_secret, stripeEndpointSecret };
}
