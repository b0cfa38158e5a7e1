// An app's deliveries as it reads them, and sending them again (one, or a time range).
import { and, asc, eq, gte, inArray, lt } from 'drizzle-orm';
import type { Executor } from '../db/client.ts';
import type { Page } from '../db/paginate.ts';
import { pageOfRows } from '../db/rows.ts';
import {
  apps,
  type DeliveryAttemptRow,
  type DeliveryRow,
  type DeliveryStatus,
  deliveries,
  deliveryAttempts,
} from '../db/schema/index.ts';
import type { Dispatcher } from '../dispatch/dispatcher.ts';
import { AppError, notFound } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { Queues } from '../queues.ts';

/** The longest time range one replay covers. */
export const REPLAY_MAX_DAYS = 7;

interface SendAgainDeps {
  db: Executor;
  dispatcher: Dispatcher;
  queues: Queues;
  logger: Logger;
}

/** A page of the app's deliveries, newest first, of one status if given. */
export const listDeliveries = (
  db: Executor,
  query: Page & { appId: string; status?: DeliveryStatus | undefined },
) =>
  pageOfRows(
    db,
    deliveries,
    query,
    and(eq(deliveries.appId, query.appId), query.status ? eq(deliveries.status, query.status) : undefined),
  );

/** One of the app's deliveries with every attempt, first attempt first; another app's is 404. */
export async function getDelivery(
  db: Executor,
  query: { appId: string; id: string },
): Promise<{ delivery: DeliveryRow; attempts: DeliveryAttemptRow[] }> {
  const [delivery] = await db
    .select()
    .from(deliveries)
    .where(and(eq(deliveries.id, query.id), eq(deliveries.appId, query.appId)));
  if (!delivery) throw notFound('delivery');
  const attempts = await db
    .select()
    .from(deliveryAttempts)
    .where(eq(deliveryAttempts.deliveryId, delivery.id))
    .orderBy(asc(deliveryAttempts.attempt), asc(deliveryAttempts.id));
  return { delivery, attempts };
}

/** Sending again is refused while the app's endpoint is disabled: every attempt would fail at once. */
async function assertEndpointEnabled(db: Executor, appId: string) {
  const [app] = await db
    .select({ status: apps.webhookStatus, reason: apps.webhookDisabledReason })
    .from(apps)
    .where(eq(apps.id, appId));
  if (app?.status === 'disabled')
    throw new AppError(
      'conflict',
      `The webhook endpoint is disabled${app.reason ? ` (${app.reason})` : ''}; the operator enables it again.`,
    );
}

const backToPending = (now: Date) => ({
  status: 'pending' as const,
  nextAttemptAt: now,
  completedAt: null,
  updatedAt: now,
});

/**
 * Sends one of the app's deliveries again, whatever its status, with the same `webhook-id`: it is pending
 * again and queued now (a retry waiting for its time is brought forward).
 */
export async function redeliver(
  deps: SendAgainDeps,
  query: { appId: string; id: string },
): Promise<DeliveryRow> {
  await assertEndpointEnabled(deps.db, query.appId);
  const [row] = await deps.db
    .update(deliveries)
    .set(backToPending(new Date()))
    .where(and(eq(deliveries.id, query.id), eq(deliveries.appId, query.appId)))
    .returning();
  if (!row) throw notFound('delivery');
  deps.dispatcher.deliveriesRecorded([row.id]);
  promoteIfWaiting(deps.queues, row.id).catch((error: unknown) =>
    deps.logger.warn(
      { err: { message: String(error) }, delivery_id: row.id },
      'redelivery not brought forward',
    ),
  );
  return row;
}

/** A job already queued for the delivery (between retries) runs now rather than at its time. */
async function promoteIfWaiting(queues: Queues, id: string) {
  const job = await queues.deliveries.getJob(id);
  if (job && (await job.isDelayed())) await job.promote();
}

/**
 * Sends again every delivery of the app created in [from, to) that succeeded or failed (pending ones are on
 * their way, cancelled ones stay cancelled). Returns how many.
 */
export async function replayDeliveries(
  deps: SendAgainDeps,
  query: { appId: string; from: Date; to: Date },
): Promise<number> {
  await assertEndpointEnabled(deps.db, query.appId);
  const rows = await deps.db
    .update(deliveries)
    .set(backToPending(new Date()))
    .where(
      and(
        eq(deliveries.appId, query.appId),
        gte(deliveries.createdAt, query.from),
        lt(deliveries.createdAt, query.to),
        inArray(deliveries.status, ['succeeded', 'failed']),
      ),
    )
    .returning({ id: deliveries.id });
  deps.dispatcher.deliveriesRecorded(rows.map((row) => row.id));
  return rows.length;
}
