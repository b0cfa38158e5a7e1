import type { MiddlewareHandler } from 'hono';
import { routePath } from 'hono/route';
import { Counter, collectDefaultMetrics, Histogram, Registry } from 'prom-client';
import type { Logger } from '../../logger.ts';
import type { AppEnv } from '../env.ts';

export interface HttpMetrics {
  registry: Registry;
  requests: Counter<'method' | 'route' | 'status'>;
  duration: Histogram<'method' | 'route'>;
}

/** A Prometheus registry with process metrics and per-route request counts and latency. */
export function createHttpMetrics(): HttpMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'cardlink_' });
  return {
    registry,
    requests: new Counter({
      name: 'cardlink_http_requests_total',
      help: 'HTTP requests by method, route pattern and status',
      labelNames: ['method', 'route', 'status'],
      registers: [registry],
    }),
    duration: new Histogram({
      name: 'cardlink_http_request_duration_seconds',
      help: 'HTTP request latency by method and route pattern',
      labelNames: ['method', 'route'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
  };
}

/**
 * The logger of the request line, built once per app or server. The line holds only fields built here (our
 * request id, the route pattern, status, timing): nothing to redact, and the logger's wildcard redaction
 * (`*.pan`) would cost a visible share of a single-event ingest request (bench/README.md); a child without
 * redaction writes the same line to the same destination.
 */
export function requestLogger(logger: Logger): Logger {
  return logger.child({}, { redact: [] });
}

/** What one answered request leaves behind: route metrics and one log line (never a body or query string). */
export interface RequestRecord {
  requestId: string;
  method: string;
  /** The matched pattern (`/v1/apps/:id`), never the raw path: label cardinality stays bounded. */
  route: string;
  status: number;
  seconds: number;
}

/** Records a request in the route metrics and writes its log line with `log` (a `requestLogger`). */
export function recordRequest(metrics: HttpMetrics, log: Logger, request: RequestRecord): void {
  const { method, route, status, seconds } = request;
  metrics.requests.inc({ method, route, status: String(status) });
  metrics.duration.observe({ method, route }, seconds);
  const line = {
    request_id: request.requestId,
    method,
    route,
    status,
    duration_ms: Math.round(seconds * 10_000) / 10,
  };
  if (status >= 500) log.error(line, 'request failed');
  else log.info(line, 'request');
}

/** Logs one line per request with `log` (never a body or query string) and records route metrics. */
export function observe(metrics: HttpMetrics, log: Logger): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const started = performance.now();
    await next();
    recordRequest(metrics, log, {
      requestId: c.get('requestId'),
      method: c.req.method,
      route: c.res.status === 404 && !c.req.routePath ? 'unmatched' : routePath(c),
      status: c.res.status,
      seconds: (performance.now() - started) / 1000,
    });
  };
}
