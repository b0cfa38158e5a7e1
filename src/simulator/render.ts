// A plan turned into the requests a processor sends: paths and bodies, byte for byte. Pure: the same plan,
// start and run give the same requests (only the signatures, made when each is sent, differ).
import type { EventType } from '../lib/payments.ts';
import { type SimulatedCard, simulatedCard } from './cards.ts';
import { LocalTime } from './clock.ts';
import type { RenderContext } from './formats/context.ts';
import { iso8583Body } from './formats/iso8583.ts';
import { jsonBody } from './formats/json.ts';
import { stripeBody } from './formats/stripe.ts';
import type { Plan, PlannedEvent, PlannedRequest } from './plan.ts';
import { hash53 } from './random.ts';

export interface RenderOptions {
  /** The run's start (epoch ms): the events' times are planned offsets from it. */
  startMs: number;
  /** Tells this run's event ids from another's with the same seed (default: from the start, in seconds). */
  run?: string;
  /** The processor the Stripe feed's URL names. */
  processorId: string;
}

export interface WireRequest {
  seq: number;
  /** When to send it, ms after the timed part of the run starts (card token links: before, at 0). */
  atMs: number;
  path: string;
  body: string;
  /** `processor`: api key and Standard Webhooks signature; `stripe`: `Stripe-Signature` only. */
  signing: 'processor' | 'stripe';
  format: PlannedRequest['format'];
  kind: PlannedRequest['kind'];
  /** The events it carries, in body order. */
  events: { type: EventType; purchase: number; card: number }[];
  duplicate: boolean;
  late: boolean;
  outOfOrder: boolean;
}

export const seedTag = (seed: string) => hash53(seed).toString(36).slice(0, 6);
/** The start in milliseconds: two runs started in the same second still get ids of their own. */
export const defaultRun = (startMs: number) => Math.floor(startMs).toString(36);

/** The events' id prefix of a run: `sim-s<seed tag>-r<run>`. */
export const idPrefixOf = (seed: string, run: string) => `sim-s${seedTag(seed)}-r${run}`;

export function renderContext(plan: Plan, options: RenderOptions): RenderContext {
  const { seed, formats, merchants } = plan.options;
  const cards = new Map<number, SimulatedCard>();
  const firstSent = new Map<string, number>();
  const authorized = new Set<number>();
  for (const request of plan.requests) {
    for (const event of request.events) {
      const key = `${event.purchase}:${event.type}`;
      if (!firstSent.has(key)) firstSent.set(key, request.atMs);
      if (event.type === 'authorization') authorized.add(event.purchase);
    }
  }
  return {
    startMs: options.startMs,
    localTime: new LocalTime(),
    idPrefix: idPrefixOf(seed, options.run ?? defaultRun(options.startMs)),
    card: (index) => {
      let card = cards.get(index);
      if (!card) {
        card = simulatedCard(seed, index, formats);
        cards.set(index, card);
      }
      return card;
    },
    merchant: (event: PlannedEvent) => merchants[event.merchant]!,
    firstSentMs: (purchase, type) => firstSent.get(`${purchase}:${type}`) ?? 0,
    authorized: (purchase) => authorized.has(purchase),
  };
}

/** One planned request as it goes on the wire. */
export function renderRequest(
  context: RenderContext,
  request: PlannedRequest,
  processorId: string,
): WireRequest {
  const common = {
    seq: request.seq,
    atMs: request.atMs,
    format: request.format,
    kind: request.kind,
    events: request.events.map((e) => ({ type: e.type, purchase: e.purchase, card: e.card })),
    duplicate: request.duplicate,
    late: request.late,
    outOfOrder: request.outOfOrder,
  };
  if (request.kind === 'card_token') {
    const card = context.card(request.card!);
    return {
      ...common,
      path: '/v1/card_tokens',
      body: JSON.stringify({ token: card.token, pan: card.pan }),
      signing: 'processor',
    };
  }
  if (request.format === 'stripe')
    return {
      ...common,
      path: `/v1/events/stripe/${processorId}`,
      body: stripeBody(context, request.events[0]!),
      signing: 'stripe',
    };
  if (request.format === 'iso8583')
    return {
      ...common,
      path: '/v1/events/iso8583',
      body: iso8583Body(context, request.events, request.duplicate),
      signing: 'processor',
    };
  return { ...common, path: '/v1/events', body: jsonBody(context, request.events), signing: 'processor' };
}

/** Every request of a plan, in send order. */
export function renderPlan(plan: Plan, options: RenderOptions): WireRequest[] {
  const context = renderContext(plan, options);
  return plan.requests.map((request) => renderRequest(context, request, options.processorId));
}
