/**
 * The traffic generator: what a processor feed sends over a run, as a pure function of (seed, options).
 * Times are offsets from the run's start in ms; turning them into dates, ids and wire bodies is render.ts's.
 * Three passes, a file each: lifecycle.ts draws what happens to each purchase (who buys where: habits.ts),
 * timing.ts when each event happens and is sent, requests.ts the requests that carry them, in send order.
 */
import type { EntryMode, EventType } from '../lib/payments.ts';
import { DEFAULT_FORMAT_SHARES, type FormatShares, type WireFormat } from './cards.ts';
import { type DrawnPurchase, drawPurchases, LIFECYCLE, type Lifecycle } from './lifecycle.ts';
import { MERCHANTS, type SimulatedMerchant } from './merchants.ts';
import { requestsInSendOrder } from './requests.ts';
import { timePurchases } from './timing.ts';

export interface PlanOptions {
  /** Any text or number: the same seed and options give the same plan. */
  seed: string;
  /** Cards in the world (the first `cards` of the seed's cards). */
  cards: number;
  /** Events per second to send. */
  rate: number;
  /** Seconds of traffic; the late settlement batch follows at the end. */
  duration: number;
  /** Share of cards whose issuer sends each feed. */
  formats?: FormatShares;
  /** Merchants to buy from (default: the simulated world's fifty). */
  merchants?: readonly SimulatedMerchant[];
  /** Other probabilities and delays than LIFECYCLE's (e.g. `{clearing: 0, duplicate: 0}`: authorizations only). */
  lifecycle?: Partial<Lifecycle>;
}

export interface PlannedEvent {
  purchase: number;
  type: EventType;
  card: number;
  /** Index into the plan's merchants, and of the merchant's location. */
  merchant: number;
  location: number;
  terminal: string;
  /** This event's amount in minor units (a partial clearing, refund or reversal: less than authorized). */
  amount: number;
  authorizedAmount: number;
  currency: string;
  /** When it happened, ms from the start of the run. */
  occurredMs: number;
  authCode: string;
  rrn: string;
  entryMode: EntryMode;
  partial: boolean;
  /** The purchase had no authorization (a clearing-only feed). */
  clearingOnly: boolean;
}

export type RequestKind = 'events' | 'card_token';

export interface PlannedRequest {
  /** Position in the send order. */
  seq: number;
  /** When to send, ms from the start of the run. */
  atMs: number;
  format: WireFormat;
  kind: RequestKind;
  /** One event, or a settlement batch; none for a card token link. */
  events: PlannedEvent[];
  /** For a card token link (the run's set-up, sent before the clock starts): the card. */
  card?: number;
  /** A re-send of a message already sent (same event ids). */
  duplicate: boolean;
  /** Clearings sent in the end-of-run settlement batch. */
  late: boolean;
  /** An authorization sent after its own clearing. */
  outOfOrder: boolean;
}

export interface PlanCounts {
  purchases: number;
  requests: number;
  events: number;
  by_type: Record<EventType, number>;
  by_format: Record<WireFormat, number>;
  card_token_links: number;
  duplicates: number;
  out_of_order: number;
  late_clearings: number;
  partial_clearings: number;
  partial_refunds: number;
  partial_reversals: number;
  clearing_only: number;
  never_cleared: number;
  batches: number;
}

export interface Plan {
  options: Required<Omit<PlanOptions, 'merchants' | 'lifecycle'>> & {
    merchants: readonly SimulatedMerchant[];
    lifecycle: Lifecycle;
  };
  requests: PlannedRequest[];
  counts: PlanCounts;
}

/** The plan of a run: every request in send order with its events. Pure: no clock, no I/O. */
export function planTraffic(input: PlanOptions): Plan {
  const options = {
    seed: String(input.seed),
    cards: input.cards,
    rate: input.rate,
    duration: input.duration,
    formats: input.formats ?? DEFAULT_FORMAT_SHARES,
    merchants: input.merchants ?? MERCHANTS,
    lifecycle: { ...LIFECYCLE, ...input.lifecycle },
  };
  if (!(options.cards >= 1)) throw new Error('cards must be at least 1');
  if (!(options.rate > 0) || !(options.duration > 0)) throw new Error('rate and duration must be positive');
  const budget = Math.max(1, Math.round(options.rate * options.duration));
  const purchases = drawPurchases(options, budget);
  const timelines = timePurchases(purchases, options);
  const requests = requestsInSendOrder(purchases, timelines, options);
  return { options, requests, counts: countPlan(requests, purchases) };
}

function countPlan(requests: PlannedRequest[], purchases: DrawnPurchase[]): PlanCounts {
  const counts: PlanCounts = {
    purchases: purchases.length,
    requests: requests.length,
    events: 0,
    by_type: { authorization: 0, clearing: 0, refund: 0, reversal: 0 },
    by_format: { json: 0, iso8583: 0, stripe: 0 },
    card_token_links: 0,
    duplicates: 0,
    out_of_order: 0,
    late_clearings: 0,
    partial_clearings: 0,
    partial_refunds: 0,
    partial_reversals: 0,
    clearing_only: purchases.filter((p) => p.plan.clearingOnly).length,
    never_cleared: purchases.filter((p) => !p.plan.clearing && p.plan.reversal !== 'full').length,
    batches: 0,
  };
  for (const request of requests) {
    if (request.kind === 'card_token') {
      counts.card_token_links++;
      continue;
    }
    if (request.events.length > 1) counts.batches++;
    if (request.duplicate) counts.duplicates += request.events.length;
    if (request.outOfOrder) counts.out_of_order++;
    for (const event of request.events) {
      counts.events++;
      counts.by_type[event.type]++;
      counts.by_format[request.format]++;
      if (request.duplicate) continue;
      if (request.late && event.type === 'clearing') counts.late_clearings++;
      if (event.partial && event.type === 'clearing') counts.partial_clearings++;
      if (event.partial && event.type === 'refund') counts.partial_refunds++;
      if (event.partial && event.type === 'reversal') counts.partial_reversals++;
    }
  }
  return counts;
}
