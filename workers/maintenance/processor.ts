import type { Job } from 'bullmq';
import { UnrecoverableError } from 'bullmq';
import type { Deps } from '../../src/deps.ts';
import { purgeExpiredIdempotencyKeys } from '../../src/idempotency/idempotency.ts';
import { ensureEventPartitions, linkOrphanEvents } from '../../src/ingest/maintenance.ts';
import { purgeExpiredCredentials } from '../../src/oauth/housekeeping.ts';
import type { MaintenanceJobName } from './options.ts';

/** Runs one housekeeping job; unknown names are permanent failures, everything else retries. */
export function maintenanceProcessor(deps: Deps) {
  return async (job: Job) => {
    switch (job.name as MaintenanceJobName) {
      case 'purge-idempotency-keys': {
        const purged = await purgeExpiredIdempotencyKeys(deps.db);
        return { purged };
      }
      case 'create-event-partitions':
        return { created: await ensureEventPartitions(deps.db) };
      case 'link-orphan-events':
        return { linked: await linkOrphanEvents(deps.sql, deps.actionsHook) };
      case 'purge-expired-credentials':
        return await purgeExpiredCredentials(deps.db);
      default:
        throw new UnrecoverableError(`Unknown maintenance job ${job.name}`);
    }
  };
}
