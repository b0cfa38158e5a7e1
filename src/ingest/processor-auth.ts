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

async function loadProcessor(deps: Deps, keyHash: string, now: number): Promise<CachedProcessor> {
  const cache = deps.processorCache;
  const [row] = await deps.db.select().from(processors).where(eq(processors.apiKeyHash, keyHash));
  const keys = row ? signingSecretsOf(row, deps.secretBox).map(webhookSigningKey) : [];
  const entry = { row, keys, at: now };
  if (cache.size > 1000) cache.clear();
  cache.set(keyHash, entry);
  return entry;
}

const unknownKey = () => new AppError('unauthorized', 'Unknown api key.');
const missingKey = () =>
  new AppError('unauthorized', 'Send the processor api key as `Authorization: Bearer <api_key>`.');
const isUnauthorized = (error: unknown) => error instanceof AppError && error.code === 'unauthorized';

/**
 * The processor of an api key (hash), under the limit of failed api-key checks per address
 * (`API_KEY_FAILURES_PER_IP`): a key this process has just seen pass is served from the cache without
 * consulting the limit; any other key is looked up only if the address is under the limit or the key is
 * known to work (see `CredentialCheckLimit`).
 */
async function processorByApiKey(
  deps: Deps,
  keyHash: string | undefined,
  options: { address: string; countFailures: boolean },
): Promise<CachedProcessor & { row: ProcessorRow }> {
  const now = Date.now();
  const hit = keyHash === undefined ? undefined : deps.processorCache.get(keyHash);
  const fresh = hit !== undefined && now - hit.at < CACHE_MS;
  if (fresh && hit.row) return { ...hit, row: hit.row };
  return deps.limiters.apiKeyFailures.check({
    address: options.address,
    credential: keyHash,
    knownHere: hit?.row !== undefined,
    count: options.countFailures,
    isFailure: isUnauthorized,
    verify: async () => {
      if (keyHash === undefined) throw missingKey();
      const entry = fresh ? hit : await loadProcessor(deps, keyHash, now);
      if (!entry.row) throw unknownKey();
      return { ...entry, row: entry.row };
    },
  });
}

export interface ProcessorCredentials {
  /** The `Authorization` header as sent. */
  authorization: string | undefined;
  signature: SignatureHeaders;
  /** The raw body bytes, exactly as received (verified before anything parses them). */
  body: Uint8Array;
  /** The client's address, for the limit of failed api-key checks. */
  address: string;
  /**
   * Whether a failed api-key check is counted against the address (default true); false where a failure is
   * handed on to be checked, and counted, again.
   */
  countFailures?: boolean;
}

/**
 * Authenticates a processor request: bearer api key, then a Standard Webhooks signature of the raw body
 * with the processor's signing secret (5-minute window). Throws `unauthorized`, `rate_limited` (too many
 * failed api-key checks from the address), `forbidden` (disabled processor) or `signature_invalid`;
 * returns the processor.
 */
export async function authenticateProcessor(
  deps: Deps,
  credentials: ProcessorCredentials,
): Promise<ProcessorRow> {
  const match = /^Bearer ([\x21-\x7e]{1,512})$/.exec(credentials.authorization ?? '');
  const { row: processor, keys } = await processorByApiKey(deps, match ? hashToken(match[1]!) : undefined, {
    address: credentials.address,
    countFailures: credentials.countFailures ?? true,
  });
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
