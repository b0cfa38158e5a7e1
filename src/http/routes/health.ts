import { createRoute, z } from '@hono/zod-openapi';
import { AppError } from '../../errors.ts';
import { checkReadiness } from '../../health/readiness.ts';
import { createRouter } from '../router.ts';
import { jsonResponse, ProblemSchema } from '../schemas.ts';

const tags = ['Operations'];
const Checks = z.object({ postgres: z.string(), redis: z.string(), migrations: z.string() });

export const healthRouter = createRouter();

healthRouter.openapi(
  createRoute({
    method: 'get',
    path: '/healthz',
    tags,
    summary: 'Liveness: the process is up',
    responses: { 200: jsonResponse(z.object({ status: z.literal('ok') }), 'Up') },
  }),
  (c) => c.json({ status: 'ok' as const }, 200),
);

healthRouter.openapi(
  createRoute({
    method: 'get',
    path: '/readyz',
    tags,
    summary: 'Readiness: Postgres and Redis reachable, migrations current',
    responses: {
      200: jsonResponse(z.object({ status: z.literal('ready'), checks: Checks }), 'Ready'),
      503: {
        description: 'Not ready; `checks` names the failing dependency',
        content: { 'application/problem+json': { schema: ProblemSchema.extend({ checks: Checks }) } },
      },
    },
  }),
  async (c) => {
    const readiness = await checkReadiness(c.get('deps'));
    if (readiness.ready) return c.json({ status: 'ready' as const, checks: readiness.checks }, 200);
    const failing = Object.entries(readiness.checks)
      .filter(([, result]) => result !== 'ok')
      .map(([name, result]) => `${name} ${result}`);
    throw new AppError('service_unavailable', `Not ready: ${failing.join('; ')}.`, {
      extra: { checks: readiness.checks },
    });
  },
);
