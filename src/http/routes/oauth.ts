import { createRoute, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import type { AppRow } from '../../db/schema/index.ts';
import { grantApp } from '../../grants/grants.ts';
import { SCOPES } from '../../grants/scopes.ts';
import {
  AUTHORIZE_PARAM_NAMES,
  type AuthorizeParams,
  checkAuthorizeRequest,
  issueAuthorizationCode,
  redirectTo,
  type ValidAuthorizeRequest,
} from '../../oauth/authorize.ts';
import { authenticateClientFrom, type ClientAuthMethod } from '../../oauth/clients.ts';
import { OAuthError } from '../../oauth/errors.ts';
import { publishedKeys, rotateSigningKey } from '../../oauth/keys.ts';
import {
  clientCredentialsToken,
  exchangeAuthorizationCode,
  introspectToken,
  refreshAccessToken,
  revokeToken,
} from '../../oauth/token.ts';
import { type ConsentBinding, consentCsrfToken, redeemConsentCsrf } from '../../sessions/csrf.ts';
import { render } from '../../web/render.tsx';
import { clientAddress } from '../client-address.ts';
import type { AppEnv } from '../env.ts';
import { requireAdmin } from '../middleware/admin.ts';
import { fromOwnOrigin } from '../middleware/same-origin.ts';
import { optionalUser } from '../middleware/user-auth.ts';
import { oauthErrorResponse, oauthProblem } from '../oauth-problem.ts';
import { createRouter } from '../router.ts';
import { errorResponses, jsonResponse, Timestamp } from '../schemas.ts';

const form = (schema: z.ZodType) => ({
  required: true,
  content: { 'application/x-www-form-urlencoded': { schema } },
});

const ClientAuthFields = {
  client_id: z.string().optional().openapi({ description: 'With client_secret_post' }),
  client_secret: z.string().optional().openapi({ description: 'With client_secret_post' }),
};

function noStore(c: Context<AppEnv>) {
  c.header('cache-control', 'no-store');
  c.header('pragma', 'no-cache');
}

/** Reads a form body into strings (repeated or file fields are refused as malformed). */
async function readForm(c: Context<AppEnv>): Promise<Record<string, string>> {
  const type = c.req.header('content-type') ?? '';
  if (!type.toLowerCase().startsWith('application/x-www-form-urlencoded')) {
    throw new OAuthError('invalid_request', 'Send the parameters as application/x-www-form-urlencoded.');
  }
  const params = new URLSearchParams(await c.req.text());
  const fields: Record<string, string> = {};
  for (const [name, value] of params) {
    if (name in fields) throw new OAuthError('invalid_request', `Parameter "${name}" is repeated.`);
    fields[name] = value;
  }
  return fields;
}

/**
 * Runs a token-side endpoint: OAuth errors become RFC 6749 §5.2 JSON (401 + WWW-Authenticate for client
 * authentication failures); anything unexpected is logged and answered `server_error`, never problem+json.
 */
async function oauthEndpoint(
  c: Context<AppEnv>,
  run: (fields: Record<string, string>, client: () => Promise<AppRow>) => Promise<Response>,
): Promise<Response> {
  noStore(c);
  let method: ClientAuthMethod | undefined;
  try {
    const fields = await readForm(c);
    const client = async () => {
      const authenticated = await authenticateClientFrom(c.get('deps'), clientAddress(c), {
        authorization: c.req.header('authorization'),
        clientId: fields.client_id,
        clientSecret: fields.client_secret,
      });
      method = authenticated.method;
      return authenticated.app;
    };
    return await run(fields, client);
  } catch (error) {
    if (error instanceof OAuthError) return oauthProblem(c, error);
    c.get('deps').logger.error(
      {
        request_id: c.get('requestId'),
        err: { name: (error as Error).name, message: (error as Error).message },
        method,
      },
      'oauth endpoint failed',
    );
    return c.json(
      { error: 'server_error', error_description: 'Something went wrong on our side; it has been logged.' },
      500,
    );
  }
}

export const oauthRouter = createRouter();

oauthRouter.openapi(
  createRoute({
    method: 'get',
    path: '/.well-known/oauth-authorization-server',
    tags: ['OAuth 2.0'],
    summary: 'Authorization server metadata (RFC 8414)',
    responses: { 200: jsonResponse(z.record(z.string(), z.unknown()), 'The metadata') },
  }),
  (c) => {
    const issuer = c.get('deps').config.publicUrl;
    const authMethods = ['client_secret_basic', 'client_secret_post'];
    c.header('cache-control', 'public, max-age=300');
    return c.json(
      {
        issuer,
        authorization_endpoint: `${issuer}/oauth/authorize`,
        token_endpoint: `${issuer}/oauth/token`,
        jwks_uri: `${issuer}/.well-known/jwks.json`,
        revocation_endpoint: `${issuer}/oauth/revoke`,
        introspection_endpoint: `${issuer}/oauth/introspect`,
        scopes_supported: [...SCOPES],
        response_types_supported: ['code'],
        response_modes_supported: ['query'],
        grant_types_supported: ['authorization_code', 'refresh_token', 'client_credentials'],
        token_endpoint_auth_methods_supported: authMethods,
        revocation_endpoint_auth_methods_supported: authMethods,
        introspection_endpoint_auth_methods_supported: authMethods,
        code_challenge_methods_supported: ['S256'],
        authorization_response_iss_parameter_supported: true,
        service_documentation: `${issuer}/docs`,
      },
      200,
    );
  },
);

oauthRouter.openapi(
  createRoute({
    method: 'get',
    path: '/.well-known/jwks.json',
    tags: ['OAuth 2.0'],
    summary: 'Keys that verify access tokens (JWKS)',
    description:
      'ES256 public keys. After a rotation the previous key stays here until every token it signed has expired.',
    responses: {
      200: jsonResponse(
        z.object({ keys: z.array(z.record(z.string(), z.unknown())) }).openapi('JWKS'),
        'The key set',
      ),
    },
  }),
  async (c) => {
    c.header('cache-control', 'public, max-age=60');
    return c.json(await publishedKeys(c.get('deps')), 200);
  },
);

const authorizeQuery = z.object({
  response_type: z.string().optional().openapi({ example: 'code' }),
  client_id: z.string().optional(),
  redirect_uri: z
    .string()
    .optional()
    .openapi({ description: 'Must exactly match a registered redirect URI' }),
  scope: z
    .string()
    .optional()
    .openapi({ description: 'Space-separated scopes, among those the app registered' }),
  state: z.string().optional(),
  code_challenge: z
    .string()
    .optional()
    .openapi({ description: 'BASE64URL(SHA-256(code_verifier)); required' }),
  code_challenge_method: z.string().optional().openapi({ example: 'S256', description: 'Only S256' }),
});

const pickParams = (source: Record<string, unknown>): AuthorizeParams => {
  const params: AuthorizeParams = {};
  for (const name of AUTHORIZE_PARAM_NAMES) {
    const value = source[name];
    if (typeof value === 'string') params[name] = value;
  }
  return params;
};

const pageHeaders = (c: Context<AppEnv>) => {
  c.header('cache-control', 'no-store');
  c.header('x-frame-options', 'DENY');
  c.header(
    'content-security-policy',
    "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
  );
};

const consentBinding = (sessionToken: string, request: ValidAuthorizeRequest): ConsentBinding => ({
  sessionToken,
  clientId: request.app.clientId,
  redirectUri: request.redirectUri,
  scopes: request.scopes,
  codeChallenge: request.codeChallenge,
  state: request.state,
});

const authorizeUrl = (params: AuthorizeParams) => {
  const query = new URLSearchParams(params as Record<string, string>);
  return `/oauth/authorize?${query}`;
};

oauthRouter.openAPIRegistry.registerPath({
  method: 'get',
  path: '/oauth/authorize',
  tags: ['OAuth 2.0'],
  summary: 'Authorization endpoint (consent page)',
  description:
    'Without a session → 302 to `/login?next=…`. With one → an HTML consent page naming the app and each scope ' +
    'in plain words, whose form POSTs back here. An unknown client or a redirect_uri that does not exactly match a ' +
    'registered one → an HTML error page (never a redirect). Other errors redirect to the app with `error`, ' +
    '`error_description`, `state` and `iss`: `unsupported_response_type`, `invalid_request` (PKCE S256 missing, ' +
    'or `plain`), `invalid_scope` (a scope the app did not register).',
  request: { query: authorizeQuery },
  responses: {
    200: { description: 'The consent page', content: { 'text/html': { schema: z.string() } } },
    302: { description: 'To the sign-in page, or back to the app with an error' },
    400: {
      description: 'Error page: unknown client or unregistered redirect URI',
      content: { 'text/html': { schema: z.string() } },
    },
  },
});
oauthRouter.get('/oauth/authorize', async (c) => {
  pageHeaders(c);
  const deps = c.get('deps');
  const params = pickParams(c.req.query());
  const check = await checkAuthorizeRequest(deps.db, params, deps.config.publicUrl);
  if (check.kind === 'page') return c.html(render.error({ title: check.title, message: check.message }), 400);
  if (check.kind === 'redirect') return c.redirect(check.url, 302);
  const signedIn = await optionalUser(c);
  if (!signedIn) return c.redirect(`/login?next=${encodeURIComponent(authorizeUrl(params))}`, 302);
  const { request } = check;
  return c.html(
    render.consent({
      appName: request.app.name,
      email: signedIn.user.email,
      scopes: request.scopes,
      hidden: {
        response_type: 'code',
        client_id: request.app.clientId,
        ...(request.redirectUriGiven ? { redirect_uri: request.redirectUri } : {}),
        scope: request.scopes.join(' '),
        code_challenge: request.codeChallenge,
        code_challenge_method: 'S256',
        ...(request.state !== undefined ? { state: request.state } : {}),
      },
      csrf: consentCsrfToken(deps.config.secretsKey, consentBinding(signedIn.sessionToken, request)),
    }),
  );
});

oauthRouter.openAPIRegistry.registerPath({
  method: 'post',
  path: '/oauth/authorize',
  tags: ['OAuth 2.0'],
  summary: 'The consent decision (form post from the consent page)',
  description:
    'The authorization parameters again, `decision` (`approve` or `deny`) and the page’s `csrf` token (single ' +
    'use, valid an hour, bound to the session and to the client, redirect URI, scopes, PKCE challenge and state ' +
    'the page was shown for). A foreign or `null` `Origin` → 403. Approve creates or extends the grant (recorded in the consent history, `grant.created` ' +
    'webhook) and 303-redirects with a single-use `code` (valid 120 s); deny redirects with `error=access_denied`.',
  request: {
    body: form(authorizeQuery.extend({ decision: z.enum(['approve', 'deny']), csrf: z.string() })),
  },
  responses: {
    303: { description: 'Back to the app with `code` or `error`, and `state` and `iss`' },
    400: { description: 'Error page' },
    403: { description: 'Error page: the form’s CSRF token is wrong or used, or another site sent it' },
  },
});
oauthRouter.post('/oauth/authorize', async (c) => {
  pageHeaders(c);
  const deps = c.get('deps');
  if (!fromOwnOrigin(c)) {
    return c.html(
      render.error({ title: 'Form refused', message: 'This consent form was not sent from our page.' }),
      403,
    );
  }
  const body = await c.req.parseBody().catch(() => ({}) as Record<string, unknown>);
  const params = pickParams(body);
  const check = await checkAuthorizeRequest(deps.db, params, deps.config.publicUrl);
  if (check.kind === 'page') return c.html(render.error({ title: check.title, message: check.message }), 400);
  if (check.kind === 'redirect') return c.redirect(check.url, 303);
  const signedIn = await optionalUser(c);
  if (!signedIn) return c.redirect(`/login?next=${encodeURIComponent(authorizeUrl(params))}`, 303);
  const { request } = check;
  const csrf = typeof body.csrf === 'string' ? body.csrf : '';
  if (!(await redeemConsentCsrf(deps, consentBinding(signedIn.sessionToken, request), csrf))) {
    return c.html(
      render.error({
        title: 'Form expired',
        message:
          'This consent form is not valid for this request or was already used. Start again from the app.',
      }),
      403,
    );
  }
  const issuer = deps.config.publicUrl;
  if (body.decision === 'deny') {
    return c.redirect(
      redirectTo(
        request.redirectUri,
        { error: 'access_denied', error_description: 'The user denied access.' },
        request.state,
        issuer,
      ),
      303,
    );
  }
  if (body.decision !== 'approve') {
    return c.html(render.error({ title: 'No decision', message: 'Choose Allow or Deny.' }), 400);
  }
  const { grant } = await grantApp(deps, {
    userId: signedIn.user.id,
    appId: request.app.id,
    scopes: request.scopes,
    mode: 'add',
    source: 'oauth',
  });
  const code = await issueAuthorizationCode(deps.db, {
    request,
    userId: signedIn.user.id,
    grantId: grant.id,
  });
  return c.redirect(redirectTo(request.redirectUri, { code }, request.state, issuer), 303);
});

const TokenResponse = z
  .object({
    access_token: z.string().openapi({ description: 'An RFC 9068 JWT (`typ: at+jwt`), valid 10 minutes' }),
    token_type: z.literal('Bearer'),
    expires_in: z.number().int(),
    scope: z.string(),
    refresh_token: z
      .string()
      .optional()
      .openapi({ description: 'Authorization code and refresh grants only; single use' }),
  })
  .openapi('TokenResponse');

oauthRouter.openAPIRegistry.registerPath({
  method: 'post',
  path: '/oauth/token',
  tags: ['OAuth 2.0'],
  summary: 'Token endpoint',
  description:
    'Client authentication: `client_secret_basic` or `client_secret_post`. Grants: `authorization_code` (with ' +
    '`code`, `redirect_uri`, `code_verifier`; a code works once, and presenting it again revokes the tokens the ' +
    'first exchange issued), `refresh_token` (rotated on every use; reusing a spent one revokes the whole ' +
    'authorization; `scope` may narrow), `client_credentials` (the app’s own token, no user; `scope` defaults to the ' +
    'app’s registered scopes). Errors are RFC 6749 §5.2 JSON: `invalid_request`, `invalid_client` (401), ' +
    '`invalid_grant`, `unsupported_grant_type`, `invalid_scope`.',
  request: {
    body: form(
      z.object({
        grant_type: z.enum(['authorization_code', 'refresh_token', 'client_credentials']),
        code: z.string().optional(),
        redirect_uri: z.string().optional(),
        code_verifier: z.string().optional(),
        refresh_token: z.string().optional(),
        scope: z.string().optional(),
        ...ClientAuthFields,
      }),
    ),
  },
  responses: {
    200: jsonResponse(TokenResponse, 'Tokens'),
    400: oauthErrorResponse('invalid_request, invalid_grant, unsupported_grant_type or invalid_scope'),
    401: oauthErrorResponse('invalid_client'),
    429: oauthErrorResponse(
      '`invalid_client` after too many failed client authentications from this address (`Retry-After`); a ' +
        'correct secret is still accepted',
    ),
  },
});
oauthRouter.post('/oauth/token', (c) =>
  oauthEndpoint(c, async (fields, client) => {
    const deps = c.get('deps');
    const grantType = fields.grant_type;
    if (!grantType) throw new OAuthError('invalid_request', 'grant_type is required.');
    const known = ['authorization_code', 'refresh_token', 'client_credentials'];
    if (!known.includes(grantType)) {
      await client();
      throw new OAuthError('unsupported_grant_type', `grant_type must be one of ${known.join(', ')}.`);
    }
    const app = await client();
    const tokens =
      grantType === 'authorization_code'
        ? await exchangeAuthorizationCode(deps, app, {
            code: fields.code,
            redirectUri: fields.redirect_uri,
            codeVerifier: fields.code_verifier,
          })
        : grantType === 'refresh_token'
          ? await refreshAccessToken(deps, app, { refreshToken: fields.refresh_token, scope: fields.scope })
          : await clientCredentialsToken(deps, app, { scope: fields.scope });
    return c.json(tokens, 200);
  }),
);

/** The body of revocation (RFC 7009 §2.1) and introspection (RFC 7662 §2.1) requests. */
const TokenReference = z.object({
  token: z.string(),
  token_type_hint: z.enum(['access_token', 'refresh_token']).optional(),
  ...ClientAuthFields,
});

oauthRouter.openAPIRegistry.registerPath({
  method: 'post',
  path: '/oauth/revoke',
  tags: ['OAuth 2.0'],
  summary: 'Token revocation (RFC 7009)',
  description:
    'Client-authenticated. Revoking a refresh token disconnects the app from the user: the user’s grant to the app ' +
    'is revoked (recorded in the consent history with source `oauth_revoke`, and a `grant.revoked` webhook is ' +
    'queued), so every access and refresh token of the app for that user is refused at once. Revoking an access ' +
    'token revokes that token alone. Unknown tokens, or another client’s, still answer 200.',
  request: {
    body: form(TokenReference),
  },
  responses: {
    200: { description: 'Revoked (or nothing to revoke)' },
    400: oauthErrorResponse('invalid_request'),
    401: oauthErrorResponse('invalid_client'),
    429: oauthErrorResponse(
      '`invalid_client` after too many failed client authentications from this address (`Retry-After`); a ' +
        'correct secret is still accepted',
    ),
  },
});
oauthRouter.post('/oauth/revoke', (c) =>
  oauthEndpoint(c, async (fields, client) => {
    const app = await client();
    if (!fields.token) throw new OAuthError('invalid_request', 'token is required.');
    await revokeToken(c.get('deps'), app, fields.token);
    return c.body(null, 200);
  }),
);

const Introspection = z
  .object({
    active: z.boolean(),
    scope: z.string().optional(),
    client_id: z.string().optional(),
    sub: z.string().optional(),
    aud: z.string().optional(),
    iss: z.string().optional(),
    exp: z.number().int().optional(),
    iat: z.number().int().optional(),
    jti: z.string().optional(),
    token_type: z.string().optional(),
  })
  .openapi('Introspection');

oauthRouter.openAPIRegistry.registerPath({
  method: 'post',
  path: '/oauth/introspect',
  tags: ['OAuth 2.0'],
  summary: 'Token introspection (RFC 7662)',
  description:
    'Client-authenticated; a client can introspect only its own tokens (others read `{"active": false}`). A token ' +
    'is active while unexpired and unrevoked and while the user’s grant to the app is live.',
  request: {
    body: form(TokenReference),
  },
  responses: {
    200: jsonResponse(Introspection, 'The token’s state'),
    400: oauthErrorResponse('invalid_request'),
    401: oauthErrorResponse('invalid_client'),
    429: oauthErrorResponse(
      '`invalid_client` after too many failed client authentications from this address (`Retry-After`); a ' +
        'correct secret is still accepted',
    ),
  },
});
oauthRouter.post('/oauth/introspect', (c) =>
  oauthEndpoint(c, async (fields, client) => {
    const app = await client();
    if (!fields.token) throw new OAuthError('invalid_request', 'token is required.');
    return c.json(await introspectToken(c.get('deps'), app, fields.token), 200);
  }),
);

const Rotation = z
  .object({
    kid: z.string().openapi({ description: 'The key that signs from now on' }),
    retired: z.array(z.object({ kid: z.string(), expires_at: Timestamp })).openapi({
      description: 'Keys that stopped signing; they stay in the JWKS and verify until `expires_at`',
    }),
  })
  .openapi('KeyRotation');

oauthRouter.openapi(
  createRoute({
    method: 'post',
    path: '/v1/oauth/keys/rotate',
    tags: ['Operator: OAuth'],
    security: [{ adminToken: [] }],
    summary: 'Rotate the access-token signing key',
    middleware: [requireAdmin] as const,
    responses: { 200: jsonResponse(Rotation, 'The new key and the retired ones'), ...errorResponses },
  }),
  async (c) => {
    const rotation = await rotateSigningKey(c.get('deps'));
    return c.json(
      {
        kid: rotation.kid,
        retired: rotation.retired.map((key) => ({ kid: key.kid, expires_at: key.expiresAt.toISOString() })),
      },
      200,
    );
  },
);
