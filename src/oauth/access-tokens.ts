import { and, eq, isNull } from 'drizzle-orm';
import { errors, jwtVerify, SignJWT } from 'jose';
import { apps, grants, oauthRevokedAccessTokens, oauthTokenFamilies } from '../db/schema/index.ts';
import { randomToken } from '../lib/secrets.ts';
import { ACCESS_TOKEN_TTL_SECONDS, type KeyDeps, SIGNING_ALG, signingKey, verificationKey } from './keys.ts';

interface TokenDeps extends KeyDeps {
  config: { publicUrl: string };
}

export interface AccessTokenInput {
  clientId: string;
  /** The user for delegated tokens; absent for an app's own (client_credentials) token. */
  userId?: string;
  scopes: readonly string[];
  /** The token family (one authorization) a delegated token belongs to. */
  familyId?: string;
}

export interface IssuedAccessToken {
  token: string;
  jti: string;
  expiresIn: number;
}

/** The audience of our access tokens: this platform's API. */
export const audienceOf = (publicUrl: string) => publicUrl;

/** Signs an RFC 9068 access token (`typ: at+jwt`) with the current key. */
export async function issueAccessToken(deps: TokenDeps, input: AccessTokenInput): Promise<IssuedAccessToken> {
  const { kid, key } = await signingKey(deps);
  const jti = randomToken('at_', 16);
  const now = Math.floor(Date.now() / 1000);
  const token = await new SignJWT({
    client_id: input.clientId,
    scope: input.scopes.join(' '),
    ...(input.familyId ? { sid: input.familyId } : {}),
  })
    .setProtectedHeader({ alg: SIGNING_ALG, kid, typ: 'at+jwt' })
    .setIssuer(deps.config.publicUrl)
    .setSubject(input.userId ?? input.clientId)
    .setAudience(audienceOf(deps.config.publicUrl))
    .setIssuedAt(now)
    .setExpirationTime(now + ACCESS_TOKEN_TTL_SECONDS)
    .setJti(jti)
    .sign(key);
  return { token, jti, expiresIn: ACCESS_TOKEN_TTL_SECONDS };
}

export interface AccessContext {
  kind: 'user' | 'app';
  appId: string;
  clientId: string;
  userId?: string;
  grantId?: string;
  /** The token's scopes still covered by the live grant (all of the token's for an app token). */
  scopes: string[];
  jti: string;
  issuedAt: number;
  expiresAt: number;
  audience: string;
}

export type AccessRefusal = 'malformed' | 'expired' | 'invalid' | 'revoked';

/**
 * Verifies an access token's signature and claims with jose, then checks the database: the app is active,
 * the token was not revoked and (for a user's token) its authorization and grant are still live. So a
 * revocation takes effect on the very next request, not when the JWT expires.
 */
export async function checkAccessToken(
  deps: TokenDeps,
  token: string,
): Promise<{ ok: true; access: AccessContext } | { ok: false; reason: AccessRefusal }> {
  let payload: Record<string, unknown>;
  try {
    const verified = await jwtVerify(
      token,
      async (header) => {
        const key = header.kid ? await verificationKey(deps, header.kid) : undefined;
        if (!key) throw new errors.JWKSNoMatchingKey();
        return key;
      },
      {
        issuer: deps.config.publicUrl,
        audience: audienceOf(deps.config.publicUrl),
        typ: 'at+jwt',
        algorithms: [SIGNING_ALG],
        requiredClaims: ['exp', 'iat', 'jti', 'sub', 'client_id'],
      },
    );
    payload = verified.payload as Record<string, unknown>;
  } catch (error) {
    if (error instanceof errors.JWTExpired) return { ok: false, reason: 'expired' };
    if (error instanceof errors.JOSEError) return { ok: false, reason: 'invalid' };
    if (error instanceof TypeError) return { ok: false, reason: 'malformed' };
    throw error;
  }
  const clientId = String(payload.client_id);
  const jti = String(payload.jti);
  const scopes = typeof payload.scope === 'string' && payload.scope ? payload.scope.split(' ') : [];
  const familyId = typeof payload.sid === 'string' ? payload.sid : undefined;

  // One round trip: the app, any revocation of this token, and (for a user's token) its family and grant.
  const [row] = await deps.db
    .select({
      appId: apps.id,
      appStatus: apps.status,
      revokedJti: oauthRevokedAccessTokens.jti,
      userId: oauthTokenFamilies.userId,
      grantId: grants.id,
      grantScopes: grants.scopes,
    })
    .from(apps)
    .leftJoin(oauthRevokedAccessTokens, eq(oauthRevokedAccessTokens.jti, jti))
    .leftJoin(
      oauthTokenFamilies,
      and(
        eq(oauthTokenFamilies.id, familyId ?? ''),
        eq(oauthTokenFamilies.appId, apps.id),
        isNull(oauthTokenFamilies.revokedAt),
      ),
    )
    .leftJoin(grants, and(eq(grants.id, oauthTokenFamilies.grantId), isNull(grants.revokedAt)))
    .where(eq(apps.clientId, clientId));
  if (row?.appStatus !== 'active' || row.revokedJti) return { ok: false, reason: 'revoked' };
  const app = { id: row.appId };

  const base = {
    appId: app.id,
    clientId,
    jti,
    issuedAt: Number(payload.iat),
    expiresAt: Number(payload.exp),
    audience: audienceOf(deps.config.publicUrl),
  };
  if (!familyId) {
    if (payload.sub !== clientId) return { ok: false, reason: 'invalid' };
    return { ok: true, access: { ...base, kind: 'app', scopes } };
  }
  const { userId, grantId, grantScopes } = row;
  if (!grantId || !grantScopes || !userId || userId !== payload.sub) return { ok: false, reason: 'revoked' };
  return {
    ok: true,
    access: {
      ...base,
      kind: 'user',
      userId,
      grantId,
      scopes: scopes.filter((scope) => grantScopes.includes(scope)),
    },
  };
}
