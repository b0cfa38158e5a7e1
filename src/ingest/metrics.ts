import { Counter, type Registry } from 'prom-client';

/** Ingestion outcomes; `unenrolled` counts accepted events on cards nobody enrolled (nothing kept). */
export const ingestedEvents = new Counter({
  name: 'cardlink_ingest_events_total',
  help: 'Card events received, by outcome: accepted, duplicate, rejected, unenrolled',
  labelNames: ['status'],
  registers: [],
});

export const ingestFlushes = new Counter({
  name: 'cardlink_ingest_flushes_total',
  help: 'Ingestion transactions committed (events per transaction = events accepted / flushes)',
  registers: [],
});

/** Adds the ingestion metrics to an app's registry. */
export function registerIngestMetrics(registry: Registry): void {
  const metrics = {
    cardlink_ingest_events_total: ingestedEvents,
    cardlink_ingest_flushes_total: ingestFlushes,
  };
  for (const [name, metric] of Object.entries(metrics)) {
    if (!registry.getSingleMetric(name)) registry.registerMetric(metric);
  }
}
