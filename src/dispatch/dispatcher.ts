// Hands committed work to BullMQ. Postgres is the truth: whatever this fails to enqueue (Redis away, a crash right
// after commit), the relay finds in the database and enqueues later, so callers never wait on it or fail by it.
import type { CommittedWork } from '../ingest/store-events.ts';
import type { Logger } from '../logger.ts';
import type { Queues } from '../queues.ts';

export interface Dispatcher {
  /** An ingest batch committed: its actions are performed, and purchases it moved get their rewards settled. */
  batchCommitted(work: CommittedWork): void;
  /** Actions committed as `queued`: each is performed once (job id = action id). */
  actionsCommitted(actionIds: readonly string[]): void;
  /** Some `purchase_changes` rows were committed: they are scanned now rather than by the relay's next pass. */
  purchasesChanged(): void;
  /** Deliveries committed as `pending`: each is sent (job id = delivery id). */
  deliveriesRecorded(deliveryIds: readonly string[]): void;
}

export const PERFORM_JOB = 'perform';
/** Settles the rewards of one changed purchase (`{purchaseId, changedAt}`) or of actions a date changes (`{actionIds}`). */
export const SETTLE_JOB = 'settle';
/** Reads `purchase_changes` and adds a settle job per row. */
export const SCAN_CHANGES_JOB = 'scan-changes';
export const DELIVER_JOB = 'deliver';

export interface SettleJobData {
  purchaseId?: string;
  /** The `purchase_changes.changed_at` the job settles, as Postgres wrote it (microseconds); the row is deleted only if it still says so. */
  changedAt?: string;
  actionIds?: string[];
}

// One job per change: a change committed while an earlier one is being settled gets a job of its own.
export const settleJobId = (purchaseId: string, changedAt: string) =>
  `settle-${purchaseId}-${changedAt.replace(/\D/g, '')}`;
// Scans are coalesced to one per 100 ms window under load.
const scanJobId = () => `scan-${Math.floor(Date.now() / 100)}`;

export function createDispatcher(queues: Queues, logger: Logger): Dispatcher {
  const report = (what: string) => (error: unknown) =>
    logger.warn(
      { err: { message: error instanceof Error ? error.message : String(error) }, what },
      'not enqueued; the relay will enqueue it',
    );
  const dispatcher: Dispatcher = {
    batchCommitted(work) {
      dispatcher.actionsCommitted(work.actionIds);
      if (work.followers) dispatcher.purchasesChanged();
    },
    actionsCommitted(actionIds) {
      if (actionIds.length === 0) return;
      queues.actions
        .addBulk(actionIds.map((id) => ({ name: PERFORM_JOB, data: { actionId: id }, opts: { jobId: id } })))
        .catch(report('actions'));
    },
    purchasesChanged() {
      queues.actions.add(SCAN_CHANGES_JOB, {}, { jobId: scanJobId() }).catch(report('purchase changes'));
    },
    deliveriesRecorded(deliveryIds) {
      if (deliveryIds.length === 0) return;
      queues.deliveries
        .addBulk(
          deliveryIds.map((id) => ({ name: DELIVER_JOB, data: { deliveryId: id }, opts: { jobId: id } })),
        )
        .catch(report('deliveries'));
    },
  };
  return dispatcher;
}
