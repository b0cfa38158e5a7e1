import { createServer, type Server } from 'node:http';
import { getRequestListener } from '@hono/node-server';
import type { OpenAPIHono } from '@hono/zod-openapi';
import type { Deps } from '../deps.ts';
import { createApp } from './app.ts';
import type { AppEnv } from './env.ts';
import { withIngestFastPath } from './ingest-fast-path.ts';
import { createHttpMetrics } from './middleware/observe.ts';

/**
 * The HTTP server as it runs: the app answers every request but the steady stream of well-formed event
 * pushes, which take a leaner path over the same ingestion (see `withIngestFastPath`). Not yet listening.
 */
export function createHttpServer(
  deps: Deps,
  options: { hostname?: string } = {},
): {
  server: Server;
  app: OpenAPIHono<AppEnv>;
} {
  const metrics = createHttpMetrics();
  const app = createApp(deps, { metrics });
  const listener = withIngestFastPath(
    deps,
    metrics,
    getRequestListener(app.fetch, { hostname: options.hostname }),
  );
  return { server: createServer(listener), app };
}
