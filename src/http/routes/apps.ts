import { z } from '@hono/zod-openapi';
import { getApp, listApps, registerApp, updateApp } from '../../apps/apps.ts';
import { type AppRow, WEBHOOK_STATUSES } from '../../db/schema/index.ts';
import { SCOPES } from '../../grants/scopes.ts';
import { CurrencyCode } from '../../lib/currency.ts';
import { checkWebhookUrl } from '../../net/webhook-url.ts';
import { createdIdempotently } from '../idempotent.ts';
import { operatorRoutes } from '../operator-routes.ts';
import { createOperatorRouter, type FieldCheck, validationHook } from '../router.ts';
import { pageQuery, presentPage, Status, Timestamp } from '../schemas.ts';

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

/** RFC 6749 §3.1.2 / RFC 8252: absolute, no fragment; https, http on loopback, or a private-use scheme. */
function redirectUriProblem(raw: string): string | undefined {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return 'must be an absolute URI';
  }
  if (raw.includes('#')) return 'must not contain a fragment';
  if (url.protocol === 'https:') return undefined;
  if (url.protocol === 'http:')
    return LOOPBACK_HOSTS.has(url.hostname) ? undefined : 'http is allowed on loopback only';
  return url.protocol.slice(0, -1).includes('.')
    ? undefined
    : 'must use https (or a reverse-domain private-use scheme)';
}

/** The SSRF check (DNS included) of `webhook_url`, reported in the same 422 as the schema's errors. */
const webhookUrlRefusal: FieldCheck = (deps, url) =>
  checkWebhookUrl(url, { allowPrivate: deps.config.allowPrivateWebhooks });
const withWebhookUrlCheck = validationHook({ webhook_url: webhookUrlRefusal });

const Name = z.string().trim().min(1).max(200);
const WebhookUrl = z.string().max(2048).openapi({ example: 'https://app.example.com/cardlink/webhooks' });
const RedirectUri = z
  .string()
  .max(2048)
  .superRefine((value, ctx) => {
    const message = redirectUriProblem(value);
    if (message) ctx.addIssue({ code: 'custom', message });
  });
const Fee = z
  .object({
    fixed: z
      .number()
      .int()
      .min(0)
      .max(1_000_000)
      .default(0)
      .openapi({ description: 'Minor units per transaction' }),
    bps: z
      .number()
      .int()
      .min(0)
      .max(10_000)
      .default(0)
      .openapi({ description: 'Basis points of the amount' }),
    currency: CurrencyCode,
  })
  .strict()
  .openapi('Fee', { description: 'The platform commission per transaction an app acts on' });
const Scopes = z.array(z.enum(SCOPES)).min(1).max(SCOPES.length);

const App = z
  .object({
    id: z.string().openapi({ example: 'app_01jh…' }),
    object: z.literal('app'),
    name: z.string(),
    status: Status,
    client_id: z.string(),
    webhook_url: z.string(),
    redirect_uris: z.array(z.string()),
    scopes: z.array(z.enum(SCOPES)).openapi({ description: 'Scopes the app may ask users for' }),
    fee: Fee.nullable(),
    webhook_status: z.enum(WEBHOOK_STATUSES).openapi({
      description:
        '`disabled` after the endpoint answered 410 or failed every attempt for days: it receives nothing until ' +
        'the operator sets `enabled` again',
    }),
    webhook_disabled_reason: z.string().nullable(),
    webhook_disabled_at: Timestamp.nullable(),
    webhook_failing_since: Timestamp.nullable().openapi({
      description: "When the endpoint's current run of failed attempts began; null while it answers",
    }),
    created_at: Timestamp,
    updated_at: Timestamp,
  })
  .openapi('App');

const AppWithSecrets = App.extend({
  client_secret: z.string().openapi({ description: 'Shown once.' }),
  webhook_secret: z
    .string()
    .openapi({ description: 'Shown once. Verifies our webhook signatures (`whsec_…`).' }),
}).openapi('AppWithSecrets');

const present = (row: AppRow): z.infer<typeof App> => ({
  id: row.id,
  object: 'app',
  name: row.name,
  status: row.status,
  client_id: row.clientId,
  webhook_url: row.webhookUrl,
  redirect_uris: row.redirectUris,
  scopes: row.scopes as z.infer<typeof App>['scopes'],
  fee: row.feeCurrency ? { fixed: row.feeFixed ?? 0, bps: row.feeBps ?? 0, currency: row.feeCurrency } : null,
  webhook_status: row.webhookStatus,
  webhook_disabled_reason: row.webhookDisabledReason,
  webhook_disabled_at: row.webhookDisabledAt?.toISOString() ?? null,
  webhook_failing_since: row.webhookFailingSince?.toISOString() ?? null,
  created_at: row.createdAt.toISOString(),
  updated_at: row.updatedAt.toISOString(),
});

const routes = operatorRoutes('/v1/apps', App, { name: 'App', idPrefix: 'app' });

export const appsRouter = createOperatorRouter('/v1/apps');

appsRouter.openapi(
  routes.register({
    summary: 'Register an app',
    description:
      'Webhook URLs must be https and must not resolve to private or loopback addresses unless ' +
      '`ALLOW_PRIVATE_WEBHOOKS=true`. `scopes` defaults to every scope.',
    body: z
      .object({
        name: Name,
        webhook_url: WebhookUrl,
        redirect_uris: z.array(RedirectUri).max(20).default([]),
        scopes: Scopes.default([...SCOPES]),
        fee: Fee.optional(),
      })
      .strict(),
    created: AppWithSecrets,
    createdDescription: 'Created; secrets shown once',
  }),
  async (c) => {
    const body = c.req.valid('json');
    const deps = c.get('deps');
    return createdIdempotently(c, 'admin', body, async (db) => {
      const created = await registerApp(
        { ...deps, db },
        {
          name: body.name,
          webhookUrl: body.webhook_url,
          redirectUris: body.redirect_uris,
          scopes: [...new Set(body.scopes)],
          fee: body.fee,
        },
      );
      return {
        ...present(created.app),
        client_secret: created.clientSecret,
        webhook_secret: created.webhookSecret,
      };
    });
  },
  withWebhookUrlCheck,
);

appsRouter.openapi(routes.list({ summary: 'List apps, newest first' }), async (c) => {
  const page = await listApps(c.get('deps').db, pageQuery(c.req.valid('query')));
  return c.json(presentPage(page, present), 200);
});

appsRouter.openapi(routes.get({ summary: 'Get an app' }), async (c) =>
  c.json(present(await getApp(c.get('deps').db, c.req.valid('param').id)), 200),
);

appsRouter.openapi(
  routes.update({
    summary: 'Update or disable an app',
    description:
      '`fee: null` removes the fee. A disabled app gets no tokens, actions or deliveries. `webhook_status: ' +
      '"enabled"` lets a disabled endpoint receive webhooks again (its deliveries that failed meanwhile stay ' +
      'failed; the app replays them).',
    body: z
      .object({
        name: Name.optional(),
        webhook_url: WebhookUrl.optional(),
        redirect_uris: z.array(RedirectUri).max(20).optional(),
        scopes: Scopes.optional(),
        fee: Fee.nullable().optional(),
        status: Status.optional(),
        webhook_status: z.enum(WEBHOOK_STATUSES).optional(),
      })
      .strict(),
  }),
  async (c) => {
    const body = c.req.valid('json');
    const deps = c.get('deps');
    const row = await updateApp(deps, c.req.valid('param').id, {
      name: body.name,
      webhookUrl: body.webhook_url,
      redirectUris: body.redirect_uris,
      scopes: body.scopes ? [...new Set(body.scopes)] : undefined,
      fee: body.fee,
      status: body.status,
      webhookStatus: body.webhook_status,
    });
    return c.json(present(row), 200);
  },
  withWebhookUrlCheck,
);
