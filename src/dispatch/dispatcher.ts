// Hands committed work to BullMQ. Postgres is the truth: whatever this fails to enqueue (Redis away, a crash right
// after commit), the relay finds in the database and enqueues later, so callers never wait on it or fail by it.
import type { Logger } from '../logger.ts';
import type { Queues } from '../queues.ts';

export interface Dispatcher {
  /** Actions committed as `queued`: each is performed once (job id = action id). */
  actionsCommitted(actionIds: readonly string[]): void;
  /** Purchases whose lifecycle moved after they fired (a `purchase_changes` row was committed for each). */
  purchasesChanged(purchaseIds: readonly string[]): void;
  /** Deliveries committed as `pending`: each is sent (job id = delivery id). */
  deliveriesRecorded(deliveryIds: readonly string[]): void;
}

export const PERFORM_JOB = 'perform';
export const SETTLE_JOB = 'settle';
export const DELIVER_JOB = 'deliver';

/** A settle job per purchase at a time: a change committed while one waits is seen when it runs. */
export const settleJobId = (purchaseId: string) => `settle:${purchaseId}`;

export function createDispatcher(queues: Queues, logger: Logger): Dispatcher {
  const report = (what: string) => (error: unknown) =>
    logger.warn(
      { err: { message: error instanceof Error ? error.message : String(error) }, what },
      'not enqueued; the relay will enqueue it',
    );
  return {
    actionsCommitted(actionIds) {
      if (actionIds.length === 0) return;
      queues.actions
        .addBulk(actionIds.map((id) => ({ name: PERFORM_JOB, data: { actionId: id }, opts: { jobId: id } })))
        .catch(report('actions'));
    },
    purchasesChanged(purchaseIds) {
      if (purchaseIds.length === 0) return;
      queues.actions
        .addBulk(
          purchaseIds.map((id) => ({
            name: SETTLE_JOB,
            data: { purchaseId: id },
            opts: { jobId: settleJobId(id) },
          })),
        )
        .catch(report('purchase changes'));
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
}
