// Authenticates a processor's request: its api key, then the Standard Webhooks signature of the body.
import type { KeyObject } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { type ProcessorRow, processors } from '../db/schema/index.ts';
import type { Deps } from '../deps.ts';
import { AppError } from '../errors.ts';
import { hashToken } from '../lib/secrets.ts';
import { signingSecretsOf } from '../processors/processors.ts';
import { type SignatureHeaders, verifyStandardWebhook, webhookSigningKey } from './signature.ts';

// A processor sends thousands of requests a second: its row is cached briefly per process. A PATCH that
// disables a processor or a secret rotation takes effect within this many milliseconds.
const CACHE_MS = 1000;
interface CachedProcessor {
  row: ProcessorRow | undefined;
  /** The signing secrets' HMAC keys, opened and made once per cache entry rather than per request. */
  keys: KeyObject[];
  at: number;
}
/** Processors by api-key hash, held by `deps` (one per process). */
export type ProcessorCache = Map<string, CachedProcessor>;

export const createProcessorCache = (): ProcessorCache => new Map();

async function processorByApiKeyHash(deps: Deps, keyHash: string): Promise<CachedProcessor> {
  const cache = deps.processorCache;
  const now = Date.now();
  const hit = cache.get(keyHash);
  if (hit && now - hit.at < CACHE_MS) return hit;
  const [row] = await deps.db.select().from(processors).where(eq(processors.apiKeyHash, keyHash));
  const keys = row ? signingSecretsOf(row, deps.secretBox).map(webhookSigningKey) : [];
  const entry = { row, keys, at: now };
  if (cache.size > 1000) cache.clear();
  cache.set(keyHash, entry);
  return entry;
}

export interface ProcessorCredentials {
  /** The `Authorization` header as sent. */
  authorization: string | undefined;
  signature: SignatureHeaders;
  /** The raw body bytes, exactly as received (verified before anything parses them). */
  body: Uint8Array;
}

/**
 * Authenticates a processor request: bearer api key, then a Standard Webhooks signature of the raw body
 * with the processor's signing secret (5-minute window). Throws `unauthorized`, `forbidden` (disabled
 * processor) or `signature_invalid`; returns the processor.
 */
export async function authenticateProcessor(
  deps: Deps,
  credentials: ProcessorCredentials,
): Promise<ProcessorRow> {
  const match = /^Bearer ([\x21-\x7e]{1,512})$/.exec(credentials.authorization ?? '');
  if (!match)
    throw new AppError('unauthorized', 'Send the processor api key as `Authorization: Bearer <api_key>`.');
  const { row: processor, keys } = await processorByApiKeyHash(deps, hashToken(match[1]!));
  if (!processor) throw new AppError('unauthorized', 'Unknown api key.');
  if (processor.status !== 'active') throw new AppError('forbidden', 'This processor is disabled.');
  const check = verifyStandardWebhook(keys, credentials.signature, credentials.body);
  if (!check.ok) {
    const detail = {
      missing_headers:
        'Sign the body per Standard Webhooks: webhook-id, webhook-timestamp and webhook-signature are required.',
      bad_timestamp: 'webhook-timestamp must be Unix seconds.',
      stale_timestamp: 'webhook-timestamp is more than 5 minutes away from our clock.',
      no_match: 'No signature in webhook-signature matches the body.',
    }[check.reason];
    throw new AppError('signature_invalid', detail);
  }
  return processor;
}
