/**
 * `npm run bench -- rules [--seconds=1] [--repeat=5] [--peer-seconds=3]`: the pure rules engine on one thread.
 *
 * Builds a seeded world (bench/rules-world.ts): 1,000 apps × 100 triggers (10,000 MIDs, 300 MCCs), 20,000
 * cardholders granting 1–10 apps each, 100,000 events, and measures:
 *   - events/s of evaluate() at 100,000 triggers (median of --repeat runs of --seconds each);
 *   - the cost per event at 10 / 100 / 1,000 / 10,000 / 100,000 triggers (10 apps of 1, 10 and 100 triggers, then
 *     100 and 1,000 apps of 100: every world's cardholders grant 1–10 apps);
 *   - the index's memory per trigger (heapUsed plus typed arrays' buffers, which live outside the heap, around
 *     the build, after a full GC; needs --expose-gc, which the npm script passes);
 *   - one trigger change (upsertTrigger of a new version), each timed alone: 1,000 right after the build (after
 *     200 untimed), and 1,000 after 3,000 more untimed, once V8 has compiled the change path;
 *   - side by side, on the same events: json-rules-engine on the 1,000 triggers and a plain scan of the 100,000
 *     compiled triggers, each checked to return exactly the index's matches on every event it saw.
 * Prints a table; `npm run bench` writes the results. Targets are reported, never asserted.
 */
import { cpus, loadavg } from 'node:os';
import { PerformanceObserver } from 'node:perf_hooks';
import { type CompiledTrigger, checksOf, type RuleTrigger } from '../src/rules/compile.ts';
import * as rules from '../src/rules/evaluate.ts';
import type { Grant } from '../src/rules/event.ts';
import { createTriggerIndex, type TriggerIndex, upsertTrigger } from '../src/rules/trigger-index.ts';
import type { ScenarioResult } from './report.ts';
import { jsonRulesEngine, jsonRulesMatches, linearScan } from './rules-peers.ts';
import {
  buildWorld,
  MCC_COUNT,
  MID_COUNT,
  MIX,
  midName,
  TRIGGERS_PER_APP,
  type World,
} from './rules-world.ts';

// A local binding: under tsx an imported one is read through a getter on every call.
const { evaluate } = rules;
const USERS = 20_000;
const EVENTS = 100_000;
const CHANGES = 1_000;
const WARM_UP = 200;
const STEADY_AFTER = 3_000;

interface Options {
  seconds: number;
  repeat: number;
  peerSeconds: number;
}

function parseOptions(args: string[]): Options {
  const value = (name: string) => args.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
  const unknown = args.filter(
    (a) => !['--seconds=', '--repeat=', '--peer-seconds='].some((k) => a.startsWith(k)),
  );
  if (unknown.length > 0) throw new Error(`unknown flag(s): ${unknown.join(' ')}`);
  return {
    seconds: Number(value('seconds') ?? 1),
    repeat: Number(value('repeat') ?? 5),
    peerSeconds: Number(value('peer-seconds') ?? 3),
  };
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
};
const quantile = (sorted: number[], q: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))]!;
const ids = (matches: readonly CompiledTrigger[]) => matches.map((m) => m.id).sort();
const same = (a: string[], b: string[]) => a.length === b.length && a.every((id, i) => id === b[i]);
const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { maximumFractionDigits: digits });

/**
 * Events per CPU-second of evaluate() over the world's events, looping for `seconds` of CPU time. CPU time, not
 * wall time: the machine's two cores are shared with other work, and a descheduled thread costs wall time only.
 */
function throughput(index: TriggerIndex, world: World, grantsOf: Grant[][], seconds: number) {
  const { events } = world;
  let done = 0;
  let matches = 0;
  let i = 0;
  const cpuAtStart = process.cpuUsage();
  const started = performance.now();
  let cpuMicros = 0;
  do {
    for (let k = 0; k < 10_000; k++) {
      matches += evaluate(index, events[i]!, grantsOf[i]!).length;
      i = i + 1 === events.length ? 0 : i + 1;
    }
    done += 10_000;
    const cpu = process.cpuUsage(cpuAtStart);
    cpuMicros = cpu.user + cpu.system;
  } while (cpuMicros < seconds * 1e6);
  const wallMs = performance.now() - started;
  return {
    eventsPerSecond: (done / cpuMicros) * 1e6,
    nsPerEvent: (cpuMicros * 1000) / done,
    wallEventsPerSecond: (done / wallMs) * 1000,
    matches,
  };
}

/** CPU ns per event of only reading each event and its cardholder's grants, as evaluate() must: the harness. */
function harnessCost(world: World, grantsOf: Grant[][]) {
  const cpuAtStart = process.cpuUsage();
  let sink = 0;
  for (let i = 0; i < world.events.length; i++) {
    const event = world.events[i]!;
    sink += event.amount + event.mid.length + event.localAt.length;
    for (const grant of grantsOf[i]!) sink += grant.appId.length + grant.scopes.size;
  }
  const cpu = process.cpuUsage(cpuAtStart);
  return { nsPerEvent: ((cpu.user + cpu.system) * 1000) / world.events.length, sink };
}

/**
 * CPU ns per event when each event is fresh, as ingest hands it over right after parsing it: every event is
 * JSON.parse'd just before evaluate(), and the parsing alone, measured the same way, is subtracted. (In the main
 * figure every event object and its strings come cold from a 100,000-event array, a cost ingest does not pay.)
 */
function freshEventCost(index: TriggerIndex, world: World, grantsOf: Grant[][], seconds: number) {
  const texts = world.events.map((event) => JSON.stringify(event));
  const loop = (withEvaluate: boolean) => {
    let done = 0;
    let sink = 0;
    const cpuAtStart = process.cpuUsage();
    let cpuMicros = 0;
    do {
      for (let k = 0; k < 10_000; k++) {
        const i = (done + k) % texts.length;
        const event = JSON.parse(texts[i]!);
        sink += withEvaluate ? evaluate(index, event, grantsOf[i]!).length : event.amount;
      }
      done += 10_000;
      const cpu = process.cpuUsage(cpuAtStart);
      cpuMicros = cpu.user + cpu.system;
    } while (cpuMicros < seconds * 1e6);
    return { nsPerEvent: (cpuMicros * 1000) / done, sink };
  };
  loop(true);
  const runs = Array.from({ length: 5 }, () => loop(true).nsPerEvent - loop(false).nsPerEvent);
  return median(runs);
}

function measureThroughput(index: TriggerIndex, world: World, options: Options) {
  const grantsOf = world.eventUser.map((u) => world.grants[u]!);
  throughput(index, world, grantsOf, Math.min(options.seconds, 0.5)); // warm-up: let the JIT settle
  const runs = Array.from({ length: options.repeat }, () =>
    throughput(index, world, grantsOf, options.seconds),
  );
  return {
    eventsPerSecond: median(runs.map((r) => r.eventsPerSecond)),
    nsPerEvent: median(runs.map((r) => r.nsPerEvent)),
    wallEventsPerSecond: median(runs.map((r) => r.wallEventsPerSecond)),
    harnessNsPerEvent: median(Array.from({ length: 3 }, () => harnessCost(world, grantsOf).nsPerEvent)),
    freshEventNsPerEvent: freshEventCost(index, world, grantsOf, options.seconds),
    runs: runs.map((r) => Math.round(r.eventsPerSecond)),
  };
}

function gcNow(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run node with --expose-gc (npm run bench -- rules does)');
  gc();
  gc();
}

function indexMemory(triggers: RuleTrigger[]) {
  gcNow();
  // Typed arrays' buffers (the index's packed lists) live outside the JS heap, in `arrayBuffers`.
  const used = () => {
    const { heapUsed, arrayBuffers } = process.memoryUsage();
    return { heap: heapUsed, buffers: arrayBuffers };
  };
  const before = used();
  const started = performance.now();
  const index = createTriggerIndex(triggers);
  const buildMs = performance.now() - started;
  gcNow();
  const after = used();
  const heap = after.heap - before.heap;
  const buffers = after.buffers - before.buffers;
  return {
    index,
    buildMs,
    bytesPerTrigger: (heap + buffers) / triggers.length,
    bufferBytesPerTrigger: buffers / triggers.length,
  };
}

/** The mix of the world: triggers by index key and condition, grants, and how many events match. */
function describeWorld(index: TriggerIndex, world: World) {
  const byKey: Record<string, number> = {};
  for (const t of index.triggers.values()) byKey[t.key ?? 'none'] = (byKey[t.key ?? 'none'] ?? 0) + 1;
  const conditions: Record<string, number> = {};
  for (const t of world.triggers)
    for (const field of Object.keys(t.match)) conditions[field] = (conditions[field] ?? 0) + 1;
  let matching = 0;
  let matches = 0;
  let purchases = 0;
  world.events.forEach((event, i) => {
    if (event.type !== 'refund') purchases++;
    const found = evaluate(index, event, world.grants[world.eventUser[i]!]!).length;
    matches += found;
    if (found > 0) matching++;
  });
  const grantsPerUser = world.grants.reduce((sum, g) => sum + g.length, 0) / world.grants.length;
  return {
    triggers: world.triggers.length,
    apps: index.apps.size,
    mids: MID_COUNT,
    mccs: MCC_COUNT,
    triggersByIndexKey: byKey,
    triggersNamingEachField: conditions,
    cardholders: world.grants.length,
    appsGrantedPerCardholder: Number(grantsPerUser.toFixed(2)),
    events: world.events.length,
    purchases,
    shareOfEventsMatching: Number((matching / world.events.length).toFixed(4)),
    matchesPerEvent: Number((matches / world.events.length).toFixed(3)),
    eventsAtGrantedAppsMerchants: MIX.eventsAtGrantedAppsMerchants,
  };
}

/**
 * Applies new versions of existing triggers (other MIDs, another amount), each timed alone, in two rounds of
 * CHANGES: right after the build (WARM_UP untimed first: their objects have shapes the build never saw, and V8
 * deoptimizes and recompiles the compiler for them), then again after STEADY_AFTER more untimed changes, once V8
 * has compiled the change path: while it does, its compiler threads take the shared cores from the main thread
 * for milliseconds at a time. A change over 1 ms is attributed to the collector when a GC pause overlaps it.
 */
async function measureChanges(index: TriggerIndex, triggers: RuleTrigger[]) {
  const pauses: { start: number; end: number }[] = [];
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries())
      pauses.push({ start: entry.startTime, end: entry.startTime + entry.duration });
  });
  observer.observe({ entryTypes: ['gc'] });
  let next = 0;
  const change = () => {
    const c = next++;
    const old = triggers[(c * 7_919) % triggers.length]!;
    const changed: RuleTrigger = {
      ...old,
      version: old.version + 1 + c,
      match: old.match.mids
        ? { ...old.match, mids: [midName((c * 31) % MID_COUNT), midName((c * 37 + 1) % MID_COUNT)] }
        : { ...old.match, amount_min: 100 + (c % 1_000) },
    };
    const started = performance.now();
    const cpuAtStart = process.cpuUsage();
    upsertTrigger(index, changed);
    const cpu = process.cpuUsage(cpuAtStart);
    return { started, wallMicros: (performance.now() - started) * 1000, cpuMicros: cpu.user + cpu.system };
  };
  const timed = () => Array.from({ length: CHANGES }, change);
  for (let c = 0; c < WARM_UP; c++) change();
  const first = timed();
  for (let c = 0; c < STEADY_AFTER; c++) change();
  const steady = timed();
  // GC entries are delivered asynchronously.
  await new Promise((resolve) => setTimeout(resolve, 50));
  observer.disconnect();
  const summary = (runs: ReturnType<typeof change>[]) => {
    const sorted = runs.map((r) => r.wallMicros).sort((a, b) => a - b);
    const slow = runs.filter((r) => r.wallMicros > 1000);
    const duringGc = slow.filter((r) =>
      pauses.some((p) => p.start < r.started + r.wallMicros / 1000 && p.end > r.started),
    );
    return {
      changes: runs.length,
      medianMicros: median(sorted),
      p99Micros: quantile(sorted, 0.99),
      maxMicros: sorted.at(-1)!,
      overOneMs: slow.length,
      overOneMsDuringGc: duringGc.length,
      // Wall time includes moments the shared cores were given to other work; CPU time (µs resolution, the
      // whole process: V8's compiler and GC threads too) does not.
      maxCpuMicros: Math.max(...runs.map((r) => r.cpuMicros)),
    };
  };
  return { afterBuild: summary(first), steady: summary(steady), untimedBetween: STEADY_AFTER };
}

async function measureJsonRulesEngine(world: World, index: TriggerIndex, seconds: number) {
  const engine = jsonRulesEngine(world.triggers);
  let done = 0;
  let mismatches = 0;
  let matched = 0;
  let cpuMicros = 0;
  while (cpuMicros < seconds * 1e6 || done < 20) {
    const event = world.events[done]!;
    const grants = world.grants[world.eventUser[done]!]!;
    const cpuAtStart = process.cpuUsage();
    const theirs = await jsonRulesMatches(engine, event, grants);
    const cpu = process.cpuUsage(cpuAtStart);
    cpuMicros += cpu.user + cpu.system;
    const ours = ids(evaluate(index, event, grants));
    if (!same(theirs, ours)) mismatches++;
    if (ours.length > 0) matched++;
    done++;
  }
  return { events: done, eventsPerSecond: (done / cpuMicros) * 1e6, eventsMatching: matched, mismatches };
}

function measureLinearScan(world: World, index: TriggerIndex, seconds: number) {
  const all = [...index.triggers.values()].map((trigger) => ({ trigger, checks: checksOf(trigger) }));
  const grantsByUser = world.grants.map((grants) => new Map(grants.map((g) => [g.appId, g])));
  let done = 0;
  let mismatches = 0;
  let matched = 0;
  let cpuMicros = 0;
  while (cpuMicros < seconds * 1e6 || done < 20) {
    const event = world.events[done % world.events.length]!;
    const user = world.eventUser[done % world.events.length]!;
    const cpuAtStart = process.cpuUsage();
    const theirs = linearScan(all, event, grantsByUser[user]!);
    const cpu = process.cpuUsage(cpuAtStart);
    cpuMicros += cpu.user + cpu.system;
    const ours = ids(evaluate(index, event, world.grants[user]!));
    if (!same(ids(theirs), ours)) mismatches++;
    if (ours.length > 0) matched++;
    done++;
  }
  return { events: done, eventsPerSecond: (done / cpuMicros) * 1e6, eventsMatching: matched, mismatches };
}

/** The worlds measured, as [apps, triggers per app]: 10 to 100,000 triggers. */
const WORLDS: [number, number][] = [
  [10, 1],
  [10, 10],
  [10, TRIGGERS_PER_APP],
  [100, TRIGGERS_PER_APP],
  [1_000, TRIGGERS_PER_APP],
];

export async function run(args: string[]): Promise<ScenarioResult> {
  const options = parseOptions(args);
  const startedAt = new Date();
  const loadAtStart = loadavg();
  console.log('building the worlds (10 / 100 / 1,000 / 10,000 / 100,000 triggers)…');
  const worlds = WORLDS.map(([apps, triggersPerApp]) => buildWorld(apps, USERS, EVENTS, { triggersPerApp }));
  const big = worlds.at(-1)!;
  const memory = indexMemory(big.triggers);
  const index = memory.index;
  const mix = describeWorld(index, big);
  console.log(JSON.stringify(mix, null, 2));

  console.log('evaluate() at 10 / 100 / 1,000 / 10,000 / 100,000 triggers…');
  const scaling = worlds.map((world) => {
    const worldIndex = world === big ? index : createTriggerIndex(world.triggers);
    return { triggers: world.triggers.length, worldIndex, ...measureThroughput(worldIndex, world, options) };
  });
  const at100k = scaling.at(-1)!;
  // The target's spread is from 1,000 to 100,000 triggers (the same cardholders' grants over 10 to 1,000 apps).
  const spreadOf = (pick: (s: (typeof scaling)[number]) => number) => {
    const costs = scaling.filter((s) => s.triggers >= 1_000).map(pick);
    return Math.max(...costs) / Math.min(...costs) - 1;
  };
  const spread = spreadOf((s) => s.nsPerEvent);
  const freshSpread = spreadOf((s) => s.freshEventNsPerEvent);

  console.log('json-rules-engine on the 1,000 triggers…');
  const small = scaling.find((s) => s.triggers === 1_000)!;
  const jre = await measureJsonRulesEngine(
    worlds[scaling.indexOf(small)]!,
    small.worldIndex,
    options.peerSeconds,
  );
  console.log('a plain scan of the 100,000 compiled triggers…');
  const scan = measureLinearScan(big, index, options.peerSeconds);
  console.log('one trigger change at a time…');
  gcNow(); // the garbage of the measurements before is not the change's to collect
  const changes = await measureChanges(index, big.triggers);

  const rows: [string, string, string][] = [
    [
      'events per CPU-second at 100,000 triggers (median)',
      fmt(at100k.eventsPerSecond),
      '≥ 1,000,000 (at least 500,000)',
    ],
    ['events per wall-second, same runs (shared cores)', fmt(at100k.wallEventsPerSecond), ''],
    [
      'events per CPU-second at 100,000 triggers, fresh events',
      fmt(1e9 / at100k.freshEventNsPerEvent),
      '≥ 1,000,000 (at least 500,000)',
    ],
    ...scaling.map((s): [string, string, string] => [
      `CPU ns per event at ${fmt(s.triggers)} triggers`,
      `${fmt(s.nsPerEvent, 1)} (fresh events: ${fmt(s.freshEventNsPerEvent, 1)}; reading event and grants alone: ${fmt(s.harnessNsPerEvent, 1)})`,
      '',
    ]),
    [
      'cost spread 1,000 → 100,000 triggers',
      `${(spread * 100).toFixed(1)}% (fresh events: ${(freshSpread * 100).toFixed(1)}%)`,
      'within 25%',
    ],
    [
      'index memory per trigger (of which typed arrays)',
      `${fmt(memory.bytesPerTrigger)} B (${fmt(memory.bufferBytesPerTrigger)} B)`,
      '≤ 2,048 B',
    ],
    ['index build, 100,000 triggers', `${fmt(memory.buildMs)} ms`, ''],
    ...(
      [
        ['right after the build', changes.afterBuild],
        [`after ${fmt(changes.untimedBetween)} more`, changes.steady],
      ] as const
    ).map(([when, c]): [string, string, string] => [
      `one trigger change ${when}, wall µs: median / p99 / max`,
      `${c.medianMicros.toFixed(1)} / ${c.p99Micros.toFixed(1)} / ${c.maxMicros.toFixed(1)} ` +
        `(${c.overOneMs} of ${fmt(c.changes)} over 1 ms, ${c.overOneMsDuringGc} in a GC; most CPU: ${c.maxCpuMicros} µs)`,
      '≤ 1 ms',
    ]),
    [
      `json-rules-engine, 1,000 triggers (${jre.events} events, ${jre.mismatches} differ)`,
      `${fmt(jre.eventsPerSecond, 1)} events per CPU-second`,
      '',
    ],
    [
      'index ÷ json-rules-engine, same 1,000 triggers',
      `${fmt(small.eventsPerSecond / jre.eventsPerSecond)}×`,
      '≥ 1,000×',
    ],
    [
      `plain scan, 100,000 triggers (${fmt(scan.events)} events, ${scan.mismatches} differ)`,
      `${fmt(scan.eventsPerSecond, 1)} events per CPU-second`,
      '',
    ],
    [
      'index ÷ plain scan, same 100,000 triggers',
      `${fmt(at100k.eventsPerSecond / scan.eventsPerSecond)}×`,
      '≥ 100×',
    ],
  ];
  const width = [0, 1, 2].map((c) => Math.max(...rows.map((r) => r[c]!.length)));
  console.log('');
  for (const row of rows) console.log(row.map((cell, c) => cell.padEnd(width[c]!)).join('  │  '));

  const record = {
    scenario: 'rules',
    started_at: startedAt.toISOString(),
    machine: {
      cpus: cpus().length,
      cpu_model: cpus()[0]?.model,
      node: process.version,
      load_average_at_start: loadAtStart,
      load_average_at_end: loadavg(),
    },
    method: {
      seconds_per_measurement: options.seconds,
      measurements: options.repeat,
      figures:
        'medians over the measurements; rates per CPU-second of this process (process.cpuUsage), one JS thread; ' +
        'all figures from this one run',
      triggers_per_app: TRIGGERS_PER_APP,
      peer_seconds: options.peerSeconds,
    },
    mix,
    evaluate: scaling.map(({ worldIndex: _, ...s }) => s),
    cost_spread: spread,
    cost_spread_fresh_events: freshSpread,
    memory: {
      bytes_per_trigger: memory.bytesPerTrigger,
      typed_array_bytes_per_trigger: memory.bufferBytesPerTrigger,
      build_ms: memory.buildMs,
    },
    trigger_change: changes,
    json_rules_engine: { ...jre, ratio: small.eventsPerSecond / jre.eventsPerSecond },
    linear_scan: { ...scan, ratio: at100k.eventsPerSecond / scan.eventsPerSecond },
  };
  return {
    record,
    summary: rows.map(([measure, value, target]) => ({ measure, value, target })),
    charts: {
      throughput: [
        {
          name: 'rules engine alone, one thread (events per CPU-second)',
          points: scaling.map((s) => ({
            triggers: s.triggers,
            eventsPerSecond: Math.round(s.eventsPerSecond),
          })),
        },
      ],
    },
  };
}
