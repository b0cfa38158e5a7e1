import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { HonoAdapter } from '@bull-board/hono';
import { serveStatic } from '@hono/node-server/serve-static';
import { OpenAPIHono } from '@hono/zod-openapi';
import { HTTPException } from 'hono/http-exception';
import { registerDispatchMetrics } from '../deliveries/metrics.ts';
import type { Deps } from '../deps.ts';
import { AppError, type ErrorCode } from '../errors.ts';
import { registerIngestMetrics } from '../ingest/metrics.ts';
import { limitBody } from './body-limit.ts';
import { DASHBOARD_POLICY, htmlPolicy } from './content-security.ts';
import type { AppEnv } from './env.ts';
import { limitJsonDepth } from './json-depth.ts';
import { requireAdminInBrowser } from './middleware/admin.ts';
import { createHttpMetrics, type HttpMetrics, observe, requestLogger } from './middleware/observe.ts';
import { dashboardChangesFromOwnPage } from './middleware/queue-dashboard.ts';
import { sameOriginHtml } from './middleware/same-origin-html.ts';
import { problem, problemOf, statusOf, TITLES, unhandledProblem } from './problem.ts';
import { REQUEST_ID_HEADER, requestIdFor } from './request-id.ts';
import { accountRouter } from './routes/account.ts';
import { activityRouter } from './routes/activity.ts';
import { appsRouter } from './routes/apps.ts';
import { assetsRouter } from './routes/assets.ts';
import { balancesRouter } from './routes/balances.ts';
import { cardTokensRouter } from './routes/card-tokens.ts';
import { cardsRouter } from './routes/cards.ts';
import { couponsRouter } from './routes/coupons.ts';
import { deliveriesRouter } from './routes/deliveries.ts';
import { docsRouter } from './routes/docs.ts';
import { eventsRouter } from './routes/events.ts';
import { iso8583EventsRouter } from './routes/events-iso8583.ts';
import { stripeEventsRouter } from './routes/events-stripe.ts';
import { grantsRouter } from './routes/grants.ts';
import { healthRouter } from './routes/health.ts';
import { merchantsRouter } from './routes/merchants.ts';
import { oauthAuthorizeRouter } from './routes/oauth-authorize.ts';
import { oauthKeysRouter } from './routes/oauth-keys.ts';
import { oauthMetadataRouter } from './routes/oauth-metadata.ts';
import { oauthRevokeRouter } from './routes/oauth-revoke.ts';
import { oauthTokenRouter } from './routes/oauth-token.ts';
import { payoutsRouter } from './routes/payouts.ts';
import { processorsRouter } from './routes/processors.ts';
import { receiptsRouter } from './routes/receipts.ts';
import { sessionsRouter } from './routes/sessions.ts';
import { triggerReportsRouter } from './routes/trigger-reports.ts';
import { triggersRouter } from './routes/triggers.ts';
import { usageRouter } from './routes/usage.ts';
import { usersRouter } from './routes/users.ts';
import { webRouter } from './routes/web.ts';

const HTTP_STATUS_CODES: Partial<Record<number, ErrorCode>> = {
  400: 'bad_request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  409: 'conflict',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  422: 'validation_failed',
  429: 'rate_limited',
  503: 'service_unavailable',
};

/**
 * The media types a route declares for its body (OpenAPI path `{id}` is hono's `:id`): zod-openapi answers
 * 415 for any other without naming them.
 */
function bodyTypesOf(app: OpenAPIHono<AppEnv>, method: string, routePath: string): string[] {
  for (const definition of app.openAPIRegistry.definitions) {
    if (definition.type !== 'route') continue;
    const { route } = definition;
    if (route.method.toUpperCase() !== method) continue;
    if (route.path.replace(/\{([^}]+)\}/g, ':$1') !== routePath) continue;
    const content = route.request?.body && 'content' in route.request.body ? route.request.body.content : {};
    return Object.keys(content ?? {});
  }
  return [];
}

export interface AppOptions {
  metrics?: HttpMetrics;
}

/** Builds the HTTP application over already-created dependencies (so tests and main share one path). */
export function createApp(deps: Deps, options: AppOptions = {}): OpenAPIHono<AppEnv> {
  const metrics = options.metrics ?? createHttpMetrics();
  registerIngestMetrics(metrics.registry);
  registerDispatchMetrics(metrics.registry, deps.queues);
  const publicUrl = deps.config.publicUrl;
  const app = new OpenAPIHono<AppEnv>();

  app.use(async (c, next) => {
    const id = requestIdFor(c.req.header(REQUEST_ID_HEADER));
    c.set('requestId', id);
    c.header(REQUEST_ID_HEADER, id);
    c.set('deps', deps);
    await next();
  });
  app.use(observe(metrics, requestLogger(deps.logger)));
  app.use(async (c, next) => {
    await next();
    // Secrets and tokens leave through many routes (creations and their idempotent replays, rotations,
    // sign-in, OAuth): nothing is stored by a cache unless its route says so (discovery, JWKS).
    if (!c.res.headers.has('cache-control')) c.res.headers.set('cache-control', 'no-store');
  });
  app.use(limitBody);
  app.use(limitJsonDepth);

  app.onError((error, c) => {
    if (error instanceof AppError) {
      return problem(c, problemOf(error), publicUrl);
    }
    if (error instanceof HTTPException) {
      const code = HTTP_STATUS_CODES[error.status] ?? (error.status >= 500 ? 'internal' : 'bad_request');
      const accepted =
        code === 'unsupported_media_type' ? bodyTypesOf(app, c.req.method, c.req.routePath) : [];
      const detail =
        accepted.length > 0
          ? `The body must be sent as ${accepted.join(' or ')}.`
          : error.message || TITLES[code];
      return problem(c, { code, detail }, publicUrl);
    }
    return problem(c, unhandledProblem(deps.logger, c.get('requestId'), error), publicUrl);
  });
  // The path is not echoed: the sender chose it, and it may hold a card number (also percent-encoded).
  app.notFound((c) =>
    problem(c, { code: 'not_found', detail: `No ${c.req.method} route matches this path.` }, publicUrl),
  );

  app.openAPIRegistry.registerComponent('securitySchemes', 'adminToken', {
    type: 'http',
    scheme: 'bearer',
    description: 'The operator token (`ADMIN_TOKEN`).',
  });

  app.route('/', healthRouter);
  app.route('/', processorsRouter);
  // Before the operator's `/v1/apps/*` guard: `/v1/apps/me/usage` is the app's own (each route says who may call).
  app.route('/', usageRouter);
  app.route('/', appsRouter);
  app.route('/', merchantsRouter);
  app.route('/', usersRouter);
  app.route('/', sessionsRouter);
  app.route('/', cardsRouter);
  app.route('/', grantsRouter);
  app.route('/', activityRouter);
  app.route('/', oauthMetadataRouter);
  app.route('/', oauthAuthorizeRouter);
  app.route('/', oauthTokenRouter);
  app.route('/', oauthRevokeRouter);
  app.route('/', oauthKeysRouter);
  app.route('/', webRouter);
  app.route('/', accountRouter);
  app.route('/', assetsRouter);
  app.route('/', eventsRouter);
  app.route('/', iso8583EventsRouter);
  app.route('/', stripeEventsRouter);
  app.route('/', cardTokensRouter);
  app.route('/', triggersRouter);
  app.route('/', triggerReportsRouter);
  app.route('/', receiptsRouter);
  app.route('/', couponsRouter);
  app.route('/', balancesRouter);
  app.route('/', payoutsRouter);
  app.route('/', deliveriesRouter);

  app.get('/metrics', async (c) => {
    c.header('content-type', metrics.registry.contentType);
    return c.body(await metrics.registry.metrics());
  });

  app.get('/problems/:code', (c) => {
    const code = c.req.param('code') as ErrorCode;
    if (!(code in TITLES))
      return problem(c, { code: 'not_found', detail: 'No such problem type.' }, publicUrl);
    return c.json({ code, title: TITLES[code], status: statusOf(code) });
  });

  app.doc31('/openapi.json', {
    openapi: '3.1.0',
    info: {
      title: 'cardlink API',
      version: '1',
      description:
        'Card-linked offers: processors push card events, apps register triggers, ' +
        'cardholders control what each app may do. Errors are RFC 9457 problem+json with a stable `code`.',
    },
    servers: [{ url: publicUrl }],
  });
  app.route('/', docsRouter);

  const board = new HonoAdapter(serveStatic);
  createBullBoard({ queues: deps.queues.all.map((queue) => new BullMQAdapter(queue)), serverAdapter: board });
  board.setBasePath('/admin/queues');
  const dashboardPolicy = htmlPolicy(DASHBOARD_POLICY);
  app.use('/admin/queues', requireAdminInBrowser, sameOriginHtml, dashboardPolicy);
  app.use(
    '/admin/queues/*',
    requireAdminInBrowser,
    dashboardChangesFromOwnPage,
    sameOriginHtml,
    dashboardPolicy,
  );
  // bull-board serves its page at the base path only; the slash form is what people type and bookmark.
  app.get('/admin/queues/', (c) => c.redirect('/admin/queues', 301));
  app.route('/admin/queues', board.registerPlugin());

  return app;
}
