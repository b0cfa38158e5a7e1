import { createRoute, z } from '@hono/zod-openapi';
import type { TriggerRow } from '../../db/schema/index.ts';
import {
  TRIGGER_STATUSES,
  TriggerAction,
  TriggerInput,
  TriggerLimits,
  TriggerMatch,
  TriggerPatch,
} from '../../rules/dsl.ts';
import {
  archiveTrigger,
  createTrigger,
  getTrigger,
  listTriggers,
  patchTrigger,
} from '../../triggers/triggers.ts';
import { createdIdempotently } from '../idempotent.ts';
import { appAccess, requireAppOwnToken, requireAppToken } from '../middleware/app-auth.ts';
import { createRouter } from '../router.ts';
import {
  errorResponses,
  IdempotencyHeader,
  IdParam,
  jsonBody,
  jsonResponse,
  ListQuery,
  listOf,
  Timestamp,
} from '../schemas.ts';

const Trigger = z
  .object({
    id: z.string().openapi({ example: 'trg_01jh…' }),
    object: z.literal('trigger'),
    app_id: z.string(),
    name: z.string(),
    status: z.enum(TRIGGER_STATUSES),
    version: z.number().int().openapi({
      description: 'Starts at 1 and grows by one with every change (patch, pause, archive)',
    }),
    match: TriggerMatch,
    limits: TriggerLimits,
    action: TriggerAction,
    created_at: Timestamp,
    updated_at: Timestamp,
    archived_at: Timestamp.nullable(),
  })
  .openapi('Trigger');

const present = (row: TriggerRow): z.infer<typeof Trigger> => ({
  id: row.id,
  object: 'trigger',
  app_id: row.appId,
  name: row.name,
  status: row.status,
  version: row.version,
  match: row.match,
  limits: row.limits,
  action: row.action,
  created_at: row.createdAt.toISOString(),
  updated_at: row.updatedAt.toISOString(),
  archived_at: row.archivedAt?.toISOString() ?? null,
});

/**
 * Triggers belong to the app, not to one of its users: only the app's own (client_credentials) token manages
 * them. Checked before the body is validated, so a user's token is refused whatever it sends.
 */
const middleware = [requireAppToken, requireAppOwnToken('Triggers')];
export const userTokenRefused = {
  403: { ...errorResponses[401], description: "A user's token: triggers take the app's own token" },
};

const tags = ['Apps: triggers'];
const security = [{ appToken: [] }];
/** What every route under /v1/triggers declares: its tag, and the app's own token (a user's is refused). */
export const triggerRouteAccess = { tags, security, middleware };
export const appIdOf = (c: Parameters<typeof appAccess>[0]) => appAccess(c).appId;

export const triggersRouter = createRouter();

triggersRouter.openapi(
  createRoute({
    method: 'post',
    path: '/v1/triggers',
    tags,
    security,
    summary: 'Create a trigger',
    description:
      'Stored as version 1. The action needs a scope the app registered (receipt → receipts, points → loyalty, ' +
      'cashback → cashback, coupon → coupons, social_post → social, webhook → transactions); otherwise 422 on ' +
      '`action.type`. Triggers are stored and versioned; evaluation against events arrives with the rules engine.',
    middleware,
    request: { headers: IdempotencyHeader, body: jsonBody(TriggerInput) },
    responses: { 201: jsonResponse(Trigger, 'Created'), ...userTokenRefused, ...errorResponses },
  }),
  async (c) => {
    const body = c.req.valid('json');
    const appId = appIdOf(c);
    return createdIdempotently(c, appId, body, async (db) =>
      present(await createTrigger({ db, cardKeys: c.get('deps').cardKeys }, { appId, trigger: body })),
    );
  },
);

triggersRouter.openapi(
  createRoute({
    method: 'get',
    path: '/v1/triggers',
    tags,
    security,
    summary: "List the app's triggers, newest first",
    description: 'Every status unless `status` names one (archived triggers included).',
    middleware,
    request: { query: ListQuery.extend({ status: z.enum(TRIGGER_STATUSES).optional() }) },
    responses: {
      200: jsonResponse(listOf(Trigger, 'TriggerList'), 'A page of triggers'),
      ...userTokenRefused,
      ...errorResponses,
    },
  }),
  async (c) => {
    const { limit, starting_after, status } = c.req.valid('query');
    const page = await listTriggers(c.get('deps').db, {
      appId: appIdOf(c),
      limit,
      startingAfter: starting_after,
      status,
    });
    return c.json({ data: page.data.map(present), has_more: page.hasMore }, 200);
  },
);

triggersRouter.openapi(
  createRoute({
    method: 'get',
    path: '/v1/triggers/{id}',
    tags,
    security,
    summary: 'Get a trigger',
    description: "Archived triggers stay readable. Another app's trigger is 404, like an unknown id.",
    middleware,
    request: { params: IdParam('trg') },
    responses: { 200: jsonResponse(Trigger, 'The trigger'), ...userTokenRefused, ...errorResponses },
  }),
  async (c) =>
    c.json(
      present(await getTrigger(c.get('deps').db, { appId: appIdOf(c), id: c.req.valid('param').id })),
      200,
    ),
);

triggersRouter.openapi(
  createRoute({
    method: 'patch',
    path: '/v1/triggers/{id}',
    tags,
    security,
    summary: 'Change a trigger',
    description:
      'Each given part (`name`, `status`, `match`, `limits`, `action`) replaces the stored one whole, as the next ' +
      'version; an empty body changes nothing. `status` may be `active` or `paused`. An archived trigger cannot ' +
      'be changed: 409 `conflict`.',
    middleware,
    request: { params: IdParam('trg'), body: jsonBody(TriggerPatch) },
    responses: {
      200: jsonResponse(Trigger, 'The trigger as changed'),
      ...userTokenRefused,
      ...errorResponses,
    },
  }),
  async (c) => {
    const row = await patchTrigger(c.get('deps'), {
      appId: appIdOf(c),
      id: c.req.valid('param').id,
      patch: c.req.valid('json'),
    });
    return c.json(present(row), 200);
  },
);

triggersRouter.openapi(
  createRoute({
    method: 'delete',
    path: '/v1/triggers/{id}',
    tags,
    security,
    summary: 'Archive a trigger',
    description:
      'The trigger never fires again and can no longer be changed, but stays readable (actions name it), as ' +
      'its next version with `status: archived`. Archiving an archived trigger is a no-op (204).',
    middleware,
    request: { params: IdParam('trg') },
    responses: { 204: { description: 'Archived' }, ...userTokenRefused, ...errorResponses },
  }),
  async (c) => {
    await archiveTrigger({ db: c.get('deps').db }, { appId: appIdOf(c), id: c.req.valid('param').id });
    return c.body(null, 204);
  },
);
