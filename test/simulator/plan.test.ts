import { describe, expect, it } from 'vitest';
import { convertIso8583 } from '../../src/adapters/iso8583.ts';
import { convertStripeEvent } from '../../src/adapters/stripe-issuing.ts';
import { luhnValid, schemeOf } from '../../src/cards/pan.ts';
import { statedOffsetMinutes } from '../../src/ingest/local-time.ts';
import { CardEventInput } from '../../src/ingest/schema.ts';
import { simulatedCard, simulatedCards } from '../../src/simulator/cards.ts';
import { LocalTime } from '../../src/simulator/clock.ts';
import { MERCHANTS } from '../../src/simulator/merchants.ts';
import { type Plan, type PlannedEvent, planTraffic } from '../../src/simulator/plan.ts';
import { renderPlan, type WireRequest } from '../../src/simulator/render.ts';
import { planDigest, requestsDigest } from '../../src/simulator/simulate.ts';

const OPTIONS = { seed: 'plan-test', cards: 300, rate: 40, duration: 60 };
const START = Date.parse('2026-11-23T16:00:00Z');
const render = (plan: Plan, startMs = START, run?: string) =>
  renderPlan(plan, { startMs, processorId: 'prc_simulated', ...(run ? { run } : {}) });

describe('determinism', () => {
  it('the same seed and options give the same plan, and with the same start the same bytes', () => {
    const a = planTraffic(OPTIONS);
    const b = planTraffic({ ...OPTIONS });
    expect(planDigest(a)).toBe(planDigest(b));
    expect(a.counts).toEqual(b.counts);
    expect(requestsDigest(render(a))).toBe(requestsDigest(render(b)));
    expect(render(a).map((r) => r.body)).toEqual(render(b).map((r) => r.body));
  });

  it('another seed gives other traffic; another start moves it in time under new ids', () => {
    const plan = planTraffic(OPTIONS);
    expect(planDigest(planTraffic({ ...OPTIONS, seed: 'plan-test-2' }))).not.toBe(planDigest(plan));
    const later = render(plan, START + 3_600_000);
    expect(requestsDigest(later)).not.toBe(requestsDigest(render(plan)));
    // The same lifecycles, only shifted: same paths and amounts in the same order.
    const shape = (requests: WireRequest[]) => requests.map((r) => [r.path, r.events, r.atMs]);
    expect(shape(later)).toEqual(shape(render(plan)));
    // A run name alone renames every event, so re-sending a seed's traffic is not all duplicates.
    const renamed = render(plan, START, 'again');
    const firstJson = (requests: WireRequest[]) =>
      JSON.parse(requests.find((r) => r.format === 'json')!.body);
    expect(firstJson(renamed).id).not.toBe(firstJson(render(plan)).id);
    expect(firstJson(renamed).amount).toBe(firstJson(render(plan)).amount);
    // Two runs started within the same second do not share ids either.
    expect(firstJson(render(plan, START + 1)).id).not.toBe(firstJson(render(plan)).id);
  });

  it('draws each part from its own stream: more cards do not change the cards there were', () => {
    expect(simulatedCards('s', 10)).toEqual(simulatedCards('s', 20).slice(0, 10));
  });
});

describe('cards', () => {
  it('are Luhn-valid numbers of known schemes, unique, with a token each', () => {
    const cards = simulatedCards('cards-test', 20_000);
    for (const card of cards) {
      expect(luhnValid(card.pan)).toBe(true);
      expect(schemeOf(card.pan)).not.toBe('unknown');
      expect(card.token).toMatch(/^ic_[0-9A-Za-z]{24}$/);
    }
    expect(new Set(cards.map((c) => c.pan)).size).toBe(cards.length);
    expect(new Set(cards.map((c) => c.token)).size).toBe(cards.length);
    expect(simulatedCard('cards-test', 123)).toEqual(cards[123]);
    expect(simulatedCard('other-seed', 123).pan).not.toBe(cards[123]!.pan);
  });
});

describe('lifecycles', () => {
  const plan = planTraffic(OPTIONS);
  const firstCopies = plan.requests.filter((r) => r.kind === 'events' && !r.duplicate);
  const byPurchase = new Map<number, { event: PlannedEvent; seq: number; outOfOrder: boolean }[]>();
  for (const request of firstCopies)
    for (const event of request.events) {
      const list = byPurchase.get(event.purchase) ?? [];
      list.push({ event, seq: request.seq, outOfOrder: request.outOfOrder });
      byPurchase.set(event.purchase, list);
    }

  it('spends about the event budget over the run, with every kind of lifecycle in it', () => {
    const { counts } = plan;
    const budget = OPTIONS.rate * OPTIONS.duration;
    expect(counts.events - counts.duplicates).toBeGreaterThanOrEqual(budget);
    expect(counts.events - counts.duplicates).toBeLessThan(budget + 5);
    for (const value of [
      counts.by_type.clearing,
      counts.by_type.refund,
      counts.by_type.reversal,
      counts.duplicates,
      counts.out_of_order,
      counts.late_clearings,
      counts.partial_clearings,
      counts.partial_refunds,
      counts.partial_reversals,
      counts.clearing_only,
      counts.never_cleared,
      counts.batches,
      counts.card_token_links,
    ])
      expect(value).toBeGreaterThan(0);
    expect(counts.by_type.authorization).toBeGreaterThan(counts.by_type.clearing);
  });

  it('sends a purchase’s events in order, except authorizations held up behind their clearing', () => {
    let outOfOrder = 0;
    let reversals = 0;
    for (const events of byPurchase.values()) {
      const seqOf = (type: string) => events.find((e) => e.event.type === type)?.seq;
      const auth = events.find((e) => e.event.type === 'authorization');
      const clearing = seqOf('clearing');
      const refund = seqOf('refund');
      const reversal = seqOf('reversal');
      if (reversal !== undefined && clearing !== undefined) {
        reversals++;
        expect(reversal).toBeLessThan(clearing);
      }
      if (auth?.outOfOrder) {
        outOfOrder++;
        expect(clearing).toBeLessThan(auth.seq);
      } else if (auth) {
        for (const e of events) if (e !== auth) expect(e.seq).toBeGreaterThan(auth.seq);
      }
      if (refund !== undefined) expect(refund).toBeGreaterThan(clearing!);
    }
    expect(outOfOrder).toBe(plan.counts.out_of_order);
    expect(reversals).toBeGreaterThan(0);
  });

  it('keeps amounts consistent: partial events take part, a partial reversal leaves the rest to clear', () => {
    for (const events of byPurchase.values()) {
      const of = (type: string) => events.find((e) => e.event.type === type)?.event;
      const [auth, clearing, refund, reversal] = ['authorization', 'clearing', 'refund', 'reversal'].map(of);
      for (const { event } of events) {
        expect(event.amount).toBeGreaterThan(0);
        expect(event.amount <= event.authorizedAmount).toBe(true);
        if (event.partial) expect(event.amount).toBeLessThan(event.authorizedAmount);
      }
      if (auth) expect(auth.amount).toBe(auth.authorizedAmount);
      if (reversal && !reversal.partial) expect(clearing).toBeUndefined();
      if (reversal?.partial && clearing) expect(clearing.amount).toBe(auth!.amount - reversal.amount);
      if (refund) expect(refund.amount <= clearing!.amount).toBe(true);
      if (refund && !refund.partial) expect(refund.amount).toBe(clearing!.amount);
    }
  });

  it('sends late clearings in settlement batches at the end, and re-sends a few messages as they were', () => {
    const end = OPTIONS.duration * 1000;
    const batches = plan.requests.filter((r) => r.events.length > 1);
    expect(batches.length).toBeGreaterThan(0);
    for (const batch of batches) {
      expect(batch.atMs).toBe(end);
      expect(batch.events.every((e) => e.type === 'clearing')).toBe(true);
    }
    const requests = render(plan);
    for (const request of requests.filter((r) => r.duplicate)) {
      const original = requests.find(
        (r) =>
          !r.duplicate &&
          r.kind === 'events' &&
          r.events[0]!.purchase === request.events[0]!.purchase &&
          r.events[0]!.type === request.events[0]!.type,
      )!;
      expect(original.seq).toBeLessThan(request.seq);
      // ISO 8583 says "repeat" in the MTI's last digit; the other feeds send the same bytes again.
      if (request.format === 'iso8583')
        expect(request.body).toBe(original.body.replace(/"mti":"(\d{3})0"/, '"mti":"$11"'));
      else expect(request.body).toBe(original.body);
    }
  });

  it('takes other lifecycle odds when told: authorizations only', () => {
    const only = planTraffic({
      ...OPTIONS,
      lifecycle: { clearing: 0, clearingOnly: 0, reversal: 0, duplicate: 0 },
    });
    expect(only.counts.by_type).toEqual({
      authorization: only.counts.events,
      clearing: 0,
      refund: 0,
      reversal: 0,
    });
    expect(only.counts.events).toBe(OPTIONS.rate * OPTIONS.duration);
  });

  it('sends no reversal from a Stripe card, and links each Stripe card once before the clock starts', () => {
    const stripe = plan.requests.filter((r) => r.format === 'stripe');
    expect(stripe.flatMap((r) => r.events).some((e) => e.type === 'reversal')).toBe(false);
    const links = plan.requests.filter((r) => r.kind === 'card_token');
    expect(links.every((r) => r.atMs === 0)).toBe(true);
    expect(new Set(links.map((r) => r.card)).size).toBe(links.length);
    const cardsWithStripeEvents = new Set(stripe.flatMap((r) => r.events.map((e) => e.card)));
    expect(new Set(links.map((r) => r.card))).toEqual(cardsWithStripeEvents);
  });
});

describe('wire formats, read by the platform’s own parsers', () => {
  const now = new Date(START + 2 * 3_600_000);
  /** A plan whose cards all use one feed, with each event as the body that carries it. */
  const feed = (format: 'json' | 'iso8583' | 'stripe') => {
    const formats = { json: 0, iso8583: 0, stripe: 0, [format]: 1 };
    const plan = planTraffic({ ...OPTIONS, duration: 20, formats });
    return render(plan)
      .filter((r) => r.kind === 'events')
      .flatMap((request) => {
        const parsed = JSON.parse(request.body);
        const bodies: unknown[] = request.events.length > 1 ? (parsed.events ?? parsed.messages) : [parsed];
        const planned = plan.requests[request.seq]!.events;
        return bodies.map((body, i) => ({ body, planned: planned[i]! }));
      });
  };

  it('JSON events pass the ingest schema, with the merchant’s local offset', () => {
    for (const { body, planned } of feed('json')) {
      const parsed = CardEventInput.safeParse(body);
      expect(parsed.success, JSON.stringify(parsed.error?.issues)).toBe(true);
      const event = parsed.data!;
      expect(event.type).toBe(planned.type);
      expect(event.amount).toBe(planned.amount);
      const merchant = MERCHANTS[planned.merchant]!;
      expect(statedOffsetMinutes(event.occurred_at) ?? 0).toBe(
        new LocalTime().offsetMinutes(Date.parse(event.occurred_at), merchant.timezone),
      );
    }
  });

  it('ISO 8583 messages convert to the planned events, followers naming their authorization', () => {
    const idOf = new Map<number, string>();
    const results = feed('iso8583').map(({ body, planned }) => {
      const result = convertIso8583(body, now);
      if (!result.ok) throw new Error(JSON.stringify(result.errors));
      if (planned.type === 'authorization') idOf.set(planned.purchase, result.event.id);
      return { event: result.event, planned };
    });
    for (const { event, planned } of results) {
      expect(event.type).toBe(planned.type);
      expect(event.amount).toBe(planned.amount);
      expect(event.currency).toBe(planned.currency);
      expect(event.merchant.mid).toBe(MERCHANTS[planned.merchant]!.locations[planned.location]!.mid);
      if (planned.type !== 'authorization')
        expect(event.original_id).toBe(idOf.get(planned.purchase) ?? null);
    }
    const kinds = new Set(results.map((r) => `${r.planned.type}${r.planned.partial ? ' partial' : ''}`));
    expect(kinds).toContain('reversal partial');
    expect(kinds).toContain('refund partial');
  });

  it('refuses to render a currency ISO 4217 does not list, rather than sending it as dollars', () => {
    const plan = planTraffic({ ...OPTIONS, duration: 20, formats: { json: 0, iso8583: 1, stripe: 0 } });
    const request = plan.requests.find((r) => r.kind === 'events')!;
    const event = request.events[0]!;
    (request.events as PlannedEvent[])[0] = { ...event, currency: 'XXY' };
    expect(() => render(plan)).toThrow('XXY is not an ISO 4217 currency');
  });

  it('Stripe Issuing events convert to the planned events, on the card’s token', () => {
    const results = feed('stripe').map(({ body, planned }) => {
      const result = convertStripeEvent(body);
      if (result.kind !== 'event') throw new Error(JSON.stringify(result));
      return { event: result.event, planned };
    });
    const authIds = new Map(
      results.filter((r) => r.planned.type === 'authorization').map((r) => [r.planned.purchase, r.event.id]),
    );
    for (const { event, planned } of results) {
      expect(event.type).toBe(planned.type);
      expect(event.amount).toBe(planned.amount);
      expect(event.card).toEqual({ token: simulatedCard(OPTIONS.seed, planned.card).token });
      if (planned.type !== 'authorization') expect(event.original_id).toBe(authIds.get(planned.purchase));
    }
  });
});
