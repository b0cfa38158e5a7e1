import { desc, gt, isNull, or, sql } from 'drizzle-orm';
import { type CryptoKey, exportJWK, generateKeyPair, importJWK, type JWK } from 'jose';
import type { Db } from '../db/client.ts';
import { type SigningKeyRow, signingKeys } from '../db/schema/index.ts';
import { randomToken, type SecretBox } from '../lib/secrets.ts';

export const SIGNING_ALG = 'ES256';
/** Access tokens live this long; a retired key keeps verifying at least this long plus a margin. */
export const ACCESS_TOKEN_TTL_SECONDS = 600;
const RETIRED_KEY_GRACE_MS = (ACCESS_TOKEN_TTL_SECONDS + 300) * 1000;
/** How long a process keeps signing with the key it loaded before looking again (after another rotated). */
const SIGNING_CACHE_MS = 60_000;

/** What the key verbs need: the database, the box sealing private keys, and this process's key cache. */
export interface KeyDeps {
  db: Db;
  secretBox: SecretBox;
  signingKeyCache: KeyCache;
}

export interface ActiveKey {
  kid: string;
  key: CryptoKey;
  loadedAt: number;
}

/**
 * A token naming a kid this process does not know makes it reload the published keys (another process may
 * have rotated), but at most once per this many milliseconds: tokens with made-up kids cannot make every
 * request reload and re-import the key set. A real rotation is seen within this window at the latest.
 */
export const UNKNOWN_KID_RELOAD_MS = 5_000;

type VerifyingKeys = Map<string, { key: CryptoKey; expiresAt: number }>;

/** The keys this process signs and verifies with, held by `deps` (one per process). */
export interface KeyCache {
  signing?: ActiveKey | undefined;
  verifying: VerifyingKeys;
  /** When the verifying keys were last loaded (0: never, or forgotten after a local rotation). */
  verifyingLoadedAt: number;
  /** The reload under way, which concurrent lookups of unknown kids share. */
  reloading?: Promise<void> | undefined;
}

export const createKeyCache = (): KeyCache => ({ verifying: new Map(), verifyingLoadedAt: 0 });

const LOCK = sql`select pg_advisory_xact_lock(hashtext('cardlink:signing-keys'))`;

async function newKeyRow(deps: KeyDeps) {
  const { publicKey, privateKey } = await generateKeyPair(SIGNING_ALG, { extractable: true });
  const kid = randomToken('', 12);
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg: SIGNING_ALG, use: 'sig' };
  const privateJwk = await exportJWK(privateKey);
  return {
    kid,
    alg: SIGNING_ALG,
    publicJwk,
    privateJwkSealed: deps.secretBox.seal(JSON.stringify(privateJwk)),
  };
}

const activeWhere = isNull(signingKeys.retiredAt);

async function loadActive(deps: KeyDeps): Promise<SigningKeyRow> {
  const [found] = await deps.db
    .select()
    .from(signingKeys)
    .where(activeWhere)
    .orderBy(desc(signingKeys.createdAt))
    .limit(1);
  if (found) return found;
  // First need on a fresh install: one process creates the key, the others wait on the lock and reuse it.
  return deps.db.transaction(async (tx) => {
    await tx.execute(LOCK);
    const [again] = await tx
      .select()
      .from(signingKeys)
      .where(activeWhere)
      .orderBy(desc(signingKeys.createdAt))
      .limit(1);
    if (again) return again;
    const [row] = await tx
      .insert(signingKeys)
      .values(await newKeyRow(deps))
      .returning();
    return row!;
  });
}

/** The key that signs new access tokens (created on first need). */
export async function signingKey(deps: KeyDeps): Promise<ActiveKey> {
  const cache = deps.signingKeyCache;
  if (cache.signing && Date.now() - cache.signing.loadedAt < SIGNING_CACHE_MS) return cache.signing;
  const row = await loadActive(deps);
  const jwk = JSON.parse(deps.secretBox.open(row.privateJwkSealed)) as JWK;
  cache.signing = {
    kid: row.kid,
    key: (await importJWK(jwk, SIGNING_ALG)) as CryptoKey,
    loadedAt: Date.now(),
  };
  return cache.signing;
}

const publishedWhere = () => or(isNull(signingKeys.expiresAt), gt(signingKeys.expiresAt, new Date()));

/** Loads the published keys, re-importing only those not already cached, and swaps the set in whole. */
async function reloadVerifying(deps: KeyDeps, cache: KeyCache): Promise<void> {
  cache.verifyingLoadedAt = Date.now();
  const rows = await deps.db.select().from(signingKeys).where(publishedWhere());
  const next: VerifyingKeys = new Map();
  for (const row of rows) {
    const known = cache.verifying.get(row.kid);
    next.set(row.kid, {
      key: known?.key ?? ((await importJWK(row.publicJwk as JWK, SIGNING_ALG)) as CryptoKey),
      expiresAt: row.expiresAt?.getTime() ?? Number.POSITIVE_INFINITY,
    });
  }
  cache.verifying = next;
}

/**
 * The public key for `kid` if it is still published (active, or retired but not yet expired). An unknown kid
 * reloads the published keys at most once per {@link UNKNOWN_KID_RELOAD_MS}; concurrent lookups share it.
 */
export async function verificationKey(deps: KeyDeps, kid: string): Promise<CryptoKey | undefined> {
  const cache = deps.signingKeyCache;
  const lookup = () => {
    const cached = cache.verifying.get(kid);
    return cached && cached.expiresAt > Date.now() ? cached.key : undefined;
  };
  const found = lookup();
  if (found) return found;
  if (!cache.reloading && Date.now() - cache.verifyingLoadedAt >= UNKNOWN_KID_RELOAD_MS) {
    cache.reloading = reloadVerifying(deps, cache).finally(() => {
      cache.reloading = undefined;
    });
  }
  if (cache.reloading) await cache.reloading;
  return lookup();
}

/** The JSON Web Key Set: every key whose tokens may still be alive. */
export async function publishedKeys(deps: KeyDeps): Promise<{ keys: JWK[] }> {
  await signingKey(deps);
  const rows = await deps.db
    .select()
    .from(signingKeys)
    .where(publishedWhere())
    .orderBy(desc(signingKeys.createdAt));
  return { keys: rows.map((row) => row.publicJwk as JWK) };
}

export interface Rotation {
  kid: string;
  retired: { kid: string; expiresAt: Date }[];
}

/**
 * Rotates the signing key: a new key signs from now on; the previous one stays published and verifies until
 * every token it signed has expired.
 */
export async function rotateSigningKey(deps: KeyDeps): Promise<Rotation> {
  const result = await deps.db.transaction(async (tx) => {
    await tx.execute(LOCK);
    const now = new Date();
    const retired = await tx
      .update(signingKeys)
      .set({ retiredAt: now, expiresAt: new Date(now.getTime() + RETIRED_KEY_GRACE_MS) })
      .where(activeWhere)
      .returning({ kid: signingKeys.kid, expiresAt: signingKeys.expiresAt });
    const [row] = await tx
      .insert(signingKeys)
      .values(await newKeyRow(deps))
      .returning();
    return { kid: row!.kid, retired: retired.map((r) => ({ kid: r.kid, expiresAt: r.expiresAt! })) };
  });
  const cache = deps.signingKeyCache;
  cache.signing = undefined;
  // The retired keys verify until their new expiry; the new key is loaded at its first token, without waiting.
  for (const { kid, expiresAt } of result.retired) {
    const cached = cache.verifying.get(kid);
    if (cached) cached.expiresAt = expiresAt.getTime();
  }
  cache.verifyingLoadedAt = 0;
  return result;
}
