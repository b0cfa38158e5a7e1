// The relay: finds in Postgres the work Redis does not carry (a crash between commit and enqueue, a Redis restart
// that lost every job, a date that came) and enqueues it. Job ids make enqueueing twice harmless.
import type { Config } from '../config.ts';
import type { Sql } from '../db/client.ts';
import type { Logger } from '../logger.ts';
import type { Queues } from '../queues.ts';
import { DELIVER_JOB, PERFORM_JOB, SETTLE_JOB, type SettleJobData, settleJobId } from './dispatcher.ts';

export interface RelayDeps {
  sql: Sql;
  queues: Queues;
  config: Config;
  logger: Logger;
}

// Any fixed 64-bit number; every relay agrees on it, so one pass runs at a time across processes.
const RELAY_LOCK_KEY = 4_242_031_338;
/** Rows of each kind one pass enqueues at most (the next pass takes the rest). */
const PASS_LIMIT = 2000;

export interface RelayPass {
  actions: number;
  deliveries: number;
  changes: number;
  due: number;
}

/** Adds a settle job per `purchase_changes` row (the `scan-changes` job, and each relay pass). */
export async function enqueuePurchaseChanges(deps: Pick<RelayDeps, 'sql' | 'queues'>): Promise<number> {
  const rows = await deps.sql<{ purchase_id: string; changed_at: string }[]>`
    select purchase_id, changed_at::text from purchase_changes order by changed_at limit ${PASS_LIMIT}`;
  if (rows.length > 0)
    await deps.queues.actions.addBulk(
      rows.map((row) => ({
        name: SETTLE_JOB,
        data: { purchaseId: row.purchase_id, changedAt: row.changed_at } satisfies SettleJobData,
        opts: { jobId: settleJobId(row.purchase_id, row.changed_at) },
      })),
    );
  return rows.length;
}

/**
 * One pass, if no other relay is in one: queued actions and due pending deliveries older than the grace period
 * (younger ones are on their way from the process that committed them), every purchase change, and rewards whose
 * date came. Null when another relay held the lock.
 */
export async function relayPass(deps: RelayDeps): Promise<RelayPass | null> {
  const graceMs = deps.config.dispatch.relayGraceMs;
  return deps.sql.begin(async (sql) => {
    const [lock] = await sql<
      { locked: boolean }[]
    >`select pg_try_advisory_xact_lock(${RELAY_LOCK_KEY}) as locked`;
    if (!lock?.locked) return null;
    const [actions, deliveries, due] = await Promise.all([
      sql<{ id: string }[]>`
        select id from actions
        where status = 'queued' and created_at < now() - ${graceMs} * interval '1 millisecond'
        order by created_at limit ${PASS_LIMIT}`,
      sql<{ id: string }[]>`
        select id from deliveries
        where status = 'pending' and next_attempt_at < now() - ${graceMs} * interval '1 millisecond'
        order by next_attempt_at limit ${PASS_LIMIT}`,
      sql<{ action_id: string; next_check_at: string }[]>`
        select action_id, next_check_at::text from rewards
        where next_check_at <= now() order by next_check_at limit ${PASS_LIMIT}`,
    ]);
    const changes = await enqueuePurchaseChanges(deps);
    await Promise.all([
      actions.length > 0 &&
        deps.queues.actions.addBulk(
          actions.map(({ id }) => ({ name: PERFORM_JOB, data: { actionId: id }, opts: { jobId: id } })),
        ),
      due.length > 0 &&
        deps.queues.actions.addBulk(
          due.map((row) => ({
            name: SETTLE_JOB,
            data: { actionIds: [row.action_id] } satisfies SettleJobData,
            opts: { jobId: `due-${row.action_id}-${row.next_check_at.replace(/\D/g, '')}` },
          })),
        ),
      deliveries.length > 0 &&
        deps.queues.deliveries.addBulk(
          deliveries.map(({ id }) => ({ name: DELIVER_JOB, data: { deliveryId: id }, opts: { jobId: id } })),
        ),
    ]);
    return { actions: actions.length, deliveries: deliveries.length, changes, due: due.length };
  });
}

export interface RunningRelay {
  stop: () => Promise<void>;
}

/** Runs a relay pass every `relayIntervalMs` until stopped; a failed pass is logged and the next one tries again. */
export function startRelay(deps: RelayDeps): RunningRelay {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();
  const tick = () => {
    running = relayPass(deps)
      .then((pass) => {
        if (pass && pass.actions + pass.deliveries + pass.due > 0)
          deps.logger.info({ relayed: pass }, 'relay enqueued work the queues did not hold');
      })
      .catch((error: unknown) =>
        deps.logger.warn(
          { err: { message: error instanceof Error ? error.message : String(error) } },
          'relay pass failed',
        ),
      )
      .finally(() => {
        if (!stopped) timer = setTimeout(tick, deps.config.dispatch.relayIntervalMs);
      });
  };
  tick();
  return {
    stop: async () => {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
