import { beforeAll, describe, expect, it } from 'vitest';
import { linkOrphanEvents } from '../../src/ingest/maintenance.ts';
import { simulatedCards } from '../../src/simulator/cards.ts';
import { planTraffic } from '../../src/simulator/plan.ts';
import type { ProcessorCredentials } from '../../src/simulator/sign.ts';
import { simulate } from '../../src/simulator/simulate.ts';
import { usePlatform } from '../helpers/platform.ts';
import { enrollCard } from '../ingest/fixtures.ts';

const platform = usePlatform();
const STRIPE_SECRET = 'whsec_simulatorTestStripeEndpointSecret0123';
const options = { seed: 'api-0', cards: 40, rate: 60, duration: 3 };
let baseUrl: string;
let processor: ProcessorCredentials;

beforeAll(async () => {
  baseUrl = await platform.listen();
  const created = await platform.admin('POST', '/v1/processors', {
    body: { name: 'Simulated processor', stripe_endpoint_secret: STRIPE_SECRET },
  });
  expect(created.status).toBe(201);
  processor = {
    id: created.body.id,
    apiKey: created.body.api_key,
    signingSecret: created.body.signing_secret,
    stripeEndpointSecret: STRIPE_SECRET,
  };
  for (const card of simulatedCards(options.seed, options.cards)) await enrollCard(platform, card.pan);
});

describe('the simulator against the real API', () => {
  it('sends every lifecycle in all three formats, and the platform accepts each and links followers', async () => {
    const plan = planTraffic(options);
    // The seed was chosen so that this small run has all three feeds, duplicates, out-of-order and late clearings.
    expect(plan.counts.by_format.iso8583).toBeGreaterThan(0);
    expect(plan.counts.by_format.stripe).toBeGreaterThan(0);
    expect(plan.counts.duplicates).toBeGreaterThan(0);
    expect(plan.counts.late_clearings).toBeGreaterThan(0);
    expect(plan.counts.out_of_order).toBeGreaterThan(0);

    const progress: number[] = [];
    const summary = await simulate({ ...options, baseUrl, processor, concurrency: 8 }, (p) =>
      progress.push(p.answered),
    );

    expect(summary.problems).toEqual([]);
    expect(summary.answers.rejected).toBe(0);
    expect(summary.answers.failed).toBe(0);
    expect(summary.sent.events).toBe(plan.counts.events);
    expect(summary.answers.accepted).toBe(plan.counts.events - plan.counts.duplicates);
    expect(summary.answers.duplicate).toBe(plan.counts.duplicates);
    expect(summary.answers.duplicates_recognised).toBe(plan.counts.duplicates);
    expect(summary.sent.card_tokens_linked).toBe(plan.counts.card_token_links);
    expect(progress.at(-1)).toBe(plan.counts.events);

    // Every clearing, refund and reversal of a purchase that had an authorization is linked to it, out-of-order
    // ones included, whatever the feed: at ingestion, or by the orphan sweep (run here as the maintenance worker
    // would) when a follower and its authorization were stored by concurrent transactions.
    const sql = platform.deps.sql;
    await linkOrphanEvents(sql, platform.deps.actionsHook);
    const rows = await sql<{ type: string; linked: boolean }[]>`
      select type, authorization_id is not null as linked from events where processor_id = ${processor.id}`;
    const followers = rows.filter((r) => r.type !== 'authorization');
    expect(rows.length).toBe(plan.counts.events - plan.counts.duplicates);
    // Clearing-only purchases (a forced post) have no authorization to link to.
    expect(followers.filter((r) => !r.linked).length).toBe(plan.counts.clearing_only);
  });

  it('stops at once when aborted, without waiting for the next event of a slow run', async () => {
    const slow = {
      seed: 'api-slow',
      cards: 40,
      rate: 0.05,
      duration: 400,
      formats: { json: 1, iso8583: 0, stripe: 0 },
    };
    const timed = planTraffic(slow).requests.filter((r) => r.kind === 'events');
    const stop = new AbortController();
    const summary = await simulate({ ...slow, baseUrl, processor, signal: stop.signal }, () => stop.abort());
    // Aborted at the first progress report: what was still to come is not sent, and the run ended before it
    // was due (it used to sleep until then).
    let before = 0;
    const next = timed.find((request) => {
      before += request.events.length;
      return before > summary.sent.events;
    });
    expect(next).toBeDefined();
    expect(summary.timing.seconds * 1000).toBeLessThan(next!.atMs);
  });
});
