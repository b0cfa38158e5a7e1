import { createRoute, z } from '@hono/zod-openapi';
import type { AppRow, GrantRow } from '../../db/schema/index.ts';
import { consentHistory, grantApp, listGrants, revokeGrant } from '../../grants/grants.ts';
import { SCOPES } from '../../grants/scopes.ts';
import { ConsentHistory, presentConsent, Scope } from '../consent-schema.ts';
import { createdIdempotently } from '../idempotent.ts';
import { requireUser, signedInUser } from '../middleware/user-auth.ts';
import { createRouter } from '../router.ts';
import {
  errorResponses,
  IdempotencyHeader,
  jsonBody,
  jsonResponse,
  ListQuery,
  listOf,
  pageQuery,
  presentPage,
  Timestamp,
} from '../schemas.ts';

const Grant = z
  .object({
    id: z.string().openapi({ example: 'grt_01jh…' }),
    object: z.literal('grant'),
    app_id: z.string(),
    app_name: z.string(),
    scopes: z.array(Scope),
    granted_at: Timestamp,
    updated_at: Timestamp,
  })
  .openapi('Grant');

const presentGrant = (grant: GrantRow, app: AppRow): z.infer<typeof Grant> => ({
  id: grant.id,
  object: 'grant',
  app_id: app.id,
  app_name: app.name,
  scopes: grant.scopes as z.infer<typeof Scope>[],
  granted_at: grant.grantedAt.toISOString(),
  updated_at: grant.updatedAt.toISOString(),
});

const tags = ['Cardholders: grants'];
const security = [{ sessionToken: [] }];

export const grantsRouter = createRouter();

grantsRouter.openapi(
  createRoute({
    method: 'get',
    path: '/v1/me/grants',
    tags,
    security,
    summary: 'Apps I have connected',
    middleware: [requireUser] as const,
    request: { query: ListQuery },
    responses: {
      200: jsonResponse(listOf(Grant, 'GrantList'), 'A page of live grants, newest first'),
      ...errorResponses,
    },
  }),
  async (c) => {
    const page = await listGrants(c.get('deps').db, signedInUser(c).user.id, pageQuery(c.req.valid('query')));
    return c.json(
      presentPage(page, (row) => presentGrant(row.grant, row.app)),
      200,
    );
  },
);

grantsRouter.openapi(
  createRoute({
    method: 'post',
    path: '/v1/me/grants',
    tags,
    security,
    summary: 'Grant an app scopes',
    description:
      'Creates the grant, or sets its scopes to exactly these. Scopes must be among those the app registered ' +
      '(else 422 naming them). Each change is recorded in the consent history and announced to the app with a ' +
      '`grant.created` webhook (carrying `previous_scopes` when it changes an existing grant, and the user’s ' +
      'cards under the app’s own card ids). An unknown or disabled app → 404.',
    middleware: [requireUser] as const,
    request: {
      headers: IdempotencyHeader,
      body: jsonBody(
        z
          .object({ app_id: z.string().min(1).max(64), scopes: z.array(Scope).min(1).max(SCOPES.length) })
          .strict(),
      ),
    },
    responses: { 201: jsonResponse(Grant, 'The grant as it now stands'), ...errorResponses },
  }),
  async (c) => {
    const body = c.req.valid('json');
    const deps = c.get('deps');
    const { user } = signedInUser(c);
    let recorded: string | undefined;
    const response = await createdIdempotently(c, user.id, body, async (db) => {
      // Inside the idempotent transaction: its webhook is enqueued once that has committed, below.
      const { grant, app, deliveryId } = await grantApp(
        { ...deps, db, dispatcher: undefined },
        { userId: user.id, appId: body.app_id, scopes: body.scopes, mode: 'replace', source: 'api' },
      );
      recorded = deliveryId;
      return presentGrant(grant, app);
    });
    // Committed: the webhook goes now (the relay would send it only after its grace period).
    if (recorded) deps.dispatcher.deliveriesRecorded([recorded]);
    return response;
  },
);

grantsRouter.openapi(
  createRoute({
    method: 'delete',
    path: '/v1/me/grants/{app_id}',
    tags,
    security,
    summary: 'Revoke an app',
    description:
      'From this instant the app’s access and refresh tokens for this user are refused (every token check ' +
      'reads the grant), and a `grant.revoked` webhook is recorded for the app in the same transaction. No live ' +
      'grant → 404.',
    middleware: [requireUser] as const,
    request: {
      params: z.object({
        app_id: z
          .string()
          .max(64)
          .openapi({ param: { name: 'app_id', in: 'path' }, example: 'app_01jh…' }),
      }),
    },
    responses: { 204: { description: 'Revoked' }, ...errorResponses },
  }),
  async (c) => {
    const deps = c.get('deps');
    await revokeGrant(deps, {
      userId: signedInUser(c).user.id,
      appId: c.req.valid('param').app_id,
      source: 'api',
    });
    return c.body(null, 204);
  },
);

grantsRouter.openapi(
  createRoute({
    method: 'get',
    path: '/v1/me/grants/history',
    tags,
    security,
    summary: 'My consent history',
    description:
      'Every grant, scope change and revocation, newest first. Operators read the same with GET /v1/users/{id}/consents.',
    middleware: [requireUser] as const,
    request: { query: ListQuery },
    responses: { 200: jsonResponse(ConsentHistory, 'A page of consent events'), ...errorResponses },
  }),
  async (c) => {
    const userId = signedInUser(c).user.id;
    const page = await consentHistory(c.get('deps').db, userId, pageQuery(c.req.valid('query')));
    return c.json(presentPage(page, presentConsent), 200);
  },
);
