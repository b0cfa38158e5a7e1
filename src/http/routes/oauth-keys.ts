import { createRoute, z } from '@hono/zod-openapi';
import { rotateSigningKey } from '../../oauth/keys.ts';
import { requireAdmin } from '../middleware/admin.ts';
import { createRouter } from '../router.ts';
import { errorResponses, jsonResponse, Timestamp } from '../schemas.ts';

/** The operator's rotation of the access-token signing key. */
export const oauthKeysRouter = createRouter();

const Rotation = z
  .object({
    kid: z.string().openapi({ description: 'The key that signs from now on' }),
    retired: z.array(z.object({ kid: z.string(), expires_at: Timestamp })).openapi({
      description: 'Keys that stopped signing; they stay in the JWKS and verify until `expires_at`',
    }),
  })
  .openapi('KeyRotation');

oauthKeysRouter.openapi(
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
