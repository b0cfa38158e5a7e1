/**
 * `npm run bench -- dispatch [--duration=20] [--rate=500] [--warm-up=5] [--actions=20000] [--repeat=3]
 *   [--apps=10] [--share=0.3] [--only=latency|throughput|baselines] [--log-level=warn] [--keep]`
 *
 * Dispatch end to end, on its own database (`cardlink_bench_dispatch`, dropped first) and its own queue prefix:
 * the API (`src/main.ts --api`) and one worker process (`workers/main.ts`) run as separate child processes,
 * with ALLOW_PRIVATE_WEBHOOKS=true and every app's webhook_url on a local sink (bench/dispatch-sink.ts, its own
 * process, 204 to everything). `--apps` apps (a fee each: 1 cent + 50 bps), each with a cashback trigger and a
 * webhook trigger on MIDs of their own; 1,000 cardholders granting every app (written in SQL).
 *   1. Latency: signed single-event POST /v1/events at a steady `--rate` per second, open loop (sends follow the
 *      clock, not the answers), `--share` of the purchases at a MID with a trigger (half cashback, half webhook);
 *      `--warm-up` seconds first, then `--duration` seconds measured. Latency = the webhook's arrival at the sink
 *      − its event's POST send time (joined by the ingest answer's `event_id` and the body's `data.event.id`);
 *      the database's timestamps split it into stages.
 *   2. Throughput of one worker process, `--repeat` times: with no worker running, `--actions` purchases that
 *      each fire one trigger are ingested through the API (their actions and jobs queued), then ONE worker
 *      process is started and timed from its first job taken to the last delivery's arrival; the counts of
 *      actions done, deliveries, attempts and ledger entries are checked afterwards. In each repeat, the
 *      baselines (bench/dispatch-baseline.ts, child processes too): a BullMQ no-op worker at concurrency 100
 *      draining as many jobs, and as many signed POSTs to the sink at concurrency 100.
 * The worker's tunables pass through from this environment (ACTIONS_*, DELIVERY_*, DISPATCH_*, WEBHOOK_*).
 * `BENCH_WORKER_NODE_ARGS` (e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`) goes to the worker's node, as
 * `BENCH_SERVER_NODE_ARGS` to the API's. Prints tables; `npm run bench` writes the results. The set-up and the
 * latency run are shared with the end-to-end flow (bench/e2e.ts). Targets are reported, never asserted.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { loadavg, tmpdir } from 'node:os';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import postgres from 'postgres';
import { CardKeys } from '../src/cards/card-keys.ts';
import { schemeOf } from '../src/cards/pan.ts';
import { createDatabase } from '../src/db/client.ts';
import { cards, grants, users } from '../src/db/schema/index.ts';
import { nextGrantChangeSeq } from '../src/grants/changes.ts';
import { webhookSigningKey } from '../src/ingest/signature.ts';
import { newId } from '../src/lib/ids.ts';
import type { BaselineResult } from './dispatch-baseline.ts';
import type { Arrival, SinkMessage, SinkRequest } from './dispatch-sink.ts';
import { benchPan, eventJson, type MachineCheck, machineCheck, removeKeys } from './ingest.ts';
import { machineRecord, type ScenarioResult, type SummaryRow } from './report.ts';
import {
  cpuSeconds,
  dropDatabase,
  gitCommit,
  processCpuSeconds,
  type RunningProcess,
  type RunningServer,
  startNodeProcess,
  startServer,
} from './server.ts';

const CARDHOLDERS = 1_000;
const MIDS_PER_TRIGGER = 10;
/** MIDs no trigger names, for the purchases that match nothing. */
const OTHER_MIDS = 2_000;
const BASELINE_CONCURRENCY = 100;
const PRELOAD_BATCH = 500;
const WORKER_ENV = /^(ACTIONS_|DELIVERY_|DISPATCH_|WEBHOOK_|DATABASE_PREPARE_)/;

interface Options {
  duration: number;
  rate: number;
  warmUp: number;
  actions: number;
  repeat: number;
  apps: number;
  share: number;
  /** One part only: the latency run, the throughput runs, or only their baselines (no worker). */
  only: 'latency' | 'throughput' | 'baselines' | null;
  logLevel: string;
  /** Keep the database afterwards, for a look at what the run left. */
  keep: boolean;
  /** `--compare=NAME=VALUE,…`: each throughput repeat also runs the worker with these settings, in turn. */
  compare: Record<string, string> | null;
}

function parseOptions(args: string[]): Options {
  const value = (name: string) => args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
  const known = [
    'duration',
    'rate',
    'warm-up',
    'actions',
    'repeat',
    'apps',
    'share',
    'only',
    'log-level',
    'compare',
  ];
  const unknown = args.filter((a) => a !== '--keep' && !known.some((k) => a.startsWith(`--${k}=`)));
  if (unknown.length > 0) throw new Error(`unknown flag(s): ${unknown.join(' ')}`);
  const only = value('only');
  if (only !== undefined && only !== 'latency' && only !== 'throughput' && only !== 'baselines')
    throw new Error(`--only takes latency, throughput or baselines, not ${only}`);
  const options: Options = {
    duration: Number(value('duration') ?? 20),
    rate: Number(value('rate') ?? 500),
    warmUp: Number(value('warm-up') ?? 5),
    actions: Number(value('actions') ?? 20_000),
    repeat: Number(value('repeat') ?? 3),
    apps: Number(value('apps') ?? 10),
    share: Number(value('share') ?? 0.3),
    only: only ?? null,
    logLevel: value('log-level') ?? 'warn',
    keep: args.includes('--keep'),
    compare: compareOption(value('compare')),
  };
  for (const [name, v] of Object.entries(options)) {
    if (typeof v === 'number' && !(v >= 0 && Number.isFinite(v))) throw new Error(`--${name}: not a number`);
  }
  if (options.apps < 1 || options.share > 1) throw new Error('--apps ≥ 1 and --share ≤ 1');
  return options;
}

function compareOption(value: string | undefined): Options['compare'] {
  if (value === undefined) return null;
  const settings = Object.fromEntries(value.split(',').map((pair) => pair.split('=') as [string, string]));
  for (const [name, setting] of Object.entries(settings)) {
    if (!WORKER_ENV.test(name) || setting === undefined)
      throw new Error(`--compare takes NAME=VALUE pairs of the worker's settings, not ${name}`);
  }
  return settings;
}

const settingsText = (settings: Record<string, string> | null) =>
  Object.entries(settings ?? {})
    .map(([name, setting]) => `${name}=${setting}`)
    .join(',');

// ---------------------------------------------------------------------------------------------------------------
// Small helpers

const wallNow = () => performance.timeOrigin + performance.now();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const round = (n: number, digits = 1) => Math.round(n * 10 ** digits) / 10 ** digits;

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

export interface Distribution {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

function distribution(values: number[]): Distribution {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  const sum = sorted.reduce((total, v) => total + v, 0);
  return {
    count: sorted.length,
    p50: round(percentile(sorted, 50)),
    p90: round(percentile(sorted, 90)),
    p99: round(percentile(sorted, 99)),
    max: round(sorted[sorted.length - 1] ?? Number.NaN),
    mean: round(sum / Math.max(1, sorted.length)),
  };
}

/** Waits until `check` answers true, polling every `everyMs`; throws with `what` after `timeoutMs`. */
async function until(what: string, check: () => Promise<boolean>, timeoutMs: number, everyMs = 50) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await sleep(everyMs);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// The sink and the child processes

export interface Sink {
  url: string;
  pid: number;
  count(): Promise<{ received: number; distinct: number }>;
  /** What arrived since the last take (and forgets it). */
  take(): Promise<Arrival[]>;
  stop(): Promise<void>;
}

async function startSink(logFile: string): Promise<Sink> {
  const started = startNodeProcess('bench/dispatch-sink.ts', { env: {}, logFile, ipc: true });
  const { child } = started;
  const waiting: ((message: SinkMessage) => void)[] = [];
  let ready: ((port: number) => void) | undefined;
  const port = new Promise<number>((resolve) => {
    ready = resolve;
  });
  child.on('message', (message: SinkMessage) => {
    if (message.type === 'ready') ready?.(message.port);
    else waiting.shift()?.(message);
  });
  const failed = started.exited.then((code) => {
    throw new Error(`the sink exited (${code}); see ${logFile}`);
  });
  failed.catch(() => {});
  const request = <T extends SinkMessage>(message: SinkRequest) =>
    Promise.race([
      new Promise<T>((resolve) => {
        waiting.push(resolve as (m: SinkMessage) => void);
        child.send(message);
      }),
      failed,
    ]);
  const listening = await Promise.race([port, failed]);
  return {
    url: `http://127.0.0.1:${listening}`,
    pid: started.pid,
    count: () => request<Extract<SinkMessage, { type: 'count' }>>({ type: 'count' }),
    take: async () => (await request<Extract<SinkMessage, { type: 'arrivals' }>>({ type: 'take' })).arrivals,
    stop: () => started.stop(2_000),
  };
}

/**
 * Starts `workers/main.ts` and waits until its actions worker is connected (BullMQ names its Redis connections,
 * so the queue can count its workers): the log says nothing at the bench's default level.
 */
export async function startWorker(ctx: Context): Promise<RunningProcess> {
  const nodeArgs = process.env.BENCH_WORKER_NODE_ARGS?.split(' ').filter(Boolean) ?? [];
  const worker = startNodeProcess('workers/main.ts', {
    env: ctx.workerEnv,
    logFile: ctx.workerLog,
    nodeArgs,
  });
  let exited = false;
  void worker.exited.then(() => {
    exited = true;
  });
  await until(
    'the worker to start',
    async () => {
      if (exited) throw new Error(`the worker exited during startup; see ${ctx.workerLog}`);
      return (await ctx.actionsQueue.getWorkersCount()) > 0;
    },
    120_000,
    100,
  );
  return worker;
}

function safeRead(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

/** Lines of a pino log at warn (40) or above written since `from` (a length of the file), by message. */
function logProblems(logFile: string, from: number): Record<string, number> {
  const problems: Record<string, number> = {};
  for (const line of safeRead(logFile).slice(from).split('\n')) {
    const level = /"level":(\d+)/.exec(line)?.[1];
    if (!level || Number(level) < 40) continue;
    const msg = /"msg":"([^"]*)"/.exec(line)?.[1] ?? 'unparsed';
    problems[msg] = (problems[msg] ?? 0) + 1;
  }
  return problems;
}

async function runBaseline(
  mode: 'noop' | 'post',
  target: string,
  count: number,
  env: Record<string, string>,
  logFile: string,
): Promise<BaselineResult> {
  const child = startNodeProcess('bench/dispatch-baseline.ts', {
    args: [mode, target, String(count), String(BASELINE_CONCURRENCY)],
    env,
    logFile,
    ipc: true,
  });
  try {
    return await Promise.race([
      new Promise<BaselineResult>((resolve) => child.child.once('message', resolve)),
      child.exited.then((code): never => {
        throw new Error(`the ${mode} baseline exited (${code}); see ${logFile}`);
      }),
    ]);
  } finally {
    await child.stop(5_000);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// The scene: a processor, apps on the sink, triggers, cardholders

export interface BenchApp {
  id: string;
  webhookSecret: string;
}

export interface Scene {
  processor: { id: string; apiKey: string; signingSecret: string; stripeEndpointSecret?: string };
  apps: BenchApp[];
  pans: string[];
}

/** A trigger as `POST /v1/triggers` takes it. */
export interface TriggerBody {
  name: string;
  match: Record<string, unknown>;
  action: Record<string, unknown>;
}

/** What a flow bench sets up: the cards enrolled (each its own cardholder, granting every app) and the triggers. */
export interface SceneSpec {
  pans: string[];
  /** The triggers of app `app` (0-based). */
  triggersOf(app: number): TriggerBody[];
  /** Give the processor a Stripe endpoint secret (for Stripe Issuing traffic). */
  stripe: boolean;
  /** What the results say of it. */
  description: Record<string, unknown>;
}

const appMid = (kind: 'C' | 'W', app: number, k: number) =>
  `${kind}${String(app).padStart(3, '0')}${String(k).padStart(3, '0')}`;
const otherMid = (i: number) => `X${String(i).padStart(6, '0')}`;

/** The MID of purchase `n`: `share` of them at a triggered MID (half cashback, half webhook), spread over apps. */
function midOf(scene: Scene, n: number, share: number): string {
  const h = Math.imul(n ^ (n >>> 13), 0x5bd1e995) >>> 0;
  const roll = (h % 10_000) / 10_000;
  if (roll >= share) return otherMid((h >>> 7) % OTHER_MIDS);
  const app = (h >>> 14) % scene.apps.length;
  return appMid(roll < share / 2 ? 'C' : 'W', app, (h >>> 4) % MIDS_PER_TRIGGER);
}

/** Dispatch's scene: each app a cashback trigger (5%) and a webhook trigger on MIDs of its own. */
export function dispatchScene(apps: number): SceneSpec {
  const mids = (kind: 'C' | 'W', a: number) =>
    Array.from({ length: MIDS_PER_TRIGGER }, (_, k) => appMid(kind, a, k));
  return {
    pans: Array.from({ length: CARDHOLDERS }, (_, i) => benchPan(i)),
    triggersOf: (a) => [
      { name: '5% back', match: { mids: mids('C', a) }, action: { type: 'cashback', percent_bps: 500 } },
      { name: 'Tell me', match: { mids: mids('W', a) }, action: { type: 'webhook' } },
    ],
    stripe: false,
    description: {
      apps,
      triggers_per_app: 'a cashback (5%) and a webhook trigger, 10 MIDs each; app fee 1 cent + 50 bps',
      cardholders: CARDHOLDERS,
    },
  };
}

async function api(
  url: string,
  method: string,
  path: string,
  options: { token?: string; body?: unknown; form?: Record<string, string>; basic?: string },
): Promise<any> {
  const headers: Record<string, string> = {};
  let body: string | undefined;
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  if (options.basic) headers.authorization = `Basic ${options.basic}`;
  if (options.form) {
    headers['content-type'] = 'application/x-www-form-urlencoded';
    body = new URLSearchParams(options.form).toString();
  } else if (options.body !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(options.body);
  }
  const res = await fetch(`${url}${path}`, { method, headers, body });
  const text = await res.text();
  if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

async function buildScene(
  serverUrl: string,
  sinkUrl: string,
  databaseUrl: string,
  secrets: { ADMIN_TOKEN: string; CARD_FINGERPRINT_KEY: string },
  appCount: number,
  spec: SceneSpec,
): Promise<Scene> {
  const admin = secrets.ADMIN_TOKEN;
  const stripeEndpointSecret = spec.stripe ? `whsec_${randomBytes(24).toString('hex')}` : undefined;
  const created = await api(serverUrl, 'POST', '/v1/processors', {
    token: admin,
    body: {
      name: 'Bench processor',
      ...(stripeEndpointSecret ? { stripe_endpoint_secret: stripeEndpointSecret } : {}),
    },
  });
  const processor = {
    id: created.id,
    apiKey: created.api_key,
    signingSecret: created.signing_secret,
    ...(stripeEndpointSecret ? { stripeEndpointSecret } : {}),
  };
  const apps: BenchApp[] = [];
  for (let a = 0; a < appCount; a++) {
    const app = await api(serverUrl, 'POST', '/v1/apps', {
      token: admin,
      body: {
        name: `Bench app ${a}`,
        webhook_url: `${sinkUrl}/apps/${a}`,
        scopes: ['transactions', 'cashback'],
        fee: { fixed: 1, bps: 50, currency: 'USD' },
      },
    });
    const basic = Buffer.from(
      `${encodeURIComponent(app.client_id)}:${encodeURIComponent(app.client_secret)}`,
    ).toString('base64');
    const token = (
      await api(serverUrl, 'POST', '/oauth/token', { basic, form: { grant_type: 'client_credentials' } })
    ).access_token as string;
    for (const trigger of spec.triggersOf(a))
      await api(serverUrl, 'POST', '/v1/triggers', { token, body: trigger });
    apps.push({ id: app.id, webhookSecret: app.webhook_secret });
  }

  // Cardholders as the rewards tests make them: users, cards and grants in one transaction with one grant change.
  const cardKeys = new CardKeys(secrets.CARD_FINGERPRINT_KEY);
  const { pans } = spec;
  const { db, close } = createDatabase(databaseUrl, { max: 1 });
  try {
    await db.transaction(async (tx) => {
      const changeSeq = await nextGrantChangeSeq(tx);
      // Real ids: dispatch reads them back (a card's per-app id is derived from its id's bytes).
      const userIds = pans.map(() => newId('usr'));
      const userId = (i: number) => userIds[i]!;
      await tx
        .insert(users)
        .values(pans.map((_, i) => ({ id: userId(i), email: `d${i}@example.test`, passwordHash: 'x' })));
      await tx.insert(cards).values(
        pans.map((pan, i) => ({
          id: newId('crd'),
          userId: userId(i),
          fingerprint: cardKeys.fingerprint(pan),
          bin: pan.slice(0, 6),
          last4: pan.slice(-4),
          scheme: schemeOf(pan),
          expMonth: 12,
          expYear: 2030,
        })),
      );
      for (const app of apps) {
        await tx.insert(grants).values(
          pans.map((_, i) => ({
            id: newId('grt'),
            userId: userId(i),
            appId: app.id,
            scopes: ['cashback', 'transactions'],
            changeSeq,
          })),
        );
      }
    });
  } finally {
    await close();
  }
  return { processor, apps, pans };
}

// ---------------------------------------------------------------------------------------------------------------
// Sending events

/** One event sent. */
export interface Sent {
  /** Wall-clock ms, just before the request was written. */
  sentAt: number;
  answeredAt: number;
  /** Whether the platform took it (a 2xx answer for it). */
  ok: boolean;
  /** The platform's id of the event; null if it was not stored, or stored before (a duplicate). */
  eventId: string | null;
  actions: number;
}

/** What a steady stream of events became: each event, the sending time, and sends behind the clock. */
export interface SentLoop {
  sent: Sent[];
  lateSends: number;
  /** Wall-clock ms of the first timed send. */
  startedAtWall: number;
}

/** A signed POST /v1/events request, ready to send. */
export interface Prepared {
  externalId: string;
  body: string;
  headers: Record<string, string>;
}

let eventSeq = 0;

/** Signed POST /v1/events requests (a single event, or `perRequest` of them), made before the clock starts. */
export function prepareRequests(scene: Scene, count: number, perRequest: number, share: number): Prepared[] {
  const run = randomBytes(3).toString('hex');
  const key = webhookSigningKey(scene.processor.signingSecret);
  const requests: Prepared[] = [];
  for (let r = 0; r < count; r++) {
    const events: string[] = [];
    let firstId = '';
    for (let e = 0; e < perRequest; e++) {
      const n = eventSeq++;
      const id = `d-${run}-${n}`;
      if (e === 0) firstId = id;
      events.push(eventJson(id, scene.pans[(n * 7919) % scene.pans.length]!, n, midOf(scene, n, share)));
    }
    const body = perRequest === 1 ? events[0]! : `{"events":[${events.join(',')}]}`;
    const messageId = `msg_${run}_${r}`;
    const timestamp = Math.floor(Date.now() / 1000);
    const signature = createHmac('sha256', key)
      .update(`${messageId}.${timestamp}.`)
      .update(body)
      .digest('base64');
    requests.push({
      externalId: firstId,
      body,
      headers: {
        'content-type': 'application/json',
        authorization: `Bearer ${scene.processor.apiKey}`,
        'webhook-id': messageId,
        'webhook-timestamp': String(timestamp),
        'webhook-signature': `v1,${signature}`,
      },
    });
  }
  return requests;
}

function postPrepared(
  agent: http.Agent,
  url: URL,
  prepared: Prepared,
): Promise<{ sentAt: number; answeredAt: number; status: number; body: string }> {
  return new Promise((resolve) => {
    const request = http.request(url, {
      method: 'POST',
      agent,
      headers: { ...prepared.headers, 'content-length': String(Buffer.byteLength(prepared.body)) },
    });
    const chunks: Buffer[] = [];
    request.on('error', (error) =>
      resolve({ sentAt, answeredAt: wallNow(), status: 0, body: String(error.message) }),
    );
    request.on('response', (response) => {
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () =>
        resolve({
          sentAt,
          answeredAt: wallNow(),
          status: response.statusCode ?? 0,
          body: Buffer.concat(chunks).toString('utf8'),
        }),
      );
    });
    const sentAt = wallNow();
    request.end(prepared.body);
  });
}

/** The ingest answer's results: event ids and actions per event. */
function results(body: string): { event_id: string | null; actions: number }[] {
  try {
    return (JSON.parse(body) as { results: { event_id: string | null; actions: number }[] }).results ?? [];
  } catch {
    return [];
  }
}

/**
 * Sends the prepared single-event requests at `rate` per second, each when the clock says (never waiting for
 * earlier answers), then waits for every answer.
 */
async function openLoop(serverUrl: string, prepared: Prepared[], rate: number): Promise<SentLoop> {
  const agent = new http.Agent({ keepAlive: true, scheduling: 'lifo' });
  const url = new URL(`${serverUrl}/v1/events`);
  const answers: Promise<Sent>[] = [];
  const interval = 1000 / rate;
  const startedAt = performance.now() + 20;
  let next = 0;
  const send = (p: Prepared) =>
    answers.push(
      postPrepared(agent, url, p).then((answer) => {
        const [result] = results(answer.body);
        return {
          sentAt: answer.sentAt,
          answeredAt: answer.answeredAt,
          ok: answer.status === 200,
          eventId: result?.event_id ?? null,
          actions: result?.actions ?? 0,
        };
      }),
    );
  let lateSends = 0;
  await new Promise<void>((resolve) => {
    const tick = () => {
      const now = performance.now();
      while (next < prepared.length && startedAt + next * interval <= now) {
        if (now - (startedAt + next * interval) > 5) lateSends++;
        send(prepared[next++]!);
      }
      if (next >= prepared.length) return resolve();
      setTimeout(tick, Math.max(0, startedAt + next * interval - performance.now()));
    };
    tick();
  });
  const sent = await Promise.all(answers);
  agent.destroy();
  return { sent, lateSends, startedAtWall: performance.timeOrigin + startedAt };
}

// ---------------------------------------------------------------------------------------------------------------
// Reading the database

interface Counts {
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

async function counts(sql: postgres.Sql): Promise<Counts> {
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

const diff = (after: Counts, before: Counts) =>
  Object.fromEntries(
    Object.keys(after).map((k) => [k, after[k as keyof Counts] - before[k as keyof Counts]]),
  ) as unknown as Counts;

/** Waits until nothing is queued or pending in Postgres and the sink has seen every succeeded delivery. */
async function drained(sql: postgres.Sql, sink: Sink, timeoutMs: number): Promise<void> {
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
function firstArrivals(arrivals: Arrival[]) {
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
async function verifySample(arrivals: Arrival[], scene: Scene, sample: number) {
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

// ---------------------------------------------------------------------------------------------------------------
// 1. Latency

export interface LatencyResult {
  rate: number;
  durationSeconds: number;
  warmUpSeconds: number;
  sent: number;
  achievedRate: number;
  lateSends: number;
  non2xx: number;
  matchedEvents: number;
  actions: number;
  /** Webhooks of the measured events' actions (a settlement's excepted). */
  deliveriesExpected: number;
  deliveriesArrived: number;
  /** Webhooks of settlements (points or cashback made available or reversed by a later event of the purchase). */
  settlementDeliveries: number;
  duplicates: number;
  missing: number;
  signatures: { verified: number; bad: number };
  /** Deliveries that arrived per second of the measured sends. */
  deliveriesPerSecond: number;
  /** Webhook arrival at the sink − the event's POST send time, ms. */
  latencyMs: Distribution;
  /** Every such latency, ms (0.1 ms steps), ascending: the whole distribution. */
  samplesMs: number[];
  /** POST sent → ingest answer received, ms (every measured event). */
  ingestAnswerMs: Distribution;
  /** The same latency split by the database's timestamps (server clocks, ms). */
  stagesMs: Record<string, Distribution>;
  cpuSecondsPerSecond: {
    api: number;
    worker: number;
    postgres: number;
    redis: number;
    sink: number;
    bench: number;
  };
  workerLogProblems: Record<string, number>;
}

/** The webhook types a settlement sends: a reward made available or reversed by a later event of its purchase. */
const SETTLEMENT_TYPE = /\.(available|reversed)$/;

/** The steady stream of the latency run, and what describes it in the log. */
export interface Traffic {
  /** Sends events at `rate` per second for `seconds` to the API, open loop; what became of each. */
  send(ctx: Context, rate: number, seconds: number): Promise<SentLoop>;
  description: string;
}

/** Dispatch's own traffic: authorizations, `share` of them at a MID one of the triggers names. */
export const authorizations = (share: number): Traffic => ({
  send: (ctx, rate, seconds) =>
    openLoop(ctx.server.url, prepareRequests(ctx.scene, Math.round(rate * seconds), 1, share), rate),
  description: `single authorizations, ${Math.round(share * 100)}% at a triggered MID`,
});

/**
 * Sends `traffic` at `rate` events per second for `warmUp` + `duration` seconds to the API while `worker` runs,
 * and times every webhook of the events sent after the warm-up from its event's POST to its arrival at the sink.
 */
export async function measureLatency(
  ctx: Context,
  worker: RunningProcess,
  options: { rate: number; duration: number; warmUp: number },
  traffic: Traffic,
): Promise<LatencyResult> {
  const { sql, sink, scene } = ctx;
  await sink.take();
  const logFrom = safeRead(ctx.workerLog).length;
  const total = options.warmUp + options.duration;
  console.log(
    `latency: ${options.rate} events/s for ${total} s (${options.warmUp} s warm-up), ${traffic.description}…`,
  );
  const cpuBefore = await cpuNow(ctx, worker.pid);
  const loop = await traffic.send(ctx, options.rate, total);
  const cpuAfter = await cpuNow(ctx, worker.pid);
  await drained(sql, sink, 120_000);
  const arrivals = await sink.take();
  const { first, duplicates } = firstArrivals(arrivals);

  const measuredFrom = loop.startedAtWall + options.warmUp * 1000;
  const measured = loop.sent.filter((s) => s.sentAt >= measuredFrom);
  const byEvent = new Map(measured.filter((s) => s.eventId).map((s) => [s.eventId!, s]));
  const latencies: number[] = [];
  const measuredDeliveries: string[] = [];
  let settlements = 0;
  for (const arrival of first.values()) {
    const sent = byEvent.get(arrival.parsed.data?.event?.id ?? '');
    if (!sent) continue;
    // A settlement's webhook names the purchase but follows a later clearing, refund or reversal: timed from
    // the purchase it would count the lifecycle's own delay, so it is counted apart.
    if (SETTLEMENT_TYPE.test(arrival.parsed.type ?? '')) {
      settlements++;
      continue;
    }
    latencies.push(arrival.at - sent.sentAt);
    measuredDeliveries.push(arrival.webhookId);
  }
  const eventIds = [...byEvent.keys()];
  const [expected] = await sql<{ n: string }[]>`
    select count(*) as n from deliveries d join actions a on a.id = d.action_id
    where a.purchase_id = any(${eventIds}::text[]) and d.type !~ ${SETTLEMENT_TYPE.source}`;

  // Stages, from the database's timestamps (wall-clock ms as floats).
  const stages = await sql<
    { id: string; accepted: number; done: number; started: number; completed: number }[]
  >`
    select d.id,
      extract(epoch from d.event_accepted_at) * 1000 as accepted,
      extract(epoch from a.done_at) * 1000 as done,
      extract(epoch from t.started_at) * 1000 as started,
      extract(epoch from d.completed_at) * 1000 as completed
    from deliveries d
    join actions a on a.id = d.action_id
    left join lateral (
      select started_at from delivery_attempts where delivery_id = d.id order by attempt limit 1
    ) t on true
    where d.id = any(${measuredDeliveries}::text[])`;
  // done_at is when the worker began performing the action (the perform's clock, also the delivery's created_at).
  const split: Record<string, number[]> = {
    'POST sent → event received (ingest batch time)': [],
    'event received → action job started (done_at)': [],
    'action job started → first attempt started': [],
    'attempt started → arrival at the sink': [],
    'arrival at the sink → delivery completed': [],
  };
  const bucket = Object.values(split);
  for (const row of stages) {
    const arrival = first.get(row.id)!;
    const sent = byEvent.get(arrival.parsed.data?.event?.id ?? '')!;
    const points = [sent.sentAt, row.accepted, row.done, row.started, arrival.at, row.completed];
    for (let i = 0; i < bucket.length; i++) bucket[i]!.push(Number(points[i + 1]) - Number(points[i]));
  }
  const seconds = (cpuAfter.wall - cpuBefore.wall) / 1000;
  const perSecond = (k: keyof CpuSample) => round((cpuAfter[k] - cpuBefore[k]) / seconds, 2);
  return {
    rate: options.rate,
    durationSeconds: options.duration,
    warmUpSeconds: options.warmUp,
    sent: measured.length,
    // Sends within the measured seconds (a feed's end-of-run settlement batch comes after them).
    achievedRate: Math.round(
      measured.filter((s) => s.sentAt < measuredFrom + options.duration * 1000).length / options.duration,
    ),
    lateSends: loop.lateSends,
    non2xx: measured.filter((s) => !s.ok).length,
    matchedEvents: measured.filter((s) => s.actions > 0).length,
    actions: measured.reduce((total, s) => total + s.actions, 0),
    deliveriesExpected: Number(expected!.n),
    deliveriesArrived: latencies.length,
    settlementDeliveries: settlements,
    duplicates,
    missing: Number(expected!.n) - latencies.length,
    signatures: await verifySample(arrivals, scene, 500),
    deliveriesPerSecond: round(latencies.length / Math.max(1, options.duration)),
    latencyMs: distribution(latencies),
    samplesMs: latencies.map((ms) => round(ms)).sort((x, y) => x - y),
    ingestAnswerMs: distribution(measured.map((s) => s.answeredAt - s.sentAt)),
    stagesMs: Object.fromEntries(Object.entries(split).map(([k, v]) => [k, distribution(v)])),
    cpuSecondsPerSecond: {
      api: perSecond('api'),
      worker: perSecond('worker'),
      postgres: perSecond('postgres'),
      redis: perSecond('redis'),
      sink: perSecond('sink'),
      bench: perSecond('bench'),
    },
    workerLogProblems: logProblems(ctx.workerLog, logFrom),
  };
}

// ---------------------------------------------------------------------------------------------------------------
// 2. Throughput

interface CpuSample {
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
async function cpuNow(ctx: Context, workerPid: number | null): Promise<CpuSample> {
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

interface WorkerRun {
  actions: number;
  seconds: number;
  deliveriesPerSecond: number;
  /** Start-up included: from the worker's spawn to the last arrival. */
  secondsFromSpawn: number;
  counts: Counts;
  arrived: number;
  duplicates: number;
  cpuUsPerDelivery: { worker: number; postgres: number; redis: number; sink: number };
  workerLogProblems: Record<string, number>;
}

/** Ingests `n` purchases that each fire one trigger, with no worker running: their actions wait in the queue. */
async function preload(ctx: Context, n: number): Promise<void> {
  const { scene, server, sql } = ctx;
  const requests = prepareRequests(scene, Math.ceil(n / PRELOAD_BATCH), PRELOAD_BATCH, 1);
  const agent = new http.Agent({ keepAlive: true });
  const url = new URL(`${server.url}/v1/events`);
  let next = 0;
  let actions = 0;
  const queuedBefore = (await counts(sql)).actionsQueued;
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      while (next < requests.length) {
        const answer = await postPrepared(agent, url, requests[next++]!);
        if (answer.status !== 200) throw new Error(`preload: ${answer.status} ${answer.body.slice(0, 500)}`);
        for (const r of results(answer.body)) actions += r.actions;
      }
    }),
  );
  agent.destroy();
  const want = requests.length * PRELOAD_BATCH;
  if (actions !== want) throw new Error(`preload: ${actions} actions from ${want} purchases, not one each`);
  await until(
    `${want} actions queued in Postgres and Redis`,
    async () =>
      (await counts(sql)).actionsQueued - queuedBefore === want &&
      (await ctx.actionsQueue.getWaitingCount()) >= want,
    60_000,
    100,
  );
}

async function measureWorker(
  ctx: Context,
  n: number,
  settings: Record<string, string> = {},
): Promise<WorkerRun> {
  const { sql, sink } = ctx;
  await preload(ctx, n);
  await sink.take();
  const before = await counts(sql);
  const sinkBefore = (await sink.count()).distinct;
  const logFrom = safeRead(ctx.workerLog).length;
  const spawnedAt = wallNow();
  const nodeArgs = process.env.BENCH_WORKER_NODE_ARGS?.split(' ').filter(Boolean) ?? [];
  const worker = startNodeProcess('workers/main.ts', {
    env: { ...ctx.workerEnv, ...settings },
    logFile: ctx.workerLog,
    nodeArgs,
  });
  try {
    // Timed from the first job the worker takes (start-up is tsx compiling and connecting, not dispatch).
    let startedAt = 0;
    let cpuStart: CpuSample | undefined;
    await until(
      'the worker to take its first job',
      async () => {
        if ((await ctx.actionsQueue.getWaitingCount()) < n) {
          startedAt = wallNow();
          cpuStart = await cpuNow(ctx, worker.pid);
          return true;
        }
        return false;
      },
      120_000,
      5,
    );
    await until(
      `${n} deliveries at the sink`,
      async () => (await sink.count()).distinct - sinkBefore >= n,
      600_000,
      20,
    );
    const cpuEnd = await cpuNow(ctx, worker.pid);
    const arrivals = await sink.take();
    const { first, duplicates } = firstArrivals(arrivals);
    const lastAt = Math.max(...arrivals.map((a) => a.at));
    const firstAt = Math.min(...arrivals.map((a) => a.at));
    const start = Math.min(startedAt, firstAt);
    await drained(sql, sink, 60_000);
    const after = await counts(sql);
    const seconds = (lastAt - start) / 1000;
    const per = (k: keyof CpuSample) => Math.round(((cpuEnd[k] - cpuStart![k]) * 1e6) / n);
    return {
      actions: n,
      seconds: round(seconds, 3),
      deliveriesPerSecond: Math.round(n / seconds),
      secondsFromSpawn: round((lastAt - spawnedAt) / 1000, 3),
      counts: diff(after, before),
      arrived: first.size,
      duplicates,
      cpuUsPerDelivery: {
        worker: per('worker'),
        postgres: per('postgres'),
        redis: per('redis'),
        sink: per('sink'),
      },
      workerLogProblems: logProblems(ctx.workerLog, logFrom),
    };
  } finally {
    await worker.stop();
  }
}

interface BaselineRun {
  perSecond: number;
  seconds: number;
  /** CPU per job or POST, µs: the baseline's process, and Redis (no-op) or the sink (POSTs) over its run. */
  cpuUs: { process: number; other: number };
}

async function measureNoop(ctx: Context, n: number, round_: number): Promise<BaselineRun> {
  const name = `noop-baseline-${round_}`;
  const queue = new Queue(name, { connection: ctx.redis, prefix: ctx.queuePrefix });
  for (let at = 0; at < n; at += 1000) {
    await queue.addBulk(
      Array.from({ length: Math.min(1000, n - at) }, (_, i) => ({
        name: 'noop',
        data: { n: at + i },
        opts: { removeOnComplete: true, removeOnFail: true },
      })),
    );
  }
  const redisBefore = cpuSeconds(ctx.sink.pid, ctx.redisPort).redis;
  const result = await runBaseline(
    'noop',
    name,
    n,
    { REDIS_URL: ctx.redisUrl, QUEUE_PREFIX: ctx.queuePrefix },
    ctx.workerLog,
  );
  const redis = cpuSeconds(ctx.sink.pid, ctx.redisPort).redis - redisBefore;
  await queue.obliterate({ force: true });
  await queue.close();
  if (result.done !== n) throw new Error(`noop baseline: ${result.done} of ${n} jobs completed`);
  return {
    perSecond: Math.round(n / result.seconds),
    seconds: round(result.seconds, 3),
    cpuUs: { process: Math.round((result.cpuSeconds * 1e6) / n), other: Math.round((redis * 1e6) / n) },
  };
}

async function measurePosts(ctx: Context, n: number): Promise<BaselineRun> {
  const sinkBefore = cpuSeconds(ctx.sink.pid).tree;
  const result = await runBaseline(
    'post',
    `${ctx.sink.url}/baseline`,
    n,
    { WEBHOOK_SECRET: ctx.scene.apps[0]!.webhookSecret },
    ctx.workerLog,
  );
  const sink = cpuSeconds(ctx.sink.pid).tree - sinkBefore;
  await ctx.sink.take();
  if (result.done !== n) throw new Error(`post baseline: ${result.done} of ${n} answered 2xx`);
  return {
    perSecond: Math.round(n / result.seconds),
    seconds: round(result.seconds, 3),
    cpuUs: { process: Math.round((result.cpuSeconds * 1e6) / n), other: Math.round((sink * 1e6) / n) },
  };
}

// ---------------------------------------------------------------------------------------------------------------

export interface Context {
  sql: postgres.Sql;
  sink: Sink;
  scene: Scene;
  server: RunningServer;
  redis: Redis;
  redisUrl: string;
  redisPort: number;
  queuePrefix: string;
  actionsQueue: Queue;
  workerEnv: Record<string, string>;
  workerLog: string;
}

export function printTable(title: string, header: string[], lines: string[][]) {
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => (l[i] ?? '').length)));
  const fmt = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ');
  console.log(`\n${title}\n${fmt(header)}\n${widths.map((w) => '-'.repeat(w)).join('  ')}`);
  for (const line of lines) console.log(fmt(line));
}

const n0 = (n: number) => Math.round(n).toLocaleString('en-US');

/** The latency run's figures as rows: measure, value, target. */
export function latencyLines(latency: LatencyResult): string[][] {
  return [
    ['events sent (measured)', `${n0(latency.sent)} at ${n0(latency.achievedRate)}/s`, ''],
    ['events not taken (non-2xx) / late sends', `${latency.non2xx} / ${latency.lateSends}`, '0'],
    [
      'events firing / actions',
      `${n0(latency.matchedEvents)} (${round((latency.matchedEvents / Math.max(1, latency.sent)) * 100)}%) / ${n0(latency.actions)}`,
      '',
    ],
    ['webhooks arrived per second (settlements excepted)', String(latency.deliveriesPerSecond), ''],
    ['settlement webhooks (not timed: they follow a later event)', n0(latency.settlementDeliveries), ''],
    [
      'deliveries arrived / expected / duplicates',
      `${n0(latency.deliveriesArrived)} / ${n0(latency.deliveriesExpected)} / ${latency.duplicates}`,
      'all',
    ],
    [
      'signatures verified (standardwebhooks) / bad',
      `${latency.signatures.verified} / ${latency.signatures.bad}`,
      '0 bad',
    ],
    [
      'latency p50 / p90 / p99 / max, ms',
      `${latency.latencyMs.p50} / ${latency.latencyMs.p90} / ${latency.latencyMs.p99} / ${latency.latencyMs.max}`,
      'p50 ≤ 20, p99 ≤ 100',
    ],
    ['ingest answer p50 / p99, ms', `${latency.ingestAnswerMs.p50} / ${latency.ingestAnswerMs.p99}`, ''],
    ...Object.entries(latency.stagesMs).map(([k, d]) => [`  ${k} p50 / p99`, `${d.p50} / ${d.p99}`, '']),
    [
      'CPU s/s: api, worker, postgres, redis, sink, bench',
      Object.values(latency.cpuSecondsPerSecond).join(', '),
      '',
    ],
  ];
}

/** What a flow bench runs on: its own database and queue prefix, the sink, the API, the scene. */
export interface FlowConfig {
  /** Names the logs and the queue prefix. */
  label: string;
  databaseUrl: string;
  apps: number;
  scene: SceneSpec;
  logLevel: string;
  /** Keep the database afterwards, for a look at what the run left. */
  keep: boolean;
}

export interface Flow {
  ctx: Context;
  machine: MachineCheck;
  loadAtStart: number[];
  /** The worker's settings passed through from this environment. */
  knobs: Record<string, string>;
  /** Stops what it started and removes the database and the queue keys. */
  close(): Promise<void>;
}

/**
 * Starts the sink and the API on a fresh database, times the machine, and builds the scene (`apps` apps on the
 * sink, their triggers, the cardholders). No worker yet: each measurement starts its own.
 */
export async function openFlow(config: FlowConfig): Promise<Flow> {
  const { databaseUrl, label } = config;
  const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  const secrets = {
    ADMIN_TOKEN: randomBytes(24).toString('base64url'),
    CARD_FINGERPRINT_KEY: randomBytes(32).toString('base64url'),
    SECRETS_KEY: randomBytes(32).toString('base64url'),
  };
  const startedAt = Date.now();
  const loadAtStart = loadavg();
  const queuePrefix = `bench${label.slice(0, 1)}${startedAt.toString(36)}`;
  const logs = {
    server: `${tmpdir()}/cardlink-bench-${label}-api-${startedAt}.log`,
    worker: `${tmpdir()}/cardlink-bench-${label}-worker-${startedAt}.log`,
    sink: `${tmpdir()}/cardlink-bench-${label}-sink-${startedAt}.log`,
  };
  const knobs = Object.fromEntries(
    Object.entries(process.env).filter((e): e is [string, string] => WORKER_ENV.test(e[0]) && Boolean(e[1])),
  );
  const common = {
    NODE_ENV: 'production',
    DATABASE_URL: databaseUrl,
    REDIS_URL: redisUrl,
    QUEUE_PREFIX: queuePrefix,
    LOG_LEVEL: config.logLevel,
    ALLOW_PRIVATE_WEBHOOKS: 'true',
    ...secrets,
  };
  console.log(
    `${label} bench: fresh database ${new URL(databaseUrl).pathname.slice(1)}, queue prefix ${queuePrefix}\n` +
      `  logs: ${logs.server}, ${logs.worker}, ${logs.sink}` +
      (Object.keys(knobs).length > 0 ? `\n  worker settings: ${JSON.stringify(knobs)}` : ''),
  );
  await dropDatabase(databaseUrl);
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: null });
  const cleanups: (() => Promise<unknown>)[] = [];
  const close = async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
    await removeKeys(redisUrl, `${queuePrefix}:*`).catch(() => {});
    redis.disconnect();
    if (!config.keep) await dropDatabase(databaseUrl).catch(() => {});
  };
  try {
    const sink = await startSink(logs.sink);
    cleanups.push(() => sink.stop());
    const server = await startServer({ ...common, ...knobs }, logs.server);
    cleanups.push(() => server.stop());
    const sql = postgres(databaseUrl, { max: 2, onnotice: () => {} });
    cleanups.push(() => sql.end({ timeout: 5 }));
    const actionsQueue = new Queue('actions', { connection: redis, prefix: queuePrefix });
    cleanups.push(() => actionsQueue.close());

    const machine: MachineCheck = await machineCheck(sql);
    console.log(
      `machine check (fixed workloads, lower is faster): node ${machine.nodeMs} ms, postgres ${machine.postgresMs} ms, ` +
        `commit ${machine.commitMs} ms; load average ${loadAtStart.map((l) => l.toFixed(1)).join(' ')}`,
    );
    const scene = await buildScene(server.url, sink.url, databaseUrl, secrets, config.apps, config.scene);
    console.log(`scene: ${JSON.stringify(config.scene.description)}, every cardholder granting every app`);
    const ctx: Context = {
      sql,
      sink,
      scene,
      server,
      redis,
      redisUrl,
      redisPort: Number(new URL(redisUrl).port || 6379),
      queuePrefix,
      actionsQueue,
      workerEnv: { ...common, ...knobs },
      workerLog: logs.worker,
    };
    return { ctx, machine, loadAtStart, knobs, close };
  } catch (error) {
    await close();
    throw error;
  }
}

export async function run(args: string[]): Promise<ScenarioResult> {
  const options = parseOptions(args);
  const startedAt = new Date();
  const flow = await openFlow({
    label: 'dispatch',
    databaseUrl:
      process.env.BENCH_DISPATCH_DATABASE_URL ?? 'postgres://root@127.0.0.1:5432/cardlink_bench_dispatch',
    apps: options.apps,
    scene: dispatchScene(options.apps),
    logLevel: options.logLevel,
    keep: options.keep,
  });
  const { ctx, machine, loadAtStart, knobs } = flow;
  try {
    let latency: LatencyResult | null = null;
    if (options.only === null || options.only === 'latency') {
      const worker = await startWorker(ctx);
      try {
        latency = await measureLatency(ctx, worker, options, authorizations(options.share));
      } finally {
        await worker.stop();
      }
    }

    const runs: {
      worker: WorkerRun | null;
      /** With --compare: the worker with those settings, measured in the same repeat. */
      compared: WorkerRun | null;
      noop: BaselineRun;
      posts: BaselineRun;
    }[] = [];
    if (options.only !== 'latency' && options.repeat > 0) {
      for (let r = 0; r < options.repeat; r++) {
        console.log(
          `throughput ${r + 1}/${options.repeat}: ${n0(options.actions)} actions, no-op worker, signed POSTs…`,
        );
        let worker: WorkerRun | null = null;
        let compared: WorkerRun | null = null;
        if (options.only !== 'baselines') {
          // In turn, so that neither setting always runs on the emptier database.
          if (options.compare && r % 2 === 1)
            compared = await measureWorker(ctx, options.actions, options.compare);
          worker = await measureWorker(ctx, options.actions);
          if (options.compare && r % 2 === 0)
            compared = await measureWorker(ctx, options.actions, options.compare);
        }
        const noop = await measureNoop(ctx, options.actions, r);
        const posts = await measurePosts(ctx, options.actions);
        console.log(
          `  ${worker ? `worker ${n0(worker.deliveriesPerSecond)} deliveries/s (${worker.seconds} s), ` : ''}` +
            `${compared ? `with ${settingsText(options.compare)}: ${n0(compared.deliveriesPerSecond)}/s, ` : ''}` +
            `no-op ${n0(noop.perSecond)} jobs/s, signed POSTs ${n0(posts.perSecond)}/s`,
        );
        runs.push({ worker, compared, noop, posts });
      }
    }

    const summary: SummaryRow[] = [];
    if (latency) {
      const lines = latencyLines(latency);
      summary.push(
        ...lines.map(([measure, value, target]) => ({ measure: measure!, value: value!, target: target! })),
      );
      printTable(`1. Latency at ${options.rate} events/s`, ['measure', 'value', 'target'], lines);
    }
    let throughput: Record<string, unknown> | null = null;
    if (runs.length > 0) {
      const med = (pick: (r: (typeof runs)[number]) => number) => median(runs.map(pick));
      const samples = (pick: (r: (typeof runs)[number]) => number) => runs.map((r) => n0(pick(r))).join(', ');
      const workerRuns = runs.flatMap((r) => (r.worker ? [{ ...r, worker: r.worker }] : []));
      const wmed = (pick: (w: WorkerRun) => number) => median(workerRuns.map((r) => pick(r.worker)));
      const wsamples = (pick: (w: WorkerRun) => number) =>
        workerRuns.map((r) => n0(pick(r.worker))).join(', ');
      const ratios = workerRuns.map((r) => r.worker.deliveriesPerSecond / r.noop.perSecond);
      throughput = {
        deliveriesPerSecond: workerRuns.length > 0 ? wmed((w) => w.deliveriesPerSecond) : null,
        noopJobsPerSecond: med((r) => r.noop.perSecond),
        signedPostsPerSecond: med((r) => r.posts.perSecond),
        workerOverNoop: workerRuns.length > 0 ? round(median(ratios), 3) : null,
        compare: options.compare,
        comparedDeliveriesPerSecond: options.compare
          ? median(runs.flatMap((r) => (r.compared ? [r.compared.deliveriesPerSecond] : [])))
          : null,
        runs,
      };
      const lines = [
        [
          'BullMQ no-op worker, concurrency 100: jobs/s',
          n0(med((r) => r.noop.perSecond)),
          samples((r) => r.noop.perSecond),
          '8,000–9,800 here',
        ],
        [
          'signed POSTs to the sink, concurrency 100: /s',
          n0(med((r) => r.posts.perSecond)),
          samples((r) => r.posts.perSecond),
          '12,000–14,500 here',
        ],
        [
          'CPU µs per job: no-op worker + redis; per POST: client + sink',
          `${med((r) => r.noop.cpuUs.process)} + ${med((r) => r.noop.cpuUs.other)}; ` +
            `${med((r) => r.posts.cpuUs.process)} + ${med((r) => r.posts.cpuUs.other)}`,
          '',
          '',
        ],
      ];
      if (workerRuns.length > 0) {
        const last = workerRuns.at(-1)!.worker.counts;
        const problems = workerRuns.flatMap((r) =>
          Object.entries(r.worker.workerLogProblems).map(([k, v]) => `${k} ×${v}`),
        );
        const cpu = (k: keyof WorkerRun['cpuUsPerDelivery']) => wmed((w) => w.cpuUsPerDelivery[k]);
        lines.unshift(
          [
            'worker: deliveries/s',
            n0(wmed((w) => w.deliveriesPerSecond)),
            wsamples((w) => w.deliveriesPerSecond),
            '≥ 3,000',
          ],
          [
            'worker ÷ no-op',
            `${round(median(ratios) * 100)}%`,
            ratios.map((x) => `${round(x * 100)}%`).join(', '),
            '≥ 40%',
          ],
        );
        const comparedRuns = runs.flatMap((r) =>
          r.compared ? [{ compared: r.compared, noop: r.noop, worker: r.worker! }] : [],
        );
        if (comparedRuns.length > 0) {
          const cmed = (pick: (w: WorkerRun) => number) => median(comparedRuns.map((r) => pick(r.compared)));
          const against = comparedRuns.map(
            (r) => r.compared.deliveriesPerSecond / r.worker.deliveriesPerSecond,
          );
          const label = settingsText(options.compare);
          lines.splice(
            2,
            0,
            [
              `worker with ${label}: deliveries/s`,
              n0(cmed((w) => w.deliveriesPerSecond)),
              comparedRuns.map((r) => n0(r.compared.deliveriesPerSecond)).join(', '),
              '',
            ],
            [
              `  ÷ the worker as configured (same repeat)`,
              `${round(median(against) * 100)}%`,
              against.map((x) => `${round(x * 100)}%`).join(', '),
              '',
            ],
            [
              `  CPU µs/delivery: worker, postgres`,
              `${cmed((w) => w.cpuUsPerDelivery.worker)}, ${cmed((w) => w.cpuUsPerDelivery.postgres)}`,
              '',
              '',
            ],
          );
        }
        lines.push(
          [
            'worker from its spawn (start-up included): s',
            String(wmed((w) => w.secondsFromSpawn)),
            workerRuns.map((r) => String(r.worker.secondsFromSpawn)).join(', '),
            '',
          ],
          [
            'CPU µs/delivery: worker, postgres, redis, sink',
            `${cpu('worker')}, ${cpu('postgres')}, ${cpu('redis')}, ${cpu('sink')}`,
            '',
            '',
          ],
          [
            'last run: actions done, deliveries ok, attempts, ledger entries, rewards',
            `${last.actionsDone}, ${last.deliveriesSucceeded}, ${last.attempts}, ${last.ledgerEntries}, ${last.rewards}`,
            '',
            '',
          ],
          [
            'deliveries arrived / duplicates',
            '',
            workerRuns.map((r) => `${r.worker.arrived} / ${r.worker.duplicates}`).join(', '),
            '',
          ],
          ['worker log warnings', problems.join('; ') || 'none', '', ''],
        );
      }
      printTable(
        `2. Throughput (${n0(options.actions)} per run; medians of ${runs.length})`,
        ['measure', 'median', 'runs', 'target'],
        lines,
      );
      summary.push(
        ...lines.map(([measure, value, samples, target]) => ({
          measure: measure!,
          value: !samples || samples === value ? value! : value ? `${value} (runs: ${samples})` : samples,
          target: target!,
        })),
      );
    }

    return {
      record: {
        scenario: 'dispatch',
        started_at: startedAt.toISOString(),
        commit: gitCommit(),
        machine: machineRecord(loadAtStart, machine),
        options,
        worker_settings: knobs,
        scene: dispatchScene(options.apps).description,
        latency,
        throughput,
      },
      summary,
      charts: latency ? { latencyMs: latency.samplesMs } : {},
    };
  } finally {
    await flow.close();
  }
}
