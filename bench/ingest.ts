/**
 * `npm run bench -- ingest [--large | --large=<events>] [--duration=15] [--repeat=3] [--warm-up=5]
 *   [--batch-connections=8] [--log-level=info] [--only=a|b] [--no-triggers] [--sweep=1000,10000]`
 *
 * Starts the real server (`tsx src/main.ts --api`, its own database `cardlink_bench`, dropped first so the
 * tables start empty, created and migrated by the app itself), seeds 100,000 enrolled cards, registers a
 * processor through the API and measures POST /v1/events with autocannon, every request carrying unique
 * event ids and a fresh Standard Webhooks signature:
 *   (a) single-event requests at 32 connections;
 *   (b) batches of 500 events;
 *   (c) with --large: (b) again after 5,000,000 events are stored (bulk SQL into the real tables:
 *       `events`, partitioned by month, spread over the last 60 days, and the `event_keys` ledger);
 *   then (unless --no-triggers) (a) and (b) again with 100,000 triggers of 1,000 apps loaded, every cardholder
 *       granting 1 to 10 apps and about 30% of purchases firing one or more (bench/ingest-triggers.ts),
 *       each compared with its run without triggers (use --no-triggers with --large for a clean (c));
 *       with --sweep, (b) first at each of those trigger counts (multiples of 1,000: the world loaded in steps,
 *       the first 1, 10, … triggers of every app, purchases aimed at them as often), for the chart of
 *       throughput against the number of triggers.
 * Each phase is measured --repeat times after a --warm-up of its own shape; the table shows medians (the 2 cores
 * are shared). Prints a table; `npm run bench` writes the results. Targets are reported, never asserted.
 */
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { loadavg, tmpdir } from 'node:os';
import autocannon from 'autocannon';
import { Redis } from 'ioredis';
import postgres from 'postgres';
import { CardKeys } from '../src/cards/card-keys.ts';
import { createDatabase } from '../src/db/client.ts';
import { cards, users } from '../src/db/schema/index.ts';
import { signStandardWebhook } from '../src/ingest/signature.ts';
import { luhnCheckDigit } from '../src/simulator/cards.ts';
import { APP_COUNT, seedTriggerWorld, TRIGGERS_PER_APP, worldMids } from './ingest-triggers.ts';
import {
  machineRecord,
  median,
  type ScenarioResult,
  type SummaryRow,
  type ThroughputPoint,
} from './report.ts';
import { cpuSeconds, dropDatabase, startServer } from './server.ts';

const CARD_COUNT = 100_000;
const LARGE_EVENT_COUNT = 5_000_000;
const BATCH_SIZE = 500;
const SINGLE_CONNECTIONS = 32;
const FULL_WORLD = APP_COUNT * TRIGGERS_PER_APP;

interface Options {
  /** Measurements per phase; the table shows their medians. */
  repeat: number;
  /** Events to store before (c); 0 = skip (c). */
  large: number;
  duration: number;
  /** Seconds of load before each measured phase, not reported. */
  warmUp: number;
  batchConnections: number;
  logLevel: string;
  /** Run only (a) or only (b) (and (c) after it); null = all. For profiling one shape of load. */
  only: 'a' | 'b' | null;
  /** Measure (a) and (b) again with the 100,000-trigger world loaded (--no-triggers skips it). */
  triggers: boolean;
  /** Trigger counts below the full world at which (b) is measured on the way to it. */
  sweep: number[];
}

function parseOptions(args: string[]): Options {
  const value = (name: string) => args.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
  const known = [
    '--large',
    '--large=',
    '--duration=',
    '--batch-connections=',
    '--log-level=',
    '--repeat=',
    '--only=',
    '--no-triggers',
    '--warm-up=',
    '--sweep=',
  ];
  const unknown = args.filter((a) => !known.some((k) => (k.endsWith('=') ? a.startsWith(k) : a === k)));
  if (unknown.length > 0) throw new Error(`unknown flag(s): ${unknown.join(' ')}`);
  const options: Options = {
    large: args.includes('--large') ? LARGE_EVENT_COUNT : Number(value('large') ?? 0),
    duration: Number(value('duration') ?? 15),
    warmUp: Number(value('warm-up') ?? 5),
    repeat: Number(value('repeat') ?? 3),
    batchConnections: Number(value('batch-connections') ?? 8),
    logLevel: value('log-level') ?? 'info',
    only: onlyOption(value('only')),
    triggers: !args.includes('--no-triggers'),
    sweep: (value('sweep') ?? '')
      .split(',')
      .filter(Boolean)
      .map(Number)
      .sort((x, y) => x - y),
  };
  if (options.only === 'a' && options.large > 0)
    throw new Error('--large measures (c) after (b): not with --only=a');
  for (const count of options.sweep) {
    if (!(count > 0 && count < FULL_WORLD && count % APP_COUNT === 0))
      throw new Error(`--sweep takes multiples of ${APP_COUNT} below ${FULL_WORLD}, not ${count}`);
  }
  if (options.sweep.length > 0 && (options.only === 'a' || !options.triggers))
    throw new Error('--sweep measures (b) with triggers: not with --only=a or --no-triggers');
  return options;
}

function onlyOption(value: string | undefined): Options['only'] {
  if (value === undefined) return null;
  if (value === 'a' || value === 'b') return value;
  throw new Error(`--only takes a or b, not ${value}`);
}

/** A Luhn-valid 16-digit Visa-range PAN, unique per index (synthetic; no real card). */
export function benchPan(index: number): string {
  const body = `4${String(index).padStart(14, '0')}`;
  return `${body}${luhnCheckDigit(body)}`;
}

const benchUserId = (i: number) => `usr_bench${String(i).padStart(8, '0')}`;

async function seedCards(databaseUrl: string, fingerprintKey: string): Promise<string[]> {
  const cardKeys = new CardKeys(fingerprintKey);
  const { sql, db, close } = createDatabase(databaseUrl, { max: 2 });
  const pans: string[] = [];
  const chunk = 5000;
  for (let start = 0; start < CARD_COUNT; start += chunk) {
    const userRows: (typeof users.$inferInsert)[] = [];
    const cardRows: (typeof cards.$inferInsert)[] = [];
    for (let i = start; i < Math.min(start + chunk, CARD_COUNT); i++) {
      const pan = benchPan(i);
      pans.push(pan);
      const userId = benchUserId(i);
      userRows.push({ id: userId, email: `bench${i}@example.test`, passwordHash: 'bench-no-login' });
      cardRows.push({
        id: `crd_bench${String(i).padStart(8, '0')}`,
        userId,
        fingerprint: cardKeys.fingerprint(pan),
        bin: pan.slice(0, 6),
        last4: pan.slice(-4),
        scheme: 'visa',
        expMonth: 12,
        expYear: 2030,
      });
    }
    await db.insert(users).values(userRows);
    await db.insert(cards).values(cardRows);
  }
  await sql`analyze users`;
  await sql`analyze cards`;
  await close();
  return pans;
}

/**
 * Stores `total` authorizations for the bench processor straight into the real tables, received
 * over the last 60 days (past months get their own partitions, as they would have had), plus their
 * `event_keys` rows, then VACUUM (ANALYZE) and a CHECKPOINT: the state a processor's history leaves behind.
 */
async function seedLargeHistory(databaseUrl: string, processorId: string, total: number): Promise<number> {
  const sql = postgres(databaseUrl, { max: 1, onnotice: () => {}, idle_timeout: 0 });
  const started = performance.now();
  await sql`create temp table bench_cards as
    select id, user_id, (row_number() over (order by id) - 1)::int as rn from cards`;
  await sql`create index on bench_cards (rn)`;
  const [bounds] = await sql<
    { first: Date }[]
  >`select date_trunc('month', now() - interval '60 days') as first`;
  for (let month = new Date(bounds!.first); ; ) {
    const next = new Date(Date.UTC(month.getUTCFullYear(), month.getUTCMonth() + 1, 1));
    const name = `events_${month.getUTCFullYear()}_${String(month.getUTCMonth() + 1).padStart(2, '0')}`;
    const [exists] = await sql`select to_regclass(${name}) as r`;
    if (exists?.r) break; // from here on the app created the partitions itself
    await sql.unsafe(
      `create table "${name}" partition of events for values from ('${month.toISOString()}') to ('${next.toISOString()}')`,
    );
    month = next;
  }
  const chunk = 500_000;
  for (let from = 1; from <= total; from += chunk) {
    const to = Math.min(from + chunk - 1, total);
    await sql.begin(async (tx) => {
      await tx`
        insert into events (id, received_at, processor_id, external_id, type, occurred_at, local_at,
          utc_offset_minutes, card_id, user_id, card_scheme, amount, currency, mid, merchant_name, mcc,
          merchant_city, merchant_region, merchant_postal_code, merchant_country, terminal_id, auth_code, rrn,
          entry_mode)
        select 'evt_00' || lpad(g::text, 24, '0'), t.ts, ${processorId}, 'seed-' || g, 'authorization',
          t.ts - interval '2 seconds', (t.ts - interval '2 seconds') at time zone 'America/Los_Angeles', -480,
          c.id, c.user_id, 'visa', 100 + g % 5000, 'USD', 'M' || lpad((g % 1000)::text, 6, '0'),
          'BENCH MERCHANT ' || g % 1000, '5814', 'Oakland', 'CA', '94607', 'US', 'T1', 'A1B2C3',
          lpad(g::text, 12, '0'), 'contactless'
        from generate_series(${from}::int, ${to}::int) g
        cross join lateral (
          select now() - interval '60 days' + (g::float8 / ${total}) * interval '60 days' - interval '1 minute' as ts
        ) t
        join bench_cards c on c.rn = g % ${CARD_COUNT}`;
      await tx`
        insert into event_keys (processor_id, external_id, event_id, received_at, stored)
        select ${processorId}, 'seed-' || g, 'evt_00' || lpad(g::text, 24, '0'),
          now() - interval '60 days' + (g::float8 / ${total}) * interval '60 days' - interval '1 minute', true
        from generate_series(${from}::int, ${to}::int) g`;
    });
    process.stdout.write(`  seeded ${to.toLocaleString('en-US')} events\r`);
  }
  process.stdout.write('\n');
  // History that old would long since have been vacuumed: without this, autovacuum's catch-up pass over the
  // 5,000,000 fresh rows (hint bits, visibility map) runs during (c) and competes for the same two cores.
  await sql`vacuum (analyze) events, event_keys`;
  // Likewise its pages would long since have reached the disk: flush them now (Postgres' dirty buffers, then
  // the kernel's dirty pages), or the writeback of gigabytes just loaded competes with (c) for the cores.
  await sql`checkpoint`.catch((error: unknown) => {
    console.log(`    (checkpoint not run: ${error instanceof Error ? error.message : error})`);
  });
  spawnSync('sync');
  await sql.end({ timeout: 5 });
  return (performance.now() - started) / 1000;
}

export function eventJson(id: string, pan: string, seq: number, mid: string): string {
  return (
    `{"id":"${id}","type":"authorization","occurred_at":"${new Date().toISOString()}",` +
    `"card":{"pan":"${pan}"},"amount":${100 + (seq % 9000)},"currency":"USD",` +
    `"merchant":{"mid":"${mid}","name":"BENCH MERCHANT ${mid}","mcc":"5814","city":"Oakland","region":"CA",` +
    `"postal_code":"94607","country":"US","terminal_id":"T1"},"auth_code":"A1B2C3","rrn":"123456789012",` +
    `"entry_mode":"contactless","original_id":null}`
  );
}

interface Processor {
  id: string;
  apiKey: string;
  signingSecret: string;
}

interface Probe {
  stored: number;
  walBytes: number;
  walFpi: number;
  checkpoints: number;
}

interface Measurement {
  name: string;
  connections: number;
  eventsPerRequest: number;
  durationSeconds: number;
  requests: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  eventsStored: number;
  eventsPerSecond: number;
  requestsPerSecond: number;
  latencyMs: { p50: number; p90: number; p99: number; max: number; mean: number };
  /**
   * CPU time per stored event, µs, over the measurement: far steadier than events/s on shared cores, so the
   * figure to compare changes by. `client` is this process (autocannon).
   */
  cpuUsPerEvent: { server: number; postgres: number; client: number; total: number };
  /** Postgres' write-ahead log over the measurement (pg_stat_wal): what each stored event cost it. */
  wal: { bytes: number; fullPageImages: number; bytesPerEvent: number; checkpoints: number };
  /** Ingestion transactions the server committed (its `cardlink_ingest_flush_events` histogram). */
  transactions: { count: number; eventsPerTransaction: number };
  /** With --repeat > 1: every measurement; the fields above are then their medians. */
  samples?: { eventsPerSecond: number; p50: number; p99: number }[];
}

export interface MachineCheck {
  /** A fixed Node workload (hashing and JSON, like a request's), ms. */
  nodeMs: number;
  /** A fixed Postgres query (md5 over 300,000 rows), ms. */
  postgresMs: number;
  /** One committed single-row insert, median of 200 in a row, ms (WAL flush included). */
  commitMs: number;
}

/**
 * Times fixed workloads on this machine right now. The cores and disk are shared and their speed drifts by a
 * quarter or more within an hour: these figures, taken with every run, tell a slow machine from a slow build.
 */
export async function machineCheck(sql: postgres.Sql): Promise<MachineCheck> {
  const started = performance.now();
  const payload = { id: 'check', amount: 1234, merchant: { mid: 'M000001', name: 'CHECK', city: 'Oakland' } };
  for (let i = 0; i < 50_000; i++) {
    createHash('sha256')
      .update(JSON.stringify({ ...payload, n: i }))
      .digest('hex');
    JSON.parse(JSON.stringify(payload));
  }
  const nodeMs = performance.now() - started;
  const pgStarted = performance.now();
  await sql`select count(distinct md5(i::text)) from generate_series(1, 300000) i`;
  const postgresMs = performance.now() - pgStarted;
  await sql`create table if not exists bench_machine_check (n int)`;
  const commits: number[] = [];
  for (let i = 0; i < 200; i++) {
    const at = performance.now();
    await sql`insert into bench_machine_check values (${i})`;
    commits.push(performance.now() - at);
  }
  await sql`drop table bench_machine_check`;
  const round = (ms: number) => Math.round(ms * 100) / 100;
  return { nodeMs: round(nodeMs), postgresMs: round(postgresMs), commitMs: round(median(commits)) };
}

/** Measures `repeat` times back to back and reports medians (the machine is shared: single runs are noisy). */
async function measureRepeated(repeat: number, ...args: Parameters<typeof measure>): Promise<Measurement> {
  const runs: Measurement[] = [];
  for (let i = 0; i < repeat; i++) runs.push(await measure(...args));
  if (runs.length === 1) return runs[0]!;
  const sum = (pick: (m: Measurement) => number) => runs.reduce((total, m) => total + pick(m), 0);
  return {
    ...runs[0]!,
    durationSeconds: sum((m) => m.durationSeconds),
    requests: sum((m) => m.requests),
    non2xx: sum((m) => m.non2xx),
    errors: sum((m) => m.errors),
    timeouts: sum((m) => m.timeouts),
    eventsStored: sum((m) => m.eventsStored),
    cpuUsPerEvent: {
      server: median(runs.map((m) => m.cpuUsPerEvent.server)),
      postgres: median(runs.map((m) => m.cpuUsPerEvent.postgres)),
      client: median(runs.map((m) => m.cpuUsPerEvent.client)),
      total: median(runs.map((m) => m.cpuUsPerEvent.total)),
    },
    wal: {
      bytes: sum((m) => m.wal.bytes),
      fullPageImages: sum((m) => m.wal.fullPageImages),
      bytesPerEvent: Math.round(
        sum((m) => m.wal.bytes) /
          Math.max(
            1,
            sum((m) => m.eventsStored),
          ),
      ),
      checkpoints: sum((m) => m.wal.checkpoints),
    },
    transactions: {
      count: sum((m) => m.transactions.count),
      eventsPerTransaction: median(runs.map((m) => m.transactions.eventsPerTransaction)),
    },
    eventsPerSecond: median(runs.map((m) => m.eventsPerSecond)),
    requestsPerSecond: median(runs.map((m) => m.requestsPerSecond)),
    latencyMs: {
      p50: median(runs.map((m) => m.latencyMs.p50)),
      p90: median(runs.map((m) => m.latencyMs.p90)),
      p99: median(runs.map((m) => m.latencyMs.p99)),
      max: Math.max(...runs.map((m) => m.latencyMs.max)),
      mean: median(runs.map((m) => m.latencyMs.mean)),
    },
    samples: runs.map((m) => ({
      eventsPerSecond: m.eventsPerSecond,
      p50: m.latencyMs.p50,
      p99: m.latencyMs.p99,
    })),
  };
}

/** CPU seconds so far: the server (with its child processes), Postgres (all its processes), this process. */
function cpuNow(serverPid: number) {
  const { tree, postgres } = cpuSeconds(serverPid);
  const own = process.cpuUsage();
  return { server: tree, postgres, client: (own.user + own.system) / 1e6 };
}

let runSeq = 0;

/** The server's ingestion transactions so far and the events they held, from its Prometheus metrics. */
async function flushCounters(url: string): Promise<{ count: number; events: number }> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const read = (name: string) => Number(new RegExp(`^${name} ([0-9.e+]+)$`, 'm').exec(text)?.[1] ?? 0);
  return {
    count: read('cardlink_ingest_flush_events_count'),
    events: read('cardlink_ingest_flush_events_sum'),
  };
}

/** What every measurement runs against: the server, its processor and cards, and how to read the counters. */
interface Target {
  url: string;
  processor: Processor;
  pans: string[];
  probe: (run: string) => Promise<Probe>;
  serverPid: number;
  /** The MID of purchase `n` by card `card` (the trigger world's: the same with and without triggers). */
  midFor: (card: number, n: number) => string;
}

async function measure(
  name: string,
  target: Target,
  options: { connections: number; eventsPerRequest: number; duration: number },
): Promise<Measurement> {
  const { url, processor, pans, probe, serverPid } = target;
  const run = `${Date.now().toString(36)}${(runSeq++).toString(36)}`;
  let seq = 0;
  let messages = 0;
  const signed = () => {
    const events: string[] = [];
    for (let i = 0; i < options.eventsPerRequest; i++) {
      const n = seq++;
      const card = (n * 7919) % pans.length;
      events.push(eventJson(`b-${run}-${n}`, pans[card]!, n, target.midFor(card, n)));
    }
    const body = options.eventsPerRequest === 1 ? events[0]! : `{"events":[${events.join(',')}]}`;
    const messageId = `msg_${run}_${messages++}`;
    const timestamp = Math.floor(Date.now() / 1000);
    return {
      body,
      headers: {
        'content-type': 'application/json',
        authorization: `Bearer ${processor.apiKey}`,
        'webhook-id': messageId,
        'webhook-timestamp': String(timestamp),
        'webhook-signature': signStandardWebhook(processor.signingSecret, messageId, timestamp, body),
      },
    };
  };
  // The requests (unique ids, fresh signatures) are made before the clock starts, for more than the phase
  // can send: building and signing them is the processors' work, not the server's, and on these 2 shared
  // cores it would otherwise take CPU from the server being measured. Should a phase outrun the stock, the
  // rest are made on the fly.
  const stock = Array.from(
    {
      length: Math.ceil(
        options.duration * (options.eventsPerRequest === 1 ? 6000 : 40_000 / options.eventsPerRequest),
      ),
    },
    signed,
  );
  let next = 0;
  const before = await probe(run);
  const flushesBefore = await flushCounters(url);
  const cpuBefore = cpuNow(serverPid);
  const result = await autocannon({
    url,
    connections: options.connections,
    duration: options.duration,
    timeout: 30,
    requests: [
      {
        method: 'POST',
        path: '/v1/events',
        setupRequest: (request) => {
          const made = next < stock.length ? stock[next++]! : signed();
          return { ...request, ...made };
        },
      },
    ],
  });
  const cpuAfter = cpuNow(serverPid);
  const flushesAfter = await flushCounters(url);
  const after = await probe(run);
  const transactions = flushesAfter.count - flushesBefore.count;
  const stored = after.stored - before.stored;
  const walBytes = after.walBytes - before.walBytes;
  const ok = result['2xx'];
  return {
    name,
    connections: options.connections,
    eventsPerRequest: options.eventsPerRequest,
    durationSeconds: result.duration,
    requests: ok + result.non2xx,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    eventsStored: stored,
    eventsPerSecond: Math.round(stored / result.duration),
    requestsPerSecond: Math.round(ok / result.duration),
    cpuUsPerEvent: (() => {
      const per = (seconds: number) => Math.round((seconds * 1e6) / Math.max(1, stored));
      const server = per(cpuAfter.server - cpuBefore.server);
      const postgres = per(cpuAfter.postgres - cpuBefore.postgres);
      const client = per(cpuAfter.client - cpuBefore.client);
      return { server, postgres, client, total: server + postgres + client };
    })(),
    wal: {
      bytes: walBytes,
      fullPageImages: after.walFpi - before.walFpi,
      bytesPerEvent: Math.round(walBytes / Math.max(1, stored)),
      checkpoints: after.checkpoints - before.checkpoints,
    },
    transactions: {
      count: transactions,
      eventsPerTransaction:
        Math.round(((flushesAfter.events - flushesBefore.events) / Math.max(1, transactions)) * 10) / 10,
    },
    latencyMs: {
      p50: result.latency.p50,
      p90: result.latency.p90,
      p99: result.latency.p99,
      max: result.latency.max,
      mean: Math.round(result.latency.average * 100) / 100,
    },
  };
}

function printTable(rows: (Measurement & { target: string })[]) {
  const header = [
    'scenario',
    'conns',
    'events/req',
    'requests',
    'non-2xx',
    'events stored',
    'events/s',
    'p50 ms',
    'p99 ms',
    'CPU µs/event (srv+pg+client)',
    'WAL B/event',
    'events/txn',
    'target',
  ];
  const lines = rows.map((r) => [
    r.name,
    String(r.connections),
    String(r.eventsPerRequest),
    r.requests.toLocaleString('en-US'),
    String(r.non2xx + r.errors + r.timeouts),
    r.eventsStored.toLocaleString('en-US'),
    r.eventsPerSecond.toLocaleString('en-US'),
    String(r.latencyMs.p50),
    String(r.latencyMs.p99),
    `${r.cpuUsPerEvent.total} (${r.cpuUsPerEvent.server}+${r.cpuUsPerEvent.postgres}+${r.cpuUsPerEvent.client})`,
    r.wal.bytesPerEvent.toLocaleString('en-US'),
    String(r.transactions.eventsPerTransaction),
    r.target,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const fmt = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ');
  console.log(`\n${fmt(header)}\n${widths.map((w) => '-'.repeat(w)).join('  ')}`);
  for (const line of lines) console.log(fmt(line));
}

export async function run(args: string[]): Promise<ScenarioResult> {
  const options = parseOptions(args);
  const databaseUrl = process.env.BENCH_DATABASE_URL ?? 'postgres://root@127.0.0.1:5432/cardlink_bench';
  const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  const secrets = {
    ADMIN_TOKEN: randomBytes(24).toString('base64url'),
    CARD_FINGERPRINT_KEY: randomBytes(32).toString('base64url'),
    SECRETS_KEY: randomBytes(32).toString('base64url'),
  };
  const startedAt = new Date();
  const loadAtStart = loadavg();
  const logFile = `${tmpdir()}/cardlink-bench-server-${startedAt.getTime()}.log`;

  console.log(
    `ingest bench: fresh database ${new URL(databaseUrl).pathname.slice(1)}, server log ${logFile}`,
  );
  await dropDatabase(databaseUrl);
  const queuePrefix = `bench${startedAt.getTime().toString(36)}`;
  const server = await startServer(
    {
      NODE_ENV: 'production',
      DATABASE_URL: databaseUrl,
      REDIS_URL: redisUrl,
      QUEUE_PREFIX: queuePrefix,
      LOG_LEVEL: options.logLevel,
      ...secrets,
    },
    logFile,
  );
  const sql = postgres(databaseUrl, { max: 1, onnotice: () => {} });
  try {
    const seedStarted = performance.now();
    const pans = await seedCards(databaseUrl, secrets.CARD_FINGERPRINT_KEY);
    console.log(
      `seeded ${CARD_COUNT.toLocaleString('en-US')} enrolled cards in ${((performance.now() - seedStarted) / 1000).toFixed(1)} s`,
    );
    const machine = await machineCheck(sql);
    console.log(
      `machine check (fixed workloads, lower is faster): node ${machine.nodeMs} ms, postgres ${machine.postgresMs} ms, ` +
        `commit ${machine.commitMs} ms`,
    );

    const created = await fetch(`${server.url}/v1/processors`, {
      method: 'POST',
      headers: { authorization: `Bearer ${secrets.ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'Bench processor' }),
    });
    if (created.status !== 201)
      throw new Error(`processor not created: ${created.status} ${await created.text()}`);
    const body = (await created.json()) as { id: string; api_key: string; signing_secret: string };
    const processor = { id: body.id, apiKey: body.api_key, signingSecret: body.signing_secret };
    // Events stored so far, and Postgres' WAL and checkpoint counters (server-wide: nothing else writes here).
    // Counted by the measurement's own id prefix (a range of the key index): counting all of the processor's
    // keys would walk the whole index, 5,000,000 entries in (c), and evict the server's working set from
    // Postgres' buffers right before every measurement.
    const countStored = async (run: string): Promise<Probe> => {
      const [row] = await sql<{ n: string; wal_bytes: string; wal_fpi: string; checkpoints: string }[]>`
        select (
          select count(*) from event_keys
          where processor_id = ${processor.id} and external_id >= ${`b-${run}-`} and external_id < ${`b-${run}.`}
        )::bigint as n,
          w.wal_bytes::bigint as wal_bytes, w.wal_fpi, (b.checkpoints_timed + b.checkpoints_req)::bigint as checkpoints
        from pg_stat_wal w, pg_stat_bgwriter b`;
      return {
        stored: Number(row!.n),
        walBytes: Number(row!.wal_bytes),
        walFpi: Number(row!.wal_fpi),
        checkpoints: Number(row!.checkpoints),
      };
    };

    const { midFor } = worldMids(CARD_COUNT);
    const fullWorldMid = (card: number, n: number) => midFor(card, n);
    const target: Target = {
      url: server.url,
      processor,
      pans,
      probe: countStored,
      serverPid: server.pid,
      midFor: fullWorldMid,
    };
    const single = { connections: SINGLE_CONNECTIONS, eventsPerRequest: 1, duration: options.duration };
    const batch = {
      connections: options.batchConnections,
      eventsPerRequest: BATCH_SIZE,
      duration: options.duration,
    };
    const rows: (Measurement & { target: string })[] = [];
    if (options.only !== 'b') {
      console.log(`warming up (${options.warmUp} s, not reported)…`);
      await measure('warm-up', target, { ...single, duration: options.warmUp });
      console.log(
        `(a) single events, ${SINGLE_CONNECTIONS} connections, ${options.repeat} × ${options.duration} s…`,
      );
      rows.push({
        ...(await measureRepeated(options.repeat, '(a) single', target, single)),
        target: '≥ 4,000/s, p99 ≤ 25 ms',
      });
    }
    let batchRow: Measurement | undefined;
    if (options.only !== 'a') {
      // Every measured phase follows a warm-up of its own shape, so (b) and (c) start from the same footing.
      await measure('warm-up', target, { ...batch, duration: options.warmUp });
      console.log(
        `(b) batches of ${BATCH_SIZE}, ${options.batchConnections} connections, ${options.repeat} × ${options.duration} s…`,
      );
      batchRow = await measureRepeated(options.repeat, '(b) batch 500', target, batch);
      rows.push({ ...batchRow, target: '≥ 25,000/s' });
    }

    let seedSeconds: number | undefined;
    if (batchRow && options.large > 0) {
      console.log(`(c) storing ${options.large.toLocaleString('en-US')} events in bulk…`);
      seedSeconds = await seedLargeHistory(databaseUrl, processor.id, options.large);
      console.log(`    done in ${seedSeconds.toFixed(0)} s; warming up (${options.warmUp} s)…`);
      await measure('warm-up', target, { ...batch, duration: options.warmUp });
      const label = `${(options.large / 1e6).toLocaleString('en-US')}M stored`;
      console.log(`(c) batches of ${BATCH_SIZE} with ${label}…`);
      const large = await measureRepeated(options.repeat, `(c) batch 500, ${label}`, target, batch);
      const ratio = large.eventsPerSecond / batchRow.eventsPerSecond;
      rows.push({ ...large, target: `within 10% of (b): ${(ratio * 100).toFixed(0)}%` });
    }

    let triggerWorld: Record<string, unknown> | null = null;
    const sweep: (ThroughputPoint & { shareFiring: number })[] = [];
    if (options.triggers) {
      // Purchases that fired, counted from a mark: how the share of firing purchases held across the steps.
      const firing = async () => {
        const [row] = await sql<{ events: string; purchases: string; actions: string }[]>`
          select (select count(*) from event_keys)::bigint as events,
            (select count(distinct purchase_id) from actions)::bigint as purchases,
            (select count(*) from actions)::bigint as actions`;
        return {
          events: Number(row!.events),
          purchases: Number(row!.purchases),
          actions: Number(row!.actions),
        };
      };
      const shareSince = (from: Awaited<ReturnType<typeof firing>>, to: typeof from) =>
        Math.round(((to.purchases - from.purchases) / Math.max(1, to.events - from.events)) * 1000) / 1000;
      let loadedPerApp = 0;
      const load = async (count: number) => {
        const perApp = count / APP_COUNT;
        console.log(
          `loading triggers up to ${count.toLocaleString('en-US')} (${perApp} of each of ${APP_COUNT.toLocaleString('en-US')} apps)` +
            `${loadedPerApp === 0 ? ', and grants for every cardholder' : ''}…`,
        );
        const world = await seedTriggerWorld(databaseUrl, CARD_COUNT, benchUserId, {
          from: loadedPerApp,
          to: perApp,
        });
        loadedPerApp = perApp;
        // Purchases aim at the triggers loaded so far, as often as at every step: only the count grows.
        target.midFor = (card, n) => world.midFor(card, n, perApp);
        return world;
      };
      for (const count of options.sweep) {
        await load(count);
        await measure('warm-up', target, { ...batch, duration: options.warmUp });
        console.log(
          `(b) batches of ${BATCH_SIZE} at ${count.toLocaleString('en-US')} triggers, ${options.repeat} × ${options.duration} s…`,
        );
        const before = await firing();
        const measured = await measureRepeated(
          options.repeat,
          `(b) batch 500, ${count.toLocaleString('en-US')} triggers`,
          target,
          batch,
        );
        const shareFiring = shareSince(before, await firing());
        rows.push({ ...measured, target: `${(shareFiring * 100).toFixed(0)}% of purchases fired` });
        sweep.push({ triggers: count, eventsPerSecond: measured.eventsPerSecond, shareFiring });
      }
      const world = await load(FULL_WORLD);
      const before = await firing();
      const withTriggers = (label: string) => `${label}, 100k triggers`;
      const ratioTo = (row: Measurement | undefined, of: Measurement) =>
        row
          ? `within 15% of ${row.name}: ${((of.eventsPerSecond / row.eventsPerSecond) * 100).toFixed(0)}%`
          : '';
      if (options.only !== 'b') {
        // The first batch after the load finds the index behind the counter and reads the 100,000 triggers.
        await measure('warm-up', target, { ...single, duration: options.warmUp });
        const measured = await measureRepeated(options.repeat, withTriggers('(a) single'), target, single);
        rows.push({
          ...measured,
          target: ratioTo(
            rows.find((r) => r.name === '(a) single'),
            measured,
          ),
        });
      }
      if (options.only !== 'a') {
        await measure('warm-up', target, { ...batch, duration: options.warmUp });
        const beforeBatch = await firing();
        const measured = await measureRepeated(options.repeat, withTriggers('(b) batch 500'), target, batch);
        rows.push({ ...measured, target: ratioTo(batchRow, measured) });
        sweep.push({
          triggers: FULL_WORLD,
          eventsPerSecond: measured.eventsPerSecond,
          shareFiring: shareSince(beforeBatch, await firing()),
        });
      }
      const after = await firing();
      const share = shareSince(before, after);
      console.log(
        `with triggers: ${(after.events - before.events).toLocaleString('en-US')} events, ${(share * 100).toFixed(1)}% fired ` +
          `one or more triggers (${(after.actions - before.actions).toLocaleString('en-US')} actions)`,
      );
      triggerWorld = {
        ...world.summary,
        events_with_triggers: after.events - before.events,
        share_of_events_firing: share,
        actions: after.actions - before.actions,
        sweep,
      };
    }

    printTable(rows);
    const [events] =
      await sql`select count(*)::bigint as n, pg_size_pretty(pg_total_relation_size('event_keys')) as keys_size from events`;
    const record = {
      scenario: 'ingest',
      started_at: startedAt.toISOString(),
      machine: machineRecord(loadAtStart, machine),
      server: { command: 'tsx src/main.ts --api', node_env: 'production', log_level: options.logLevel },
      method: {
        duration_seconds_per_measurement: options.duration,
        measurements_per_phase: options.repeat,
        warm_up_seconds: options.warmUp,
        figures: 'medians over the measurements; events/s = events stored (event_keys rows) / duration',
        batch_connections: options.batchConnections,
      },
      cards: CARD_COUNT,
      large_history: options.large > 0 ? { events: options.large, seed_seconds: seedSeconds } : null,
      trigger_world: triggerWorld,
      events_table_rows_at_end: Number(events?.n ?? 0),
      results: rows,
    };
    const batchWithout = rows.find((r) => r.name === '(b) batch 500');
    return {
      record,
      summary: [
        {
          measure: 'machine check: node / postgres / commit, ms (lower is faster)',
          value: `${machine.nodeMs} / ${machine.postgresMs} / ${machine.commitMs}`,
          target: '',
        },
        ...rows.map(
          (r): SummaryRow => ({
            measure: `${r.name}, events/s (p50 / p99 ms; CPU µs/event)`,
            value:
              `${r.eventsPerSecond.toLocaleString('en-US')} (${r.latencyMs.p50} / ${r.latencyMs.p99}; ` +
              `${r.cpuUsPerEvent.total})`,
            target: r.target,
          }),
        ),
      ],
      charts:
        sweep.length > 0
          ? {
              throughput: [
                {
                  name: `ingest through the API, batches of ${BATCH_SIZE} (events stored/s)`,
                  points: sweep.map(({ triggers, eventsPerSecond }) => ({ triggers, eventsPerSecond })),
                  ...(batchWithout ? { withoutTriggers: batchWithout.eventsPerSecond } : {}),
                },
              ],
            }
          : {},
    };
  } finally {
    await sql.end({ timeout: 5 });
    await server.stop();
    await removeKeys(redisUrl, `${queuePrefix}:*`);
  }
}

/** Deletes the keys the bench's server left in Redis (its queues' state), so a run leaves nothing behind. */
export async function removeKeys(redisUrl: string, pattern: string): Promise<void> {
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
  try {
    for await (const keys of redis.scanStream({ match: pattern, count: 500 }) as AsyncIterable<string[]>) {
      if (keys.length > 0) await redis.del(...keys);
    }
  } finally {
    redis.disconnect();
  }
}
