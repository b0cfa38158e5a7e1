/**
 * `npm run demo`: finds (or starts) the platform, starts the local app that receives the webhooks, seeds the
 * scene through the API, runs a simulated processor feed with a progress bar while the app prints each
 * webhook, waits for the last ones, and ends with a summary and the URLs to look at.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { createRequire } from 'node:module';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { progressBar } from '../cli/progress.ts';
import type { SimulationSummary } from '../simulator/simulate.ts';
import { simulate } from '../simulator/simulate.ts';
import { ApiClient } from './client.ts';
import { findOrStartPlatform, type Platform } from './platform.ts';
import type { Arrival, ParentMessage, ReceiverMessage } from './receiver.ts';
import { type Cardholder, DEMO_PASSWORD, demoApps, demoCardholders, worldCards } from './scene.ts';
import { appToken, type SeededScene, seedScene } from './seed.ts';
import { DemoState } from './state.ts';
import { type DemoSummary, formatDemoSummary, type Usage, usageDelta } from './summary.ts';

export interface DemoOptions {
  /** The platform (its PUBLIC_URL, or http://localhost:$PORT). */
  baseUrl: string;
  adminToken: string;
  /** Where the operator token is, in words, for the summary. */
  adminTokenSource: string;
  cardholders: number;
  /** Seconds of simulated feed, and its events per second. */
  duration: number;
  rate: number;
  seed: string;
  /** Cardholders seeded at once. */
  concurrency: number;
  stateFile: string;
  /** Start the platform when nothing answers (default), or fail. */
  startPlatform: boolean;
  /** Tally the `grant.created` webhooks seeding causes instead of printing each. */
  quietGrants: boolean;
  /** How long to wait for the last webhooks after the feed, seconds. */
  drainTimeout: number;
}

const RECEIVER = fileURLToPath(new URL('./receiver.ts', import.meta.url));
/** tsx by its own path: `--import tsx` would be looked up from the working directory, wherever the demo runs. */
export const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
/** The webhook each action sends first: its latency is the event's. */
export const FIRST_WEBHOOK_TYPES = new Set([
  'points.pending',
  'cashback.pending',
  'receipt.created',
  'coupon.issued',
  'transaction.notified',
  'social_post.requested',
]);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Receiver {
  child: ChildProcess;
  port: number;
  arrivals: Arrival[];
  send(message: ParentMessage): void;
  stop(): Promise<void>;
}

async function startReceiver(
  print: (line: string) => void,
  quietGrants: boolean,
  onSpawn: (stop: () => Promise<void>) => void,
): Promise<Receiver> {
  const child = fork(RECEIVER, quietGrants ? ['--quiet-grants'] : [], {
    execArgv: ['--import', TSX],
    stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
  });
  const arrivals: Arrival[] = [];
  createInterface({ input: child.stdout! }).on('line', print);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  };
  onSpawn(stop);
  const port = await new Promise<number>((resolve, reject) => {
    child.on('message', (message: ReceiverMessage) => {
      if (message.type === 'ready') resolve(message.port);
      else arrivals.push(message);
    });
    child.once('exit', (code) => reject(new Error(`the webhook receiver exited (${code})`)));
  });
  return {
    child,
    port,
    arrivals,
    send: (message) => child.send(message),
    stop,
  };
}

const utcMonth = (d: Date) => d.toISOString().slice(0, 7);

async function usageOf(client: ApiClient, adminToken: string, scene: SeededScene, month: string) {
  const usage: Record<string, Usage> = {};
  for (const app of scene.apps) {
    const answer = await client.call<Usage>('GET', `/v1/apps/${app.id}/usage?month=${month}`, {
      token: adminToken,
    });
    usage[app.key] = answer.body;
  }
  return usage;
}

/** This run's deliveries the apps have in a status (each app's own view, `GET /v1/deliveries`, newest first). */
async function deliveriesIn(
  client: ApiClient,
  scene: SeededScene,
  status: string,
  since: Date,
): Promise<number> {
  let total = 0;
  for (const app of scene.apps) {
    const token = await appToken(client, app);
    const deliveries = await client.all<{ id: string; created_at: string }>(
      `/v1/deliveries?status=${status}`,
      { token },
      (delivery) => Date.parse(delivery.created_at) >= since.getTime(),
    );
    total += deliveries.length;
  }
  return total;
}

/** The actions fired by this run's events that have sent their first webhook. */
function firstWebhooks(arrivals: Arrival[], sentAt: Map<string, number>): Map<string, Arrival> {
  const first = new Map<string, Arrival>();
  for (const arrival of arrivals) {
    if (!arrival.verified || !arrival.actionId || !arrival.eventId) continue;
    if (!FIRST_WEBHOOK_TYPES.has(arrival.event) || !sentAt.has(arrival.eventId)) continue;
    if (!first.has(arrival.actionId)) first.set(arrival.actionId, arrival);
  }
  return first;
}

export async function runDemo(options: DemoOptions): Promise<DemoSummary> {
  const startedAt = performance.now();
  // Deliveries created since are this run's (a re-run finds the earlier runs' too).
  const runStarted = new Date();
  const bar = progressBar();
  const say = (line: string) => bar.line(line);
  const client = new ApiClient(options.baseUrl);
  let platform: Platform | undefined;
  let receiver: Receiver | undefined;
  // The processes the demo started, from the moment they are spawned (ready or not).
  let stopReceiver: (() => Promise<void>) | undefined;
  let stopPlatform: (() => Promise<void>) | undefined;
  // Interrupted (Ctrl-C, a SIGTERM): the flag stops the main flow, the processes it started go with it, and the
  // exit code is a shell's (128 + the signal's number).
  const interruption = new AbortController();
  const interrupted = (signal: NodeJS.Signals) => {
    if (interruption.signal.aborted) return;
    interruption.abort();
    bar.done();
    void (async () => {
      await stopReceiver?.();
      await stopPlatform?.();
      process.exit(signal === 'SIGINT' ? 130 : 143);
    })();
  };
  const goOn = () => {
    if (interruption.signal.aborted) throw new Error('interrupted');
  };
  process.on('SIGINT', interrupted);
  process.on('SIGTERM', interrupted);
  try {
    platform = await findOrStartPlatform(options.baseUrl, say, {
      start: options.startPlatform,
      signal: interruption.signal,
      onSpawn: (stop) => {
        stopPlatform = stop;
      },
    });
    goOn();
    receiver = await startReceiver(say, options.quietGrants, (stop) => {
      stopReceiver = stop;
    });
    goOn();
    const webhookBase = `http://127.0.0.1:${receiver.port}`;
    say(`the local app listens on ${webhookBase} and verifies every webhook with standardwebhooks`);

    const apps = demoApps(new Date());
    const holders = demoCardholders(options.seed, options.cardholders, apps);
    say(
      `seeding through the API: 4 apps, 50 merchants, ${options.cardholders.toLocaleString('en-US')} cardholders ` +
        `with their cards and connected apps (${options.concurrency} at a time)…`,
    );
    const seedStarted = performance.now();
    const { body: discovery } = await client.call<{ issuer: string }>(
      'GET',
      '/.well-known/oauth-authorization-server',
    );
    const state = new DemoState(options.stateFile, discovery.issuer);
    const scene = await seedScene({
      client,
      adminToken: options.adminToken,
      state,
      apps,
      holders,
      webhookBase,
      concurrency: options.concurrency,
      log: say,
      // The local app must know each app's secret before the first grant.created webhook comes.
      onApps: (seeded) =>
        receiver?.send({
          type: 'apps',
          apps: seeded.map((app) => ({ key: app.key, name: app.name, secret: app.webhookSecret })),
        }),
      onCardholder: (done, total) => {
        if (interruption.signal.aborted) return;
        const seconds = (performance.now() - seedStarted) / 1000;
        bar.draw(
          done / total,
          `${done}/${total} cardholders signed up, cards enrolled, apps connected · ${(done / seconds).toFixed(1)}/s · ${seconds.toFixed(0)} s`,
        );
      },
    });
    bar.done();
    goOn();
    const seedSeconds = (performance.now() - seedStarted) / 1000;
    say(`seeded in ${seedSeconds.toFixed(1)} s`);

    const month = utcMonth(new Date());
    const usageBefore = await usageOf(client, options.adminToken, scene, month);
    say(
      `simulated processor feed: ${options.rate} events/s for ${options.duration} s over ` +
        `${worldCards(options.cardholders).toLocaleString('en-US')} cards (seed ${JSON.stringify(options.seed)})…`,
    );
    const feed: SimulationSummary = await simulate(
      {
        seed: options.seed,
        cards: worldCards(options.cardholders),
        rate: options.rate,
        duration: options.duration,
        baseUrl: options.baseUrl,
        processor: scene.processor,
        signal: interruption.signal,
      },
      (progress) => bar.update(progress),
    );
    bar.done();
    goOn();

    // The last webhooks: every action this run's events fired has sent its first one, then those that follow
    // (a clearing's `.available`, a refund's `.reversed`) until a quiet second or two.
    const sentAt = new Map<string, number>();
    for (const event of feed.events)
      if (event.eventId && event.status === 'accepted') sentAt.set(event.eventId, event.sentAt);
    const expected = feed.answers.actions;
    say(`waiting for the webhooks of the ${expected.toLocaleString('en-US')} actions the feed fired…`);
    const deadline = Date.now() + options.drainTimeout * 1000;
    while (Date.now() < deadline && firstWebhooks(receiver.arrivals, sentAt).size < expected) {
      goOn();
      await sleep(250);
    }
    const quietUntil = Math.min(deadline, Date.now() + 15_000);
    for (let seen = -1; Date.now() < quietUntil && seen !== receiver.arrivals.length; ) {
      goOn();
      seen = receiver.arrivals.length;
      await sleep(2000);
    }
    goOn();
    const pending = await deliveriesIn(client, scene, 'pending', runStarted);

    const first = firstWebhooks(receiver.arrivals, sentAt);
    const usageAfter = await usageOf(client, options.adminToken, scene, month);
    const summary: DemoSummary = {
      baseUrl: options.baseUrl,
      platformStarted: platform.started,
      seed: options.seed,
      seedSeconds,
      wallSeconds: 0,
      scene: {
        apps: scene.apps.length,
        merchants: Object.keys(scene.merchantIds).length,
        cardholders: holders.length,
        cards: holders.reduce((n, h) => n + h.cards.length, 0),
        grants: holders.reduce((n, h) => n + h.apps.length, 0),
        counts: scene.counts,
      },
      feed,
      actionsExpected: expected,
      actionsDelivered: first.size,
      actionsByType: usageDelta(usageBefore, usageAfter),
      arrivals: receiver.arrivals,
      sentAt,
      latencies: [...first.values()].map((a) => a.at - sentAt.get(a.eventId!)!),
      pendingDeliveries: pending,
      failedDeliveries: await deliveriesIn(client, scene, 'failed', runStarted),
      account: { email: busiestCardholder(feed, holders).email, password: DEMO_PASSWORD },
      adminTokenSource: options.adminTokenSource,
    };
    summary.wallSeconds = (performance.now() - startedAt) / 1000;
    goOn();
    process.stdout.write(formatDemoSummary(summary));
    return summary;
  } catch (error) {
    // Interrupted: the signal handler stops what the demo started and exits; nothing more to say here.
    if (interruption.signal.aborted) await new Promise<never>(() => {});
    throw error;
  } finally {
    process.off('SIGINT', interrupted);
    process.off('SIGTERM', interrupted);
    bar.done();
    await receiver?.stop();
    if (platform?.started) {
      say('stopping the platform the demo started…');
      await platform.stop();
    }
  }
}

/**
 * The cardholder whose cards' events fired the most actions, for the account page the summary names: it then
 * shows rewards, receipts and activity. Cardholder i holds simulated cards 2i and 2i+1 (src/demo/scene.ts).
 */
function busiestCardholder(feed: SimulationSummary, holders: Cardholder[]): Cardholder {
  const fired = new Map<number, number>();
  for (const event of feed.events) {
    if (event.status !== 'accepted' || event.actions === 0) continue;
    const holder = Math.floor(event.card / 2);
    fired.set(holder, (fired.get(holder) ?? 0) + event.actions);
  }
  let busiest = 0;
  for (const [holder, actions] of fired)
    if (holder < holders.length && actions > (fired.get(busiest) ?? 0)) busiest = holder;
  return holders[busiest]!;
}
