/**
 * What the flow benches read while they measure: the clock, the database's counts, the sink's arrivals, each
 * process's CPU seconds and the worker's log; and `until`, to wait for one of them.
 */
import { readFileSync } from 'node:fs';
import type postgres from 'postgres';
import type { Context, Scene, Sink } from './dispatch-setup.ts';
import type { Arrival } from './dispatch-sink.ts';
import { cpuSeconds, processCpuSeconds } from './server.ts';

export const wallNow = () => performance.timeOrigin + performance.now();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits until `check` answers true, polling every `everyMs`; throws with `what` after `timeoutMs`. */
export async function until(what: string, check: () => Promise<boolean>, timeoutMs: number, everyMs = 50) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await sleep(everyMs);
  }
}

export function safeRead(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

/** Lines of a pino log at warn (40) or above written since `from` (a length of the file), by message. */
export function logProblems(logFile: string, from: number): Record<string, number> {
  const problems: Record<string, number> = {};
  for (const line of safeRead(logFile).slice(from).split('\n')) {
    const level = /"level":(\d+)/.exec(line)?.[1];
    if (!level || Number(level) < 40) continue;
    const msg = /"msg":"([^"]*)"/.exec(line)?.[1] ?? 'unparsed';
    problems[msg] = (problems[msg] ?? 0) + 1;
  }
  return problems;
}

export interface Counts {
  actionsQueued: number;
  actionsDone: number;
  actionsCancelled: number;
  deliveriesPending: number;
  deliveriesSucceeded: number;
  deliveriesOther: number;
  attempts: number;
  ledgerEntries: number;
  rewards: number;
}

export async function counts(sql: postgres.Sql): Promise<Counts> {
  const [row] = await sql<Record<keyof Counts, string>[]>`
    select
      (select count(*) from actions where status = 'queued') as "actionsQueued",
      (select count(*) from actions where status = 'done') as "actionsDone",
      (select count(*) from actions where status = 'cancelled') as "actionsCancelled",
      (select count(*) from deliveries where status = 'pending') as "deliveriesPending",
      (select count(*) from deliveries where status = 'succeeded') as "deliveriesSucceeded",
      (select count(*) from deliveries where status not in ('pending', 'succeeded')) as "deliveriesOther",
      (select count(*) from delivery_attempts) as "attempts",
      (select count(*) from ledger_entries) as "ledgerEntries",
      (select count(*) from rewards) as "rewards"`;
  return Object.fromEntries(Object.entries(row!).map(([k, v]) => [k, Number(v)])) as unknown as Counts;
}

export const diff = (after: Counts, before: Counts) =>
  Object.fromEntries(
    Object.keys(after).map((k) => [k, after[k as keyof Counts] - before[k as keyof Counts]]),
  ) as unknown as Counts;

/** Waits until nothing is queued or pending in Postgres and the sink has seen every succeeded delivery. */
export async function drained(sql: postgres.Sql, sink: Sink, timeoutMs: number): Promise<void> {
  await until(
    'dispatch to drain',
    async () => {
      const c = await counts(sql);
      if (c.actionsQueued > 0 || c.deliveriesPending > 0) return false;
      return (await sink.count()).distinct >= c.deliveriesSucceeded;
    },
    timeoutMs,
    200,
  );
}

interface DeliveryBody {
  id?: string;
  type?: string;
  data?: { event?: { id?: string } };
}

/** What arrived, once per webhook id (the first arrival), with duplicates counted. */
export function firstArrivals(arrivals: Arrival[]) {
  const first = new Map<string, Arrival & { parsed: DeliveryBody }>();
  let duplicates = 0;
  for (const arrival of arrivals) {
    if (first.has(arrival.webhookId)) {
      duplicates++;
      continue;
    }
    let parsed: DeliveryBody = {};
    try {
      parsed = JSON.parse(arrival.body) as DeliveryBody;
    } catch {}
    first.set(arrival.webhookId, { ...arrival, parsed });
  }
  return { first, duplicates };
}

/** Checks the signatures of up to `sample` arrivals with the `standardwebhooks` library, as an app would. */
export async function verifySample(arrivals: Arrival[], scene: Scene, sample: number) {
  const { Webhook } = await import('standardwebhooks');
  const hooks = scene.apps.map((app) => new Webhook(app.webhookSecret));
  let verified = 0;
  let bad = 0;
  for (const arrival of arrivals.slice(0, sample)) {
    const app = Number(/\/apps\/(\d+)$/.exec(arrival.path)?.[1] ?? -1);
    try {
      hooks[app]!.verify(arrival.body, {
        'webhook-id': arrival.webhookId,
        'webhook-timestamp': arrival.timestamp,
        'webhook-signature': arrival.signature,
      });
      verified++;
    } catch {
      bad++;
    }
  }
  return { verified, bad };
}

export interface CpuSample {
  wall: number;
  api: number;
  worker: number;
  postgres: number;
  redis: number;
  sink: number;
  bench: number;
}

/**
 * CPU seconds so far of each party. Postgres and Redis serve other work on this machine too: `postgres` is the
 * backends connected to the bench's database only (the server's and the worker's pools), `redis` the whole server.
 */
export async function cpuNow(ctx: Context, workerPid: number | null): Promise<CpuSample> {
  const backends = await ctx.sql<{ pid: number }[]>`
    select pid from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()`;
  const api = cpuSeconds(ctx.server.pid, ctx.redisPort);
  const own = process.cpuUsage();
  return {
    wall: wallNow(),
    api: api.tree,
    worker: workerPid ? cpuSeconds(workerPid).tree : 0,
    postgres: processCpuSeconds(backends.map((b) => b.pid)),
    redis: api.redis,
    sink: cpuSeconds(ctx.sink.pid).tree,
    bench: (own.user + own.system) / 1e6,
  };
}
