// Prometheus metrics of dispatch: webhook attempts and their latency, failures by app, and queue depth.
import { Counter, Gauge, Histogram, type Metric, type Registry } from 'prom-client';
import type { Queues } from '../queues.ts';

export const deliveryLatency = new Histogram({
  name: 'cardlink_delivery_latency_seconds',
  help: 'From the event accepted (the delivery recorded, for grant changes) to the app answering 2xx',
  buckets: [0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 5, 30, 300, 1800, 7200, 36_000, 86_400],
  registers: [],
});

export const deliveryAttempts = new Counter({
  name: 'cardlink_delivery_attempts_total',
  help: 'Webhook attempts by outcome: succeeded, retried (another attempt is scheduled), failed (given up)',
  labelNames: ['outcome'],
  registers: [],
});

export const deliveryFailures = new Counter({
  name: 'cardlink_delivery_failures_total',
  help: 'Webhook attempts that got no 2xx, by app',
  labelNames: ['app_id'],
  registers: [],
});

const QUEUE_STATES = ['waiting', 'active', 'delayed', 'prioritized', 'failed'] as const;
// A scrape must not hang while Redis is away (the queue connection waits for it): the gauge is left out then.
const COUNTS_TIMEOUT_MS = 1000;

/** Adds the dispatch metrics to an app's registry, with queue depth read from `queues` at each scrape. */
export function registerDispatchMetrics(registry: Registry, queues: Queues): void {
  const metrics: Record<string, Metric<string>> = {
    cardlink_delivery_latency_seconds: deliveryLatency,
    cardlink_delivery_attempts_total: deliveryAttempts,
    cardlink_delivery_failures_total: deliveryFailures,
  };
  for (const [name, metric] of Object.entries(metrics)) {
    if (!registry.getSingleMetric(name)) registry.registerMetric(metric);
  }
  if (registry.getSingleMetric('cardlink_queue_jobs')) return;
  const watched = [queues.actions, queues.deliveries];
  new Gauge({
    name: 'cardlink_queue_jobs',
    help: 'Jobs in the dispatch queues by state',
    labelNames: ['queue', 'state'],
    registers: [registry],
    async collect() {
      this.reset();
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<undefined>((resolve) => {
        timer = setTimeout(resolve, COUNTS_TIMEOUT_MS, undefined);
      });
      const counts = await Promise.race([
        Promise.all(watched.map((queue) => queue.getJobCounts(...QUEUE_STATES))).catch(() => undefined),
        timeout,
      ]);
      clearTimeout(timer);
      if (!counts) return;
      watched.forEach((queue, index) => {
        for (const state of QUEUE_STATES) this.set({ queue: queue.name, state }, counts[index]?.[state] ?? 0);
      });
    },
  });
}
