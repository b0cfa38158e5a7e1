import type { Job } from 'bullmq';
import { UnrecoverableError } from 'bullmq';
import type { Deps } from '../../src/deps.ts';
import {
  PERFORM_JOB,
  SCAN_CHANGES_JOB,
  SETTLE_JOB,
  type SettleJobData,
} from '../../src/dispatch/dispatcher.ts';
import { performAction } from '../../src/dispatch/perform.ts';
import { enqueuePurchaseChanges } from '../../src/dispatch/relay.ts';
import { settle } from '../../src/dispatch/settle.ts';

/**
 * Performs actions and settles rewards; the webhooks they record are enqueued after their transaction commits.
 * A job that fails is dropped from Redis: its action is still `queued` (or its change still recorded) in
 * Postgres, and the relay enqueues it again.
 */
export function actionsProcessor(deps: Deps) {
  return async (job: Job) => {
    switch (job.name) {
      case PERFORM_JOB: {
        const result = await performAction(deps, (job.data as { actionId: string }).actionId);
        if (result.outcome === 'done') deps.dispatcher.deliveriesRecorded(result.deliveryIds);
        return result.outcome === 'cancelled'
          ? { outcome: 'cancelled', reason: result.reason }
          : { outcome: result.outcome };
      }
      case SETTLE_JOB: {
        const deliveryIds = await settle(deps, job.data as SettleJobData);
        deps.dispatcher.deliveriesRecorded(deliveryIds);
        return { deliveries: deliveryIds.length };
      }
      case SCAN_CHANGES_JOB:
        return { enqueued: await enqueuePurchaseChanges(deps) };
      default:
        throw new UnrecoverableError(`Unknown actions job ${job.name}`);
    }
  };
}
