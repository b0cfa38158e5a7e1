/**
 * When each purchase's events happen and are sent, ms from the run's start. Purchases spread evenly over the
 * run; followers come after their delays, or in the settlement batch at the end when that is past the run (or
 * when drawn late). Some clearings come before their authorization (the authorization message was delayed).
 */
import type { DrawnPurchase } from './lifecycle.ts';
import type { Plan, PlannedEvent } from './plan.ts';
import { Random } from './random.ts';

/** Seconds (scaled like the delays) between a reversal and the clearing of what it left. */
const REVERSAL_CLEARING_GAP_S = 0.5;

export interface TimedEvent {
  event: PlannedEvent;
  /** When it is sent (the settlement batch's time for a late clearing). */
  atMs: number;
  /** A clearing held to the end-of-run settlement batch. */
  late: boolean;
  /** An authorization sent after its own clearing. */
  outOfOrder: boolean;
}

/** The lifecycle's delays suit a run of a minute or more; shorter runs shrink them in proportion. */
export const delayScale = (durationS: number) => Math.min(1, durationS / 60);

/** A delay drawn from [min, max] seconds, in ms, shrunk by `scale`. */
export const delayMs = (random: Random, [min, max]: readonly [number, number], scale: number) =>
  random.between(min, max) * 1000 * scale;

/** Each purchase's events with their times, purchase by purchase, in lifecycle order. */
export function timePurchases(
  purchases: DrawnPurchase[],
  options: Pick<Plan['options'], 'seed' | 'duration' | 'lifecycle'>,
): TimedEvent[][] {
  const { seed, lifecycle: life } = options;
  const durationMs = options.duration * 1000;
  const spacing = durationMs / purchases.length;
  const scale = delayScale(options.duration);
  const seconds = (random: Random, range: readonly [number, number]) => delayMs(random, range, scale);
  return purchases.map(({ events, plan }, p) => {
    const random = Random.for(seed, 'timing', p);
    const t = Math.round((p + random.next()) * spacing);
    const out: TimedEvent[] = [];
    // When the clearing happened, and when it was sent (a refund follows both).
    let clearedAt = t;
    let clearingSentAt = t;
    // When the reversal was sent: a partial reversal's clearing (of what it left) comes after it.
    let reversal: TimedEvent | undefined;
    const gap = REVERSAL_CLEARING_GAP_S * 1000 * scale;
    for (const event of events) {
      let at = t;
      let occurred = t;
      let late = false;
      if (event.type === 'clearing' && !event.clearingOnly) {
        occurred = t + seconds(random, life.clearingDelay);
        if (reversal) occurred = Math.max(occurred, reversal.atMs + gap);
        occurred = Math.min(occurred, durationMs);
        late = plan.late || occurred >= durationMs;
        at = late ? durationMs : occurred;
        clearedAt = occurred;
        clearingSentAt = at;
        // A clearing held to the settlement batch at the end: its reversal goes out before the batch.
        if (reversal && reversal.atMs + gap > at) {
          reversal.atMs = Math.max(t, Math.round(at - gap));
          reversal.event.occurredMs = reversal.atMs;
        }
      } else if (event.type === 'reversal') {
        at = t + seconds(random, life.reversalDelay);
        occurred = at;
      } else if (event.type === 'refund') {
        at = clearedAt + seconds(random, life.refundDelay);
        // Past the run, or before its late clearing went out: just after the settlement batch.
        if (at > durationMs || at <= clearingSentAt) at = durationMs + 1000 + random.int(0, 2000);
        occurred = at;
      }
      const timed = {
        event: { ...event, occurredMs: Math.round(occurred) },
        atMs: Math.round(at),
        late,
        outOfOrder: false,
      };
      out.push(timed);
      if (event.type === 'reversal') reversal = timed;
    }
    if (plan.outOfOrder) {
      // The authorization's message was held up: it goes out after its clearing (which was not late).
      const auth = out.find((e) => e.event.type === 'authorization');
      const clearing = out.find((e) => e.event.type === 'clearing');
      if (auth && clearing && !clearing.late) {
        clearing.atMs = t + Math.round(seconds(random, [0.3, 3]));
        clearing.event.occurredMs = clearing.atMs;
        auth.atMs = clearing.atMs + Math.round(seconds(random, [0.2, 2]));
        auth.outOfOrder = true;
        const refund = out.find((e) => e.event.type === 'refund');
        if (refund && refund.atMs <= auth.atMs) {
          refund.atMs = auth.atMs + 500;
          refund.event.occurredMs = refund.atMs;
        }
      }
    }
    return out;
  });
}
