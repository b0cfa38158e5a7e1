import { and, eq, isNull } from 'drizzle-orm';
import { decodeJwt } from 'jose';
import type { Executor } from '../db/client.ts';
import {
  type AppRow,
  grants,
  oauthCodes,
  oauthRefreshTokens,
  oauthRevokedAccessTokens,
  oauthTokenFamilies,
} from '../db/schema/index.ts';
import { AppError } from '../errors.ts';
import { revokeGrant } from '../grants/grants.ts';
import { newId } from '../lib/ids.ts';
import { hashToken, randomToken, safeEqual } from '../lib/secrets.ts';
import { checkAccessToken, issueAccessToken } from './access-tokens.ts';
import { s256 } from './authorize.ts';
import { OAuthError } from './errors.ts';
import type { KeyDeps } from './keys.ts';

export const REFRESH_TOKEN_TTL_SECONDS = 30 * 24 * 60 * 60;

interface OAuthDeps extends KeyDeps {
  config: { publicUrl: string; secretsKey: string };
}

/** The RFC 6749 §5.1 success body. */
export interface TokenResponse {
  access_token: string;
  token_type: 'Bearer';
  expires_in: number;
  scope: string;
  refresh_token?: string;
}

const VERIFIER = /^[A-Za-z0-9._~-]{43,128}$/;

async function revokeFamily(db: Executor, where: ReturnType<typeof eq>, reason: string) {
  await db
    .update(oauthTokenFamilies)
    .set({ revokedAt: new Date(), revokedReason: reason })
    .where(and(where, isNull(oauthTokenFamilies.revokedAt)));
}

async function newRefreshToken(db: Executor, familyId: string, scopes: string[]) {
  const token = randomToken('rt_');
  const now = Date.now();
  await db.insert(oauthRefreshTokens).values({
    tokenHash: hashToken(token),
    familyId,
    scopes,
    createdAt: new Date(now),
    expiresAt: new Date(now + REFRESH_TOKEN_TTL_SECONDS * 1000),
  });
  return token;
}

const liveGrant = async (db: Executor, grantId: string) => {
  const [grant] = await db
    .select()
    .from(grants)
    .where(and(eq(grants.id, grantId), isNull(grants.revokedAt)));
  return grant;
};

/**
 * `authorization_code`: exchanges a code once. A second presentation of the same code is treated as theft
 * (RFC 6749 §4.1.2): it fails and revokes every token issued from the first exchange.
 */
export async function exchangeAuthorizationCode(
  deps: OAuthDeps,
  app: AppRow,
  input: { code?: string | undefined; redirectUri?: string | undefined; codeVerifier?: string | undefined },
): Promise<TokenResponse> {
  if (!input.code) throw new OAuthError('invalid_request', 'code is required.');
  if (!input.codeVerifier) throw new OAuthError('invalid_request', 'code_verifier is required (PKCE).');
  if (!VERIFIER.test(input.codeVerifier))
    throw new OAuthError('invalid_request', 'code_verifier must be 43 to 128 unreserved characters.');
  const codeHash = hashToken(input.code);
  const [row] = await deps.db.select().from(oauthCodes).where(eq(oauthCodes.codeHash, codeHash));
  if (!row || row.appId !== app.id) throw new OAuthError('invalid_grant', 'Unknown authorization code.');

  const replayed = async () => {
    await revokeFamily(deps.db, eq(oauthTokenFamilies.codeHash, codeHash), 'code_replayed');
    return new OAuthError(
      'invalid_grant',
      'This authorization code was already used; the tokens issued for it are revoked.',
    );
  };
  if (row.usedAt) throw await replayed();
  if (row.expiresAt.getTime() <= Date.now())
    throw new OAuthError('invalid_grant', 'The authorization code has expired.');
  // RFC 6749 §4.1.3: required (and identical) when the authorization request named it; if it did not, an
  // absent redirect_uri is fine, and a present one must still be the one the code went to.
  const redirectOk =
    input.redirectUri === undefined ? !row.redirectUriGiven : input.redirectUri === row.redirectUri;
  if (!redirectOk)
    throw new OAuthError('invalid_grant', 'redirect_uri does not match the one used to obtain the code.');

  const result = await deps.db.transaction(async (tx) => {
    const [claimed] = await tx
      .update(oauthCodes)
      .set({ usedAt: new Date() })
      .where(and(eq(oauthCodes.codeHash, codeHash), isNull(oauthCodes.usedAt)))
      .returning();
    if (!claimed) return 'replayed' as const;
    // The code is spent from here, whatever follows: a wrong verifier must not leave it usable.
    if (!safeEqual(s256(input.codeVerifier!), claimed.codeChallenge)) return 'bad_verifier' as const;
    const grant = await liveGrant(tx, claimed.grantId);
    if (!grant) return 'no_grant' as const;
    const familyId = newId('oaf');
    await tx.insert(oauthTokenFamilies).values({
      id: familyId,
      appId: app.id,
      userId: claimed.userId,
      grantId: grant.id,
      codeHash,
      scopes: claimed.scopes,
    });
    const refreshToken = await newRefreshToken(tx, familyId, claimed.scopes);
    // The user may have narrowed the grant since consenting: the access token carries only what it holds now
    // (as on refresh); the refresh token keeps the consented scopes, narrowed again at each use.
    const scopes = claimed.scopes.filter((scope) => grant.scopes.includes(scope));
    return { familyId, refreshToken, userId: claimed.userId, scopes };
  });
  if (result === 'replayed') throw await replayed();
  if (result === 'bad_verifier')
    throw new OAuthError('invalid_grant', 'code_verifier does not match the code_challenge.');
  if (result === 'no_grant') throw new OAuthError('invalid_grant', "The user has revoked this app's access.");

  const access = await issueAccessToken(deps, {
    clientId: app.clientId,
    userId: result.userId,
    scopes: result.scopes,
    familyId: result.familyId,
  });
  return {
    access_token: access.token,
    token_type: 'Bearer',
    expires_in: access.expiresIn,
    scope: result.scopes.join(' '),
    refresh_token: result.refreshToken,
  };
}

/** The requested scopes, or undefined when none are named: RFC 6749 §6 treats an empty `scope` as omitted. */
const parseScope = (scope: string | undefined) => {
  const named = [...new Set((scope ?? '').split(' ').filter(Boolean))];
  return named.length > 0 ? named : undefined;
};

/**
 * `refresh_token`: rotates the refresh token (the old one is spent) and issues a new access token, optionally
 * narrowed to fewer scopes. Presenting a spent refresh token revokes its whole family (RFC 9700 §4.14.2).
 */
export async function refreshAccessToken(
  deps: OAuthDeps,
  app: AppRow,
  input: { refreshToken?: string | undefined; scope?: string | undefined },
): Promise<TokenResponse> {
  if (!input.refreshToken) throw new OAuthError('invalid_request', 'refresh_token is required.');
  const tokenHash = hashToken(input.refreshToken);
  const [row] = await deps.db
    .select({ token: oauthRefreshTokens, family: oauthTokenFamilies })
    .from(oauthRefreshTokens)
    .innerJoin(oauthTokenFamilies, eq(oauthTokenFamilies.id, oauthRefreshTokens.familyId))
    .where(eq(oauthRefreshTokens.tokenHash, tokenHash));
  if (!row || row.family.appId !== app.id) throw new OAuthError('invalid_grant', 'Unknown refresh token.');
  const reused = async () => {
    await revokeFamily(deps.db, eq(oauthTokenFamilies.id, row.family.id), 'refresh_token_reused');
    return new OAuthError(
      'invalid_grant',
      'This refresh token was already used; the authorization is revoked.',
    );
  };
  if (row.token.usedAt) throw await reused();
  if (row.family.revokedAt) throw new OAuthError('invalid_grant', 'The authorization was revoked.');
  if (row.token.expiresAt.getTime() <= Date.now())
    throw new OAuthError('invalid_grant', 'The refresh token has expired.');

  const requested = parseScope(input.scope);
  if (requested?.some((scope) => !row.token.scopes.includes(scope))) {
    throw new OAuthError('invalid_scope', 'A refresh can only keep or narrow the scopes originally granted.');
  }
  const result = await deps.db.transaction(async (tx) => {
    const [spent] = await tx
      .update(oauthRefreshTokens)
      .set({ usedAt: new Date() })
      .where(and(eq(oauthRefreshTokens.tokenHash, tokenHash), isNull(oauthRefreshTokens.usedAt)))
      .returning();
    if (!spent) return 'reused' as const;
    const grant = await liveGrant(tx, row.family.grantId);
    if (!grant) return 'no_grant' as const;
    const scopes = (requested ?? row.token.scopes).filter((scope) => grant.scopes.includes(scope));
    return { scopes, refreshToken: await newRefreshToken(tx, row.family.id, row.token.scopes) };
  });
  if (result === 'reused') throw await reused();
  if (result === 'no_grant') throw new OAuthError('invalid_grant', "The user has revoked this app's access.");
  const access = await issueAccessToken(deps, {
    clientId: app.clientId,
    userId: row.family.userId,
    scopes: result.scopes,
    familyId: row.family.id,
  });
  return {
    access_token: access.token,
    token_type: 'Bearer',
    expires_in: access.expiresIn,
    scope: result.scopes.join(' '),
    refresh_token: result.refreshToken,
  };
}

/** `client_credentials`: the app's own token (no user), for its triggers and deliveries. */
export async function clientCredentialsToken(
  deps: OAuthDeps,
  app: AppRow,
  input: { scope?: string | undefined },
): Promise<TokenResponse> {
  const requested = parseScope(input.scope);
  const unknown = (requested ?? []).filter((scope) => !app.scopes.includes(scope));
  if (unknown.length > 0)
    throw new OAuthError('invalid_scope', `Scopes not registered by this app: ${unknown.join(' ')}.`);
  const scopes = requested && requested.length > 0 ? requested : app.scopes;
  const access = await issueAccessToken(deps, { clientId: app.clientId, scopes });
  return {
    access_token: access.token,
    token_type: 'Bearer',
    expires_in: access.expiresIn,
    scope: scopes.join(' '),
  };
}

/**
 * RFC 7009 revocation. A refresh token stands for the app's whole connection to the user, so revoking it
 * revokes the user's grant to the app (as `DELETE /v1/me/grants/{app_id}` does: every token of the app for that
 * user is refused at once, the consent history records it, a `grant.revoked` delivery is queued). An access
 * token is revoked alone. Unknown tokens, or another client's, are ignored.
 */
export async function revokeToken(deps: OAuthDeps, app: AppRow, token: string): Promise<void> {
  const [refresh] = await deps.db
    .select({ family: oauthTokenFamilies })
    .from(oauthRefreshTokens)
    .innerJoin(oauthTokenFamilies, eq(oauthTokenFamilies.id, oauthRefreshTokens.familyId))
    .where(eq(oauthRefreshTokens.tokenHash, hashToken(token)));
  if (refresh) {
    const { family } = refresh;
    if (family.appId !== app.id || family.revokedAt) return;
    if (await liveGrant(deps.db, family.grantId)) {
      try {
        await revokeGrant(deps, { userId: family.userId, appId: app.id, source: 'oauth_revoke' });
        return;
      } catch (error) {
        // Revoked concurrently by the user: the family is revoked below all the same.
        if (!(error instanceof AppError && error.code === 'not_found')) throw error;
      }
    }
    await revokeFamily(deps.db, eq(oauthTokenFamilies.id, family.id), 'revoked_by_client');
    return;
  }
  const checked = await checkAccessToken(deps, token);
  if (!checked.ok || checked.access.clientId !== app.clientId) return;
  await deps.db
    .insert(oauthRevokedAccessTokens)
    .values({ jti: checked.access.jti, expiresAt: new Date(checked.access.expiresAt * 1000) })
    .onConflictDoNothing();
}

export type Introspection = { active: false } | ({ active: true } & Record<string, unknown>);

/**
 * RFC 7662 introspection for the authenticated client's own tokens: active only while the token is unexpired,
 * unrevoked and its grant is live. Other clients' tokens read as inactive.
 */
export async function introspectToken(deps: OAuthDeps, app: AppRow, token: string): Promise<Introspection> {
  const [refresh] = await deps.db
    .select({ token: oauthRefreshTokens, family: oauthTokenFamilies })
    .from(oauthRefreshTokens)
    .innerJoin(oauthTokenFamilies, eq(oauthTokenFamilies.id, oauthRefreshTokens.familyId))
    .where(eq(oauthRefreshTokens.tokenHash, hashToken(token)));
  if (refresh) {
    const grant =
      refresh.family.appId === app.id &&
      !refresh.token.usedAt &&
      !refresh.family.revokedAt &&
      refresh.token.expiresAt.getTime() > Date.now()
        ? await liveGrant(deps.db, refresh.family.grantId)
        : undefined;
    if (!grant) return { active: false };
    return {
      active: true,
      // What a refresh would yield now: the token's scopes the user still grants (as for access tokens).
      scope: refresh.token.scopes.filter((scope) => grant.scopes.includes(scope)).join(' '),
      client_id: app.clientId,
      sub: refresh.family.userId,
      iss: deps.config.publicUrl,
      iat: Math.floor(refresh.token.createdAt.getTime() / 1000),
      exp: Math.floor(refresh.token.expiresAt.getTime() / 1000),
      token_type: 'refresh_token',
    };
  }
  if (!looksLikeJwt(token)) return { active: false };
  const checked = await checkAccessToken(deps, token);
  if (!checked.ok || checked.access.clientId !== app.clientId) return { active: false };
  const { access } = checked;
  return {
    active: true,
    scope: access.scopes.join(' '),
    client_id: access.clientId,
    sub: access.userId ?? access.clientId,
    aud: access.audience,
    iss: deps.config.publicUrl,
    iat: access.issuedAt,
    exp: access.expiresAt,
    jti: access.jti,
    token_type: 'Bearer',
  };
}

function looksLikeJwt(token: string): boolean {
  try {
    decodeJwt(token);
    return true;
  } catch {
    return false;
  }
}
