import { z } from '@hono/zod-openapi';
import { OAuthError } from '../../oauth/errors.ts';
import { clientCredentialsToken, exchangeAuthorizationCode, refreshAccessToken } from '../../oauth/token.ts';
import { ClientAuthFields, clientAuthFailures, form, oauthEndpoint } from '../oauth-endpoint.ts';
import { oauthErrorResponse } from '../oauth-problem.ts';
import { createRouter } from '../router.ts';
import { jsonResponse } from '../schemas.ts';

/** The token endpoint: authorization code, refresh and client credentials grants. */
export const oauthTokenRouter = createRouter();

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

oauthTokenRouter.openAPIRegistry.registerPath({
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
    ...clientAuthFailures,
  },
});
oauthTokenRouter.post('/oauth/token', (c) =>
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
