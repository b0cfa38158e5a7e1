import { Webhook } from 'standardwebhooks';
import { cards, users } from '../../src/db/schema/index.ts';
import { newId } from '../../src/lib/ids.ts';
import type { ApiResponse, TestPlatform } from '../helpers/platform.ts';

export interface TestProcessor {
  id: string;
  apiKey: string;
  signingSecret: string;
}

export async function createTestProcessor(
  platform: TestPlatform,
  name = 'Test Processor',
): Promise<TestProcessor> {
  const res = await platform.admin('POST', '/v1/processors', { body: { name } });
  if (res.status !== 201) throw new Error(`processor not created: ${res.text}`);
  return { id: res.body.id, apiKey: res.body.api_key, signingSecret: res.body.signing_secret };
}

let messageSeq = 0;

/** Headers signed by the official Standard Webhooks library. */
export function signedHeaders(
  processor: TestProcessor,
  body: string,
  options: { at?: Date; secret?: string; id?: string } = {},
): Record<string, string> {
  const id = options.id ?? `msg_${Date.now()}_${messageSeq++}`;
  const at = options.at ?? new Date();
  const signature = new Webhook(options.secret ?? processor.signingSecret).sign(id, at, body);
  return {
    'webhook-id': id,
    'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
    'webhook-signature': signature,
  };
}

/**
 * A signed processor request (api key + Standard Webhooks signature of exactly the bytes sent), over a real
 * socket to the server as it runs in production: POST /v1/events then takes the fast path when it can.
 */
export function processorRequest(
  platform: TestPlatform,
  processor: TestProcessor,
  path: string,
  body: unknown,
): Promise<ApiResponse> {
  const raw = typeof body === 'string' ? body : JSON.stringify(body);
  return platform.http('POST', path, {
    raw,
    token: processor.apiKey,
    headers: signedHeaders(processor, raw),
  });
}

export const postEvents = (platform: TestPlatform, processor: TestProcessor, body: unknown) =>
  processorRequest(platform, processor, '/v1/events', body);

/**
 * Enrolls a card directly in the tables (users/cards rows with the real fingerprint), standing in for
 * POST /v1/me/cards until that endpoint exists.
 */
export async function enrollCard(
  platform: TestPlatform,
  pan: string,
): Promise<{ userId: string; cardId: string }> {
  const userId = newId('usr');
  const cardId = newId('crd');
  await platform.deps.db
    .insert(users)
    .values({ id: userId, email: `${userId}@example.test`, passwordHash: 'x' });
  await platform.deps.db.insert(cards).values({
    id: cardId,
    userId,
    fingerprint: platform.deps.cardKeys.fingerprint(pan),
    bin: pan.slice(0, 6),
    last4: pan.slice(-4),
    scheme: pan.startsWith('4') ? 'visa' : 'mastercard',
    expMonth: 12,
    expYear: 2030,
  });
  return { userId, cardId };
}

/** A Luhn-valid 16-digit PAN built from a seed (test cards only). */
export function testPan(seed: number, prefix = '4000'): string {
  const body = `${prefix}${String(seed).padStart(11, '0')}`.slice(0, 15);
  for (let check = 0; check < 10; check++) {
    const candidate = body + check;
    let sum = 0;
    for (let i = 0; i < 16; i++) {
      let digit = Number(candidate[15 - i]);
      if (i % 2 === 1) {
        digit *= 2;
        if (digit > 9) digit -= 9;
      }
      sum += digit;
    }
    if (sum % 10 === 0) return candidate;
  }
  throw new Error('unreachable');
}

let eventSeq = 0;

/** A contract event; `pan` or `token` become its card unless `card` itself is given. */
export function authorization(options: Record<string, unknown> & { pan?: string; token?: string } = {}) {
  const { pan, token, ...overrides } = options;
  return {
    id: `auth-${Date.now().toString(36)}-${eventSeq++}`,
    type: 'authorization',
    occurred_at: '2026-11-23T08:15:02-08:00',
    card: pan !== undefined ? { pan } : { token },
    amount: 475,
    currency: 'USD',
    merchant: {
      mid: '000123',
      name: 'BLUE BOTTLE COFFEE',
      mcc: '5814',
      city: 'Oakland',
      region: 'CA',
      postal_code: '94607',
      country: 'US',
      terminal_id: 'T1',
    },
    auth_code: 'A1B2C3',
    rrn: '123456789012',
    entry_mode: 'contactless',
    original_id: null,
    ...overrides,
  };
}

export function follower(
  type: 'clearing' | 'refund' | 'reversal',
  options: Record<string, unknown> & { pan?: string; token?: string } = {},
) {
  return authorization({ id: `${type}-${Date.now().toString(36)}-${eventSeq++}`, type, ...options });
}
