import { createRoute, z } from '@hono/zod-openapi';
import { SCOPES } from '../../grants/scopes.ts';
import { publishedKeys } from '../../oauth/keys.ts';
import { createRouter } from '../router.ts';
import { jsonResponse } from '../schemas.ts';

/** Discovery (RFC 8414) and the keys that verify access tokens. */
export const oauthMetadataRouter = createRouter();

oauthMetadataRouter.openapi(
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

oauthMetadataRouter.openapi(
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
