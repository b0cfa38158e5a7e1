// Prometheus metrics of ingestion: events by outcome, events per stored batch.
import { Counter, Histogram, type Registry } from 'prom-client';

/** Ingestion outcomes; `unenrolled` counts accepted events on cards nobody enrolled (nothing kept). */
export const ingestedEvents = new Counter({
  name: 'cardlink_ingest_events_total',
  help: 'Card events received, by outcome: accepted, duplicate, rejected, unenrolled',
  labelNames: ['status'],
  registers: [],
});

export const ingestFlushEvents = new Histogram({
  name: 'cardlink_ingest_flush_events',
  help: 'Events stored per ingestion transaction (micro-batch size); its count is the number of transactions',
  buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096],
  registers: [],
});

/** Adds the ingestion metrics to an app's registry. */
export function registerIngestMetrics(registry: Registry): void {
  const metrics = {
    cardlink_ingest_events_total: ingestedEvents,
    cardlink_ingest_flush_events: ingestFlushEvents,
  };
  for (const [name, metric] of Object.entries(metrics)) {
    if (!registry.getSingleMetric(name)) registry.registerMetric(metric);
  }
}
