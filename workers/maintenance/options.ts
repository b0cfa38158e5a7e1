/** Repeating housekeeping jobs, scheduled once by whichever worker starts (upserts are idempotent). */
export const MAINTENANCE_SCHEDULES = [
  { id: 'purge-idempotency-keys', everyMs: 60 * 60 * 1000 },
  { id: 'create-event-partitions', everyMs: 6 * 60 * 60 * 1000 },
  { id: 'link-orphan-events', everyMs: 5 * 60 * 1000 },
  { id: 'purge-expired-credentials', everyMs: 60 * 60 * 1000 },
] as const;

export type MaintenanceJobName = (typeof MAINTENANCE_SCHEDULES)[number]['id'];

export const MAINTENANCE_CONCURRENCY = 1;
