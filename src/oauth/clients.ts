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

interface PresentedClient {
  method: ClientAuthMethod;
  id: string;
  secret: string;
}

/** The client credentials a request presents, by exactly one method; `OAuthError` when malformed or missing. */
function presentedClient(credentials: ClientCredentials): PresentedClient {
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
  return { method, id, secret };
}

async function verifyClient(db: Executor, presented: PresentedClient): Promise<AppRow> {
  const { id, secret } = presented;
  // Postgres refuses text with a NUL byte: such an id cannot be a client's, and must not become a server error.
  const [app] = id.includes('\u0000') ? [] : await db.select().from(apps).where(eq(apps.clientId, id));
  const ok = app !== undefined && safeEqual(hashToken(secret), app.clientSecretHash);
  if (!app || !ok || app.status !== 'active') {
    throw new OAuthError('invalid_client', 'Unknown client or wrong client secret.');
  }
  return app;
}

const isInvalidClient = (error: unknown) => error instanceof OAuthError && error.error === 'invalid_client';

/**
 * Authenticates an app at the token, revocation or introspection endpoint with `client_secret_basic` or
 * `client_secret_post` (exactly one), under the limit of failed client authentications per client address
 * (`CLIENT_SECRET_FAILURES_PER_IP` per `AUTH_FAILURE_WINDOW_SECONDS`). Each failure is counted; once the
 * address is over the limit, a secret is checked only if it passed its check recently (from anywhere), any
 * other is refused before the client is even read, with `retryAfter` (seconds to wait). So a working app
 * behind a shared address (a NAT, a proxy) is not locked out, and a guess is not confirmed. A disabled app
 * cannot authenticate.
 */
export async function authenticateClientFrom(
  deps: Pick<Deps, 'db' | 'limiters'>,
  address: string,
  credentials: ClientCredentials,
): Promise<{ app: AppRow; method: ClientAuthMethod }> {
  let presented: PresentedClient | undefined;
  let malformed: unknown;
  try {
    presented = presentedClient(credentials);
  } catch (error) {
    malformed = error;
  }
  try {
    return await deps.limiters.clientSecretFailures.check({
      address,
      // Identified by client and secret together: a secret that worked for one client vouches for no other.
      credential: presented && `${presented.id}\n${hashToken(presented.secret)}`,
      isFailure: isInvalidClient,
      verify: async () => {
        if (!presented) throw malformed;
        return { app: await verifyClient(deps.db, presented), method: presented.method };
      },
    });
  } catch (limited) {
    if (!(limited instanceof AppError) || limited.code !== 'rate_limited') throw limited;
    throw new OAuthError('invalid_client', limited.message, {
      retryAfter: Number(limited.extra?.retry_after ?? 60),
    });
  }
}

/** The app whose public `client_id` this is, if it exists and is active. */
export async function findClient(db: Executor, clientId: string): Promise<AppRow | undefined> {
  if (clientId.includes('\u0000')) return undefined;
  const [app] = await db.select().from(apps).where(eq(apps.clientId, clientId));
  return app?.status === 'active' ? app : undefined;
}
