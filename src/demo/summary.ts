// The demo's closing table: what was seeded and sent, what fired, what the app received and how fast.
import { count, table } from '../simulator/report.ts';
import type { SimulationSummary } from '../simulator/simulate.ts';
import { distribution } from '../simulator/stats.ts';
import type { Arrival } from './receiver.ts';
import type { SeedCounts } from './seed.ts';

/** `GET /v1/apps/{id}/usage?month=`: an app's actions by type in a month. */
export interface Usage {
  actions: { total: number; by_type: Record<string, number> };
  fees: { amount: number; currency: string }[];
}

export interface DemoSummary {
  baseUrl: string;
  platformStarted: boolean;
  seed: string;
  seedSeconds: number;
  wallSeconds: number;
  scene: {
    apps: number;
    merchants: number;
    cardholders: number;
    cards: number;
    grants: number;
    counts: SeedCounts;
  };
  feed: SimulationSummary;
  /** Actions the feed's events fired (the ingest answers' `actions`), and those whose first webhook arrived. */
  actionsExpected: number;
  actionsDelivered: number;
  /** Performed during the run, by type, across the four apps (the usage API, before and after). */
  actionsByType: Record<string, number>;
  arrivals: Arrival[];
  /** This run's events: `evt_…` → when its request was sent (wall-clock ms). */
  sentAt: Map<string, number>;
  /** Event sent → its action's first webhook received, ms. */
  latencies: number[];
  pendingDeliveries: number;
  failedDeliveries: number;
  account: { email: string; password: string };
  /** Where the operator token is, in words (`ADMIN_TOKEN in /…/.env.local`). */
  adminTokenSource: string;
}

/** The actions performed between two readings of the four apps' usage, by type. */
export function usageDelta(
  before: Record<string, Usage>,
  after: Record<string, Usage>,
): Record<string, number> {
  const delta: Record<string, number> = {};
  for (const [app, usage] of Object.entries(after)) {
    for (const [type, count] of Object.entries(usage.actions.by_type)) {
      const was = before[app]?.actions.by_type[type] ?? 0;
      if (count - was !== 0) delta[type] = (delta[type] ?? 0) + count - was;
    }
  }
  return delta;
}

const n = (value: number) => value.toLocaleString('en-US');

function money(minor: number, currency: string): string {
  const format = new Intl.NumberFormat('en-US', { style: 'currency', currency });
  return format.format(minor / 10 ** (format.resolvedOptions().maximumFractionDigits ?? 2));
}

/** Sums of the reward webhooks this run's events caused: cashback by currency, and points. */
function rewards(summary: DemoSummary) {
  const ours = summary.arrivals.filter(
    (a) => a.verified && !a.repeat && a.eventId && summary.sentAt.has(a.eventId),
  );
  const cashback = (type: string) => {
    const sums = new Map<string, number>();
    for (const a of ours)
      if (a.event === type && a.amount !== null && a.currency)
        sums.set(a.currency, (sums.get(a.currency) ?? 0) + a.amount);
    return [...sums].map(([currency, amount]) => money(amount, currency)).join(' + ') || money(0, 'USD');
  };
  const points = (type: string) =>
    ours.filter((a) => a.event === type).reduce((s, a) => s + (a.points ?? 0), 0);
  const tally = (type: string) => ours.filter((a) => a.event === type).length;
  return {
    cashback: `${cashback('cashback.pending')} issued pending, ${cashback('cashback.available')} made available, ${cashback('cashback.reversed')} reversed`,
    points: `${n(points('points.pending'))} issued pending, ${n(points('points.available'))} made available, ${n(points('points.reversed'))} reversed`,
    other: `${count(tally('coupon.issued'), 'coupon')} issued, ${count(tally('receipt.created'), 'receipt')}`,
  };
}

export function formatDemoSummary(summary: DemoSummary): string {
  const { feed, scene } = summary;
  const { created, existing } = scene.counts;
  const verified = summary.arrivals.filter((a) => a.verified);
  const latency = distribution(summary.latencies);
  const reward = rewards(summary);
  const byType = Object.entries(summary.actionsByType)
    .sort((a, b) => b[1] - a[1])
    .map(([type, count]) => `${type} ${n(count)}`)
    .join(' · ');
  const madeNow = Object.entries(created)
    .filter(([, made]) => made > 0)
    .map(([what, made]) => count(made, what.slice(0, -1)))
    .join(', ');
  const base = summary.baseUrl;
  const lines = [
    '',
    `cardlink demo — seed ${JSON.stringify(summary.seed)}, ${summary.wallSeconds.toFixed(0)} s in all`,
    '',
    table([
      [
        'scene',
        `${n(scene.apps)} apps · ${n(scene.merchants)} merchants · ${n(scene.cardholders)} cardholders with ${n(scene.cards)} cards and ${n(scene.grants)} connected apps`,
      ],
      [
        '',
        `seeded through the API in ${summary.seedSeconds.toFixed(1)} s: ${madeNow || 'nothing new'} created; ` +
          `${n(existing.users)} cardholders were there already${scene.counts.cardsRefused ? `; ${n(scene.counts.cardsRefused)} cards refused` : ''}`,
      ],
      [
        'events',
        `${n(feed.sent.events)} sent (${n(feed.plan.purchases)} purchases; JSON ${n(feed.plan.by_format.json)}, ` +
          `ISO 8583 ${n(feed.plan.by_format.iso8583)}, Stripe ${n(feed.plan.by_format.stripe)}): ` +
          `${n(feed.answers.accepted)} accepted · ${count(feed.answers.duplicate, 'duplicate')} · ${n(feed.answers.rejected)} rejected` +
          `${feed.answers.failed ? ` · ${n(feed.answers.failed)} failed` : ''}`,
      ],
      [
        '',
        `${count(feed.plan.by_type.authorization, 'authorization')}, ${count(feed.plan.by_type.clearing, 'clearing')} ` +
          `(${n(feed.plan.late_clearings)} late, ${n(feed.plan.out_of_order)} before their authorization), ` +
          `${count(feed.plan.by_type.refund, 'refund')}, ${count(feed.plan.by_type.reversal, 'reversal')}`,
      ],
      [
        'actions',
        `${n(summary.actionsExpected)} fired by the feed; performed: ${byType || 'none'} (usage API)`,
      ],
      ['rewards', `cashback ${reward.cashback}`],
      ['', `points ${reward.points}`],
      ['', reward.other],
      [
        'deliveries',
        `${n(new Set(verified.map((a) => a.webhookId)).size)} delivered, received and verified by the app ` +
          `(${n(summary.arrivals.length - verified.length)} bad signatures, ` +
          `${n(summary.arrivals.filter((a) => a.repeat).length)} redelivered) · ` +
          `pending ${n(summary.pendingDeliveries)} · failed ${n(summary.failedDeliveries)}`,
      ],
      [
        'latency',
        latency.count > 0
          ? `event sent → first webhook received, ms: p50 ${latency.p50} · p90 ${latency.p90} · p99 ${latency.p99} · ` +
            `max ${latency.max} (${n(latency.count)} of ${n(summary.actionsExpected)} actions)`
          : 'no webhook of this run’s actions arrived',
      ],
    ]),
    '',
    'Look around:',
    table([
      ['account page', `${base}/account`],
      ['', `sign in as ${summary.account.email} with password ${summary.account.password}`],
      ['queues', `${base}/admin/queues   (any user name; the password is ${summary.adminTokenSource})`],
      ['API reference', `${base}/docs`],
    ]),
  ];
  if (summary.platformStarted)
    lines.push(
      '',
      'The demo started the platform itself and has stopped it: `npm start` serves these pages.',
    );
  if (feed.problems.length > 0) lines.push('', 'Problems:', ...feed.problems.map((p) => `  - ${p}`));
  return `${lines.join('\n')}\n`;
}

/** Why the run failed, in a few words each (empty when it did what it should). */
export function demoFailures(summary: {
  feed: {
    answers: Pick<SimulationSummary['answers'], 'rejected' | 'failed'>;
    sent: Pick<SimulationSummary['sent'], 'card_token_failures'>;
  };
  arrivals: Pick<Arrival, 'verified'>[];
  actionsExpected: number;
  actionsDelivered: number;
}): string[] {
  const { answers, sent } = summary.feed;
  const failures: string[] = [];
  if (answers.rejected + answers.failed > 0)
    failures.push(`${n(answers.rejected)} events rejected and ${n(answers.failed)} failed`);
  if (sent.card_token_failures > 0)
    failures.push(`${count(sent.card_token_failures, 'card-token link')} failed`);
  const bad = summary.arrivals.filter((a) => !a.verified).length;
  if (bad > 0) failures.push(`${count(bad, 'webhook')} with a bad signature`);
  if (summary.actionsDelivered < summary.actionsExpected)
    failures.push(
      `the first webhook of ${n(summary.actionsExpected - summary.actionsDelivered)} of ` +
        `${n(summary.actionsExpected)} actions did not arrive within --drain-timeout`,
    );
  return failures;
}
