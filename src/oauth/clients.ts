import { eq } from 'drizzle-orm';
import type { Executor } from '../db/client.ts';
import { type AppRow, apps } from '../db/schema/index.ts';
import type { Deps } from '../deps.ts';
import { AppError } from '../errors.ts';
import { hashToken, safeEqual } from '../lib/secrets.ts';
import { OAuthError } from './errors.ts';

export interface ClientCredentials {
  /** The `Authorization` header, if any. */
  authorization: string | undefined;
  /** `client_id` / `client_secret` from the form body, if any. */
  clientId: string | undefined;
  clientSecret: string | undefined;
}

export type ClientAuthMethod = 'client_secret_basic' | 'client_secret_post';

/** RFC 6749 §2.3.1: Basic credentials are form-urlencoded before base64. */
function parseBasic(header: string): { id: string; secret: string } | undefined {
  const [scheme, value] = header.split(' ', 2);
  if (scheme?.toLowerCase() !== 'basic' || !value) return undefined;
  const decoded = Buffer.from(value.trim(), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  const formDecode = (part: string) => {
    try {
      return decodeURIComponent(part.replace(/\+/g, ' '));
    } catch {
      return part;
    }
  };
  return { id: formDecode(decoded.slice(0, colon)), secret: formDecode(decoded.slice(colon + 1)) };
}

/**
 * Authenticates an app at the token, revocation or introspection endpoint with `client_secret_basic` or
 * `client_secret_post` (exactly one). A disabled app cannot authenticate.
 */
export async function authenticateClient(
  db: Executor,
  credentials: ClientCredentials,
): Promise<{ app: AppRow; method: ClientAuthMethod }> {
  const basic = credentials.authorization ? parseBasic(credentials.authorization) : undefined;
  if (credentials.authorization && !basic) {
    throw new OAuthError(
      'invalid_client',
      'Unsupported Authorization scheme; use HTTP Basic client credentials.',
    );
  }
  if (basic && credentials.clientSecret !== undefined) {
    throw new OAuthError('invalid_request', 'Use one client authentication method, not both.');
  }
  const method: ClientAuthMethod = basic ? 'client_secret_basic' : 'client_secret_post';
  const id = basic?.id ?? credentials.clientId;
  const secret = basic?.secret ?? credentials.clientSecret;
  if (!id || !secret) {
    throw new OAuthError(
      'invalid_client',
      'Client authentication is required (client_secret_basic or client_secret_post).',
    );
  }
  if (basic && credentials.clientId !== undefined && credentials.clientId !== id) {
    throw new OAuthError('invalid_request', 'client_id in the body does not match the authenticated client.');
  }
  // Postgres refuses text with a NUL byte: such an id cannot be a client's, and must not become a server error.
  const [app] = id.includes('\u0000') ? [] : await db.select().from(apps).where(eq(apps.clientId, id));
  const ok = app !== undefined && safeEqual(hashToken(secret), app.clientSecretHash);
  if (!app || !ok || app.status !== 'active') {
    throw new OAuthError('invalid_client', 'Unknown client or wrong client secret.');
  }
  return { app, method };
}

/**
 * `authenticateClient` under the limit of failed client authentications per client address
 * (`CLIENT_SECRET_FAILURES_PER_IP` per `AUTH_FAILURE_WINDOW_SECONDS`): each failure is counted, and past the
 * limit refused with `retryAfter` (seconds to wait). A correct secret is always accepted, so nobody sharing
 * an address (a NAT, a proxy) can lock an app out.
 */
export async function authenticateClientFrom(
  deps: Pick<Deps, 'db' | 'limiters'>,
  address: string,
  credentials: ClientCredentials,
): Promise<{ app: AppRow; method: ClientAuthMethod }> {
  try {
    return await authenticateClient(deps.db, credentials);
  } catch (error) {
    if (!(error instanceof OAuthError) || error.error !== 'invalid_client') throw error;
    try {
      await deps.limiters.clientSecretFailures.consume(address);
    } catch (limited) {
      if (!(limited instanceof AppError) || limited.code !== 'rate_limited') throw limited;
      throw new OAuthError('invalid_client', limited.message, {
        retryAfter: Number(limited.extra?.retry_after ?? 60),
      });
    }
    throw error;
  }
}

/** The app whose public `client_id` this is, if it exists and is active. */
export async function findClient(db: Executor, clientId: string): Promise<AppRow | undefined> {
  if (clientId.includes('\u0000')) return undefined;
  const [app] = await db.select().from(apps).where(eq(apps.clientId, clientId));
  return app?.status === 'active' ? app : undefined;
}
