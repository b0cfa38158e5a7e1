import { createHash } from 'node:crypto';
import type { Db } from '../db/client.ts';
import { type AppRow, oauthCodes } from '../db/schema/index.ts';
import { SCOPES } from '../grants/scopes.ts';
import { hashToken, randomToken } from '../lib/secrets.ts';
import { findClient } from './clients.ts';

export const AUTHORIZATION_CODE_TTL_SECONDS = 120;

/** What `/oauth/authorize` receives, in the query (GET) or the form (POST). */
export interface AuthorizeParams {
  response_type?: string | undefined;
  client_id?: string | undefined;
  redirect_uri?: string | undefined;
  scope?: string | undefined;
  state?: string | undefined;
  code_challenge?: string | undefined;
  code_challenge_method?: string | undefined;
}

export const AUTHORIZE_PARAM_NAMES = [
  'response_type',
  'client_id',
  'redirect_uri',
  'scope',
  'state',
  'code_challenge',
  'code_challenge_method',
] as const;

export interface ValidAuthorizeRequest {
  app: AppRow;
  redirectUri: string;
  /** The request named `redirect_uri` (else the app's only registered one is used). */
  redirectUriGiven: boolean;
  scopes: string[];
  state: string | undefined;
  codeChallenge: string;
}

export type AuthorizeCheck =
  /** The client or redirect URI cannot be trusted: show an error page, never redirect (RFC 6749 §4.1.2.1). */
  | { kind: 'page'; title: string; message: string }
  /** A trusted redirect URI exists: the error goes back to the app. */
  | { kind: 'redirect'; url: string }
  | { kind: 'ok'; request: ValidAuthorizeRequest };

/** The redirect back to the app with `params`, `state` and the RFC 9207 `iss`. */
export function redirectTo(
  redirectUri: string,
  params: Record<string, string>,
  state: string | undefined,
  issuer: string,
): string {
  const url = new URL(redirectUri);
  for (const [name, value] of Object.entries(params)) url.searchParams.set(name, value);
  if (state !== undefined) url.searchParams.set('state', state);
  url.searchParams.set('iss', issuer);
  return url.toString();
}

const CHALLENGE = /^[A-Za-z0-9_-]{43}$/;

/** Validates an authorization request in the order RFC 6749 requires (client and redirect URI first). */
export async function checkAuthorizeRequest(
  db: Db,
  params: AuthorizeParams,
  issuer: string,
): Promise<AuthorizeCheck> {
  if (!params.client_id)
    return { kind: 'page', title: 'Missing client', message: 'The request names no client_id.' };
  const app = await findClient(db, params.client_id);
  if (!app) return { kind: 'page', title: 'Unknown app', message: 'No active app has this client_id.' };
  let redirectUri = params.redirect_uri;
  if (redirectUri === undefined) {
    if (app.redirectUris.length !== 1) {
      return {
        kind: 'page',
        title: 'Missing redirect URI',
        message: 'This app registered several redirect URIs; the request must name one.',
      };
    }
    redirectUri = app.redirectUris[0]!;
  }
  if (!app.redirectUris.includes(redirectUri)) {
    return {
      kind: 'page',
      title: 'Redirect URI not registered',
      message:
        'The redirect_uri does not exactly match any URI this app registered, so we will not send you there.',
    };
  }
  const state = params.state;
  const fail = (error: string, description: string): AuthorizeCheck => ({
    kind: 'redirect',
    url: redirectTo(redirectUri, { error, error_description: description }, state, issuer),
  });
  if (params.response_type !== 'code')
    return fail('unsupported_response_type', 'response_type must be "code".');
  if (!params.code_challenge)
    return fail('invalid_request', 'PKCE is required: send code_challenge with code_challenge_method=S256.');
  if (params.code_challenge_method !== 'S256')
    return fail('invalid_request', 'code_challenge_method must be S256 (plain is not accepted).');
  if (!CHALLENGE.test(params.code_challenge))
    return fail('invalid_request', 'code_challenge must be a base64url SHA-256 (43 characters).');
  const scopes = [...new Set((params.scope ?? '').split(' ').filter(Boolean))];
  if (scopes.length === 0)
    return fail('invalid_scope', `Name the scopes requested (any of: ${app.scopes.join(' ')}).`);
  const unknown = scopes.filter(
    (scope) => !(SCOPES as readonly string[]).includes(scope) || !app.scopes.includes(scope),
  );
  if (unknown.length > 0)
    return fail('invalid_scope', `Scopes not registered by this app: ${unknown.join(' ')}.`);
  return {
    kind: 'ok',
    request: {
      app,
      redirectUri,
      redirectUriGiven: params.redirect_uri !== undefined,
      scopes,
      state,
      codeChallenge: params.code_challenge,
    },
  };
}

/** Issues a single-use authorization code bound to the client, redirect URI, scopes and PKCE challenge. */
export async function issueAuthorizationCode(
  db: Db,
  input: { request: ValidAuthorizeRequest; userId: string; grantId: string },
): Promise<string> {
  const code = randomToken('ac_');
  const now = Date.now();
  await db.insert(oauthCodes).values({
    codeHash: hashToken(code),
    appId: input.request.app.id,
    userId: input.userId,
    grantId: input.grantId,
    redirectUri: input.request.redirectUri,
    redirectUriGiven: input.request.redirectUriGiven,
    scopes: input.request.scopes,
    codeChallenge: input.request.codeChallenge,
    createdAt: new Date(now),
    expiresAt: new Date(now + AUTHORIZATION_CODE_TTL_SECONDS * 1000),
  });
  return code;
}

/** RFC 7636 S256: BASE64URL(SHA256(code_verifier)). */
export const s256 = (verifier: string) => createHash('sha256').update(verifier).digest('base64url');
