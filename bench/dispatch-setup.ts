/**
 * The set-up of the flow benches (dispatch and e2e, bench/e2e.ts): a fresh database, the webhook sink, the API and
 * worker child processes, and the scene (a processor, apps on the sink with their triggers, the cardholders).
 */
import { randomBytes } from 'node:crypto';
import { loadavg, tmpdir } from 'node:os';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import postgres from 'postgres';
import { CardKeys } from '../src/cards/card-keys.ts';
import { schemeOf } from '../src/cards/pan.ts';
import { createDatabase } from '../src/db/client.ts';
import { cards, grants, users } from '../src/db/schema/index.ts';
import { ApiClient } from '../src/demo/client.ts';
import { nextGrantChangeSeq } from '../src/grants/changes.ts';
import { newId } from '../src/lib/ids.ts';
import { until } from './dispatch-readings.ts';
import type { Arrival, SinkMessage, SinkRequest } from './dispatch-sink.ts';
import { benchPan, type MachineCheck, machineCheck, removeKeys } from './ingest.ts';
import {
  dropDatabase,
  type RunningProcess,
  type RunningServer,
  startNodeProcess,
  startServer,
} from './server.ts';

const CARDHOLDERS = 1_000;
const MIDS_PER_TRIGGER = 10;
/** MIDs no trigger names, for the purchases that match nothing. */
const OTHER_MIDS = 2_000;
export const WORKER_ENV = /^(ACTIONS_|DELIVERY_|DISPATCH_|WEBHOOK_|DATABASE_PREPARE_)/;

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
export function midOf(scene: Scene, n: number, share: number): string {
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
  const client = new ApiClient(serverUrl);
  const { body: created } = await client.call<{ id: string; api_key: string; signing_secret: string }>(
    'POST',
    '/v1/processors',
    {
      token: admin,
      body: {
        name: 'Bench processor',
        ...(stripeEndpointSecret ? { stripe_endpoint_secret: stripeEndpointSecret } : {}),
      },
    },
  );
  const processor = {
    id: created.id,
    apiKey: created.api_key,
    signingSecret: created.signing_secret,
    ...(stripeEndpointSecret ? { stripeEndpointSecret } : {}),
  };
  const apps: BenchApp[] = [];
  for (let a = 0; a < appCount; a++) {
    const { body: app } = await client.call<{
      id: string;
      client_id: string;
      client_secret: string;
      webhook_secret: string;
    }>('POST', '/v1/apps', {
      token: admin,
      body: {
        name: `Bench app ${a}`,
        webhook_url: `${sinkUrl}/apps/${a}`,
        scopes: ['transactions', 'cashback'],
        fee: { fixed: 1, bps: 50, currency: 'USD' },
      },
    });
    const { body: issued } = await client.call<{ access_token: string }>('POST', '/oauth/token', {
      basic: [app.client_id, app.client_secret],
      form: { grant_type: 'client_credentials' },
    });
    const token = issued.access_token;
    for (const trigger of spec.triggersOf(a))
      await client.call('POST', '/v1/triggers', { token, body: trigger });
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
// The flow: what a measurement runs on

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
