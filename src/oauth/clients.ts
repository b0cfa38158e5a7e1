import { eq } from 'drizzle-orm';
import type { Executor } from '../db/client.ts';
import { type AppRow, apps } from '../db/schema/index.ts';
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
  // Postgres refuses text with a NUL byte: such an id cannot be a client's, and must not become a 500.
  const [app] = id.includes('\u0000') ? [] : await db.select().from(apps).where(eq(apps.clientId, id));
  const ok = app !== undefined && safeEqual(hashToken(secret), app.clientSecretHash);
  if (!app || !ok || app.status !== 'active') {
    throw new OAuthError('invalid_client', 'Unknown client or wrong client secret.');
  }
  return { app, method };
}

/** The app whose public `client_id` this is, if it exists and is active. */
export async function findClient(db: Executor, clientId: string): Promise<AppRow | undefined> {
  if (clientId.includes('\u0000')) return undefined;
  const [app] = await db.select().from(apps).where(eq(apps.clientId, clientId));
  return app?.status === 'active' ? app : undefined;
}
