// The credentials a simulated processor sends with, and the headers each request is signed with when it goes.
import type { KeyObject } from 'node:crypto';
import { signatureWith, webhookSigningKey } from '../ingest/signature.ts';
import { stripeSignature } from './formats/stripe.ts';
import type { WireRequest } from './render.ts';

export interface ProcessorCredentials {
  id: string;
  apiKey: string;
  /** Standard Webhooks secret (`whsec_…`) from `POST /v1/processors`. */
  signingSecret: string;
  /** The processor's `stripe_endpoint_secret`, needed to send Stripe Issuing traffic. */
  stripeEndpointSecret?: string;
}

/** Signs requests as one processor: its HMAC key is made once. */
export function requestSigner(processor: ProcessorCredentials, messagePrefix: string) {
  const key: KeyObject = webhookSigningKey(processor.signingSecret);
  let attempt = 0;
  return (request: WireRequest): Record<string, string> => {
    const now = Math.floor(Date.now() / 1000);
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (request.signing === 'stripe') {
      if (!processor.stripeEndpointSecret)
        throw new Error('Stripe Issuing traffic needs the processor’s stripe_endpoint_secret');
      headers['stripe-signature'] = stripeSignature(processor.stripeEndpointSecret, now, request.body);
      return headers;
    }
    // A fresh message id per attempt: it names one delivery of the message, as Standard Webhooks has it.
    const id = `msg_${messagePrefix}_${request.seq}_${attempt++}`;
    headers.authorization = `Bearer ${processor.apiKey}`;
    headers['webhook-id'] = id;
    headers['webhook-timestamp'] = String(now);
    headers['webhook-signature'] = signatureWith(key, id, now, request.body);
    return headers;
  };
}
