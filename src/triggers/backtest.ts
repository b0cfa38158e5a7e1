// What a trigger would have done over stored events, acting on nothing: the events of a range streamed through a
// cursor in a read-only transaction and replayed in memory (backtest-replay.ts), within a time limit.
import { cardIdForApp, type PseudonymKey } from '../cards/pseudonyms.ts';
import type { Config } from '../config.ts';
import type { Db } from '../db/client.ts';
import type { TriggerRow } from '../db/schema/index.ts';
import { AppError, pgErrorCode } from '../errors.ts';
import type { Slots } from '../lib/slots.ts';
import { type EVENT_TYPES_THAT_FIRE, SCOPE_OF_ACTION } from '../rules/dsl.ts';
import type { RuleEvent } from '../rules/event.ts';
import type { NotFiredReason } from '../rules/reasons.ts';
import { createReplay } from './backtest-replay.ts';
import { type CurrencyTotal, type RewardTotals, rewardTotals } from './reward-totals.ts';
import { getTrigger } from './triggers.ts';

/** The longest range one backtest covers. */
export const BACKTEST_MAX_DAYS = 90;
/** The fired purchases an answer shows. */
export const BACKTEST_SAMPLE_SIZE = 20;

const DAY_MS = 86_400_000;
const ROWS_PER_FETCH = 500;
// The database's own stop, a little after ours: it ends a single fetch that runs past the time limit (a large
// day to sort); our check between rows ends everything else.
const DATABASE_GRACE_MS = 500;
const QUERY_CANCELED = '57014';

export interface BacktestDeps {
  db: Db;
  config: PseudonymKey & Pick<Config, 'backtestTimeLimitMs'>;
  backtestSlots: Slots;
}

/** A purchase that would have fired, as the app may see it: its card under the app's own card id. */
export interface BacktestSample {
  eventId: string;
  type: (typeof EVENT_TYPES_THAT_FIRE)[number];
  occurredAt: string;
  amount: number;
  currency: string;
  merchant: { name: string | null; mcc: string | null };
  cardId: string;
  reward: { amount: number; currency: string } | null;
  points: number | null;
}

export interface Backtest extends RewardTotals {
  trigger: TriggerRow;
  eventsScanned: number;
  wouldFire: number;
  points: number;
  notFired: Partial<Record<NotFiredReason, number>>;
  sample: BacktestSample[];
  /** False when the time limit stopped the scan: the counts are those of the events before `scannedTo`. */
  complete: boolean;
  /** Every purchase that occurred in [from, scannedTo) was scanned (`to` when complete); RFC 3339, UTC. */
  scannedTo: string;
}

/** A stored purchase as the replay reads it, and whether its user granted the scope the action needs. */
type PurchaseRow = Omit<RuleEvent, 'amount'> & {
  amount: string;
  scopeGranted: boolean;
};

/**
 * Replays one of the app's triggers (its current definition, as if active) over the purchases that occurred in
 * [from, to) on the cards of the users who grant the app today, and counts what it would have done; another
 * app's trigger is not found. Purchases are authorizations, and clearings with no authorization linked to them;
 * refunds and reversals are not replayed (nothing is given back) and are not counted as scanned. A purchase of a
 * user whose grant lacks the action's scope is scanned and counted as `scope_not_granted` only.
 * `service_unavailable` (with `retry_after` seconds) when the process already runs all the backtests it may.
 */
export async function backtestTrigger(
  deps: BacktestDeps,
  input: { appId: string; triggerId: string; from: Date; to: Date },
): Promise<Backtest> {
  // Refused rather than queued: a waiting backtest would hold its request as long as a running one.
  const release = deps.backtestSlots.tryTake();
  if (!release)
    throw new AppError('service_unavailable', 'Too many backtests are running; try again shortly.', {
      extra: { retry_after: Math.max(1, Math.ceil(deps.config.backtestTimeLimitMs / 1000)) },
    });
  try {
    return await replayRange(deps, input);
  } finally {
    release();
  }
}

async function replayRange(
  deps: BacktestDeps,
  input: { appId: string; triggerId: string; from: Date; to: Date },
): Promise<Backtest> {
  const trigger = await getTrigger(deps.db, { appId: input.appId, id: input.triggerId });
  const replay = createReplay(trigger);
  const scope = SCOPE_OF_ACTION[trigger.action.type];
  const deadline = performance.now() + deps.config.backtestTimeLimitMs;
  const cashback = new Map<string, CurrencyTotal>();
  const result = {
    eventsScanned: 0,
    wouldFire: 0,
    points: 0,
    notFired: {} as Partial<Record<NotFiredReason, number>>,
    sample: [] as BacktestSample[],
    complete: true,
    scannedTo: input.from.toISOString(),
  };

  const tally = ({ amount, scopeGranted, ...fields }: PurchaseRow) => {
    const purchase: RuleEvent = { ...fields, amount: Number(amount) };
    const outcome = replay(purchase, scopeGranted);
    result.eventsScanned += 1;
    if (!outcome.fired) {
      result.notFired[outcome.reason] = (result.notFired[outcome.reason] ?? 0) + 1;
      return;
    }
    result.wouldFire += 1;
    const { reward } = outcome;
    if (reward.type === 'cashback') {
      const total = cashback.get(reward.currency) ?? { amount: 0, fires: 0 };
      cashback.set(reward.currency, { amount: total.amount + reward.amount, fires: total.fires + 1 });
    }
    if (reward.type === 'points') result.points += reward.points;
    if (result.sample.length < BACKTEST_SAMPLE_SIZE)
      result.sample.push({
        eventId: purchase.id,
        // The query reads purchases only.
        type: purchase.type as BacktestSample['type'],
        occurredAt: purchase.occurredAt,
        amount: purchase.amount,
        currency: purchase.currency,
        merchant: { name: purchase.merchantName, mcc: purchase.mcc },
        cardId: cardIdForApp(deps.config, input.appId, purchase.cardId),
        reward: reward.type === 'cashback' ? { amount: reward.amount, currency: reward.currency } : null,
        points: reward.type === 'points' ? reward.points : null,
      });
  };

  try {
    // Read only: a backtest cannot write, whatever a later change to this code does.
    await deps.db.$client.begin('read only', async (tx) => {
      // A day at a time, so Postgres sorts one day's purchases before the first row comes, not 90 days'.
      for (let start = input.from.getTime(); start < input.to.getTime(); start += DAY_MS) {
        const end = new Date(Math.min(start + DAY_MS, input.to.getTime())).toISOString();
        const left = Math.ceil(deadline - performance.now());
        if (left <= 0) {
          result.complete = false;
          return;
        }
        await tx`select set_config('statement_timeout', ${String(left + DATABASE_GRACE_MS)}, true)`;
        // Instants as toISOString() writes them, local times as the rules engine reads them.
        const rows = tx<PurchaseRow[]>`
          select e.id, e.type,
                 to_char(e.occurred_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as "occurredAt",
                 to_char(e.local_at, 'YYYY-MM-DD"T"HH24:MI:SS') as "localAt",
                 e.utc_offset_minutes as "utcOffsetMinutes", e.user_id as "userId", e.card_id as "cardId",
                 e.card_scheme as "cardScheme", e.amount, e.currency, e.merchant_id as "merchantId", e.mid,
                 e.merchant_name as "merchantName", e.mcc, e.merchant_country as "merchantCountry",
                 e.entry_mode as "entryMode", ${scope} = any(g.scopes) as "scopeGranted"
          from events e
          join grants g on g.user_id = e.user_id and g.app_id = ${input.appId} and g.revoked_at is null
          where e.occurred_at >= ${new Date(start).toISOString()}::timestamptz
            and e.occurred_at < ${end}::timestamptz
            and (e.type = 'authorization' or (e.type = 'clearing' and e.authorization_id is null))
          order by e.occurred_at, e.id`;
        for await (const batch of rows.cursor(ROWS_PER_FETCH)) {
          for (const row of batch) {
            if (performance.now() >= deadline) {
              result.complete = false;
              return;
            }
            // Every purchase before this one's instant has been scanned.
            result.scannedTo = row.occurredAt;
            tally(row);
          }
        }
        result.scannedTo = end;
      }
    });
  } catch (error) {
    // The database stopped a fetch at the time limit: answer what was scanned before it.
    if (pgErrorCode(error) !== QUERY_CANCELED) throw error;
    result.complete = false;
  }
  return { trigger, ...result, ...rewardTotals(trigger, cashback) };
}
