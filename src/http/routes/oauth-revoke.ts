import { z } from '@hono/zod-openapi';
import { OAuthError } from '../../oauth/errors.ts';
import { introspectToken, revokeToken } from '../../oauth/token.ts';
import { ClientAuthFields, clientAuthFailures, form, oauthEndpoint } from '../oauth-endpoint.ts';
import { oauthErrorResponse } from '../oauth-problem.ts';
import { createRouter } from '../router.ts';
import { jsonResponse } from '../schemas.ts';

/** Token revocation (RFC 7009) and introspection (RFC 7662). */
export const oauthRevokeRouter = createRouter();

/** The body of revocation (RFC 7009 §2.1) and introspection (RFC 7662 §2.1) requests. */
const TokenReference = z.object({
  token: z.string(),
  token_type_hint: z.enum(['access_token', 'refresh_token']).optional(),
  ...ClientAuthFields,
});

oauthRevokeRouter.openAPIRegistry.registerPath({
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
    ...clientAuthFailures,
  },
});
oauthRevokeRouter.post('/oauth/revoke', (c) =>
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

oauthRevokeRouter.openAPIRegistry.registerPath({
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
    ...clientAuthFailures,
  },
});
oauthRevokeRouter.post('/oauth/introspect', (c) =>
  oauthEndpoint(c, async (fields, client) => {
    const app = await client();
    if (!fields.token) throw new OAuthError('invalid_request', 'token is required.');
    return c.json(await introspectToken(c.get('deps'), app, fields.token), 200);
  }),
);
