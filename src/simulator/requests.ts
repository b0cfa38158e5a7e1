/**
 * Timed events turned into the requests a processor sends, in send order: one per event, the late clearings
 * of JSON and ISO 8583 feeds in settlement batches, some messages sent twice (processor retries), and each
 * Stripe card's token link first. render.ts turns them into bytes.
 */
import type { WireFormat } from './cards.ts';
import type { DrawnPurchase } from './lifecycle.ts';
import type { Plan, PlannedEvent, PlannedRequest } from './plan.ts';
import { Random } from './random.ts';
import { delayMs, delayScale, type TimedEvent } from './timing.ts';

const SETTLEMENT_BATCH_SIZE = 500;

/** Every request of the run with `seq` set; `timelines[p]` holds the timed events of `purchases[p]`. */
export function requestsInSendOrder(
  purchases: DrawnPurchase[],
  timelines: TimedEvent[][],
  options: Pick<Plan['options'], 'seed' | 'duration' | 'lifecycle'>,
): PlannedRequest[] {
  const links = cardTokenLinks(purchases);
  const requests = eventRequests(purchases, timelines, options);
  // By time; ties keep the order made (a stable sort).
  return [...links, ...requests]
    .map((request, made) => ({ request, made }))
    .sort((a, b) => a.request.atMs - b.request.atMs || a.made - b.made)
    .map(({ request }, seq) => {
      request.seq = seq;
      return request;
    });
}

function eventRequests(
  purchases: DrawnPurchase[],
  timelines: TimedEvent[][],
  options: Pick<Plan['options'], 'seed' | 'duration' | 'lifecycle'>,
): PlannedRequest[] {
  const { seed, lifecycle: life } = options;
  const durationMs = options.duration * 1000;
  const scale = delayScale(options.duration);
  const requests: PlannedRequest[] = [];
  const lateBatches: Record<'json' | 'iso8583', PlannedEvent[]> = { json: [], iso8583: [] };
  const make = (
    atMs: number,
    format: WireFormat,
    events: PlannedEvent[],
    flags: Partial<Pick<PlannedRequest, 'late' | 'outOfOrder' | 'duplicate'>> = {},
  ) =>
    requests.push({
      seq: 0,
      atMs,
      format,
      kind: 'events',
      events,
      duplicate: false,
      late: false,
      outOfOrder: false,
      ...flags,
    });
  timelines.forEach((timeline, p) => {
    const { format } = purchases[p]!;
    const random = Random.for(seed, 'resend', p);
    for (const { event, atMs, late, outOfOrder } of timeline) {
      if (late && format !== 'stripe') {
        lateBatches[format].push(event);
        continue;
      }
      make(atMs, format, [event], { late, outOfOrder });
      if (random.chance(life.duplicate)) {
        make(atMs + Math.round(delayMs(random, life.duplicateDelay, scale)), format, [event], {
          late,
          duplicate: true,
        });
      }
    }
  });
  for (const format of ['json', 'iso8583'] as const) {
    const late = lateBatches[format];
    for (let i = 0; i < late.length; i += SETTLEMENT_BATCH_SIZE) {
      make(durationMs, format, late.slice(i, i + SETTLEMENT_BATCH_SIZE), { late: true });
    }
  }
  return requests;
}

/**
 * Stripe cards are linked to their numbers first, as an issuer links a card when it issues it: the links are
 * the run's set-up, sent before the clock.
 */
function cardTokenLinks(purchases: DrawnPurchase[]): PlannedRequest[] {
  const stripeCards = [
    ...new Set(purchases.filter((p) => p.format === 'stripe').flatMap((p) => p.events.map((e) => e.card))),
  ].sort((a, b) => a - b);
  return stripeCards.map((card) => ({
    seq: 0,
    atMs: 0,
    format: 'stripe',
    kind: 'card_token',
    events: [],
    card,
    duplicate: false,
    late: false,
    outOfOrder: false,
  }));
}
