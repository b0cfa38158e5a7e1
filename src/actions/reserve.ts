// Turns a batch's matches into actions inside the ingest transaction: the limit rows they need, each match decided
// in batch order on the locked rows, and the actions and misses to insert.
import type { StoredEvent } from '../ingest/event-fields.ts';
import type { Conn } from '../ingest/ingest-transaction.ts';
import { newId } from '../lib/ids.ts';
import {
  atSameMerchant,
  type EarlierPurchase,
  earnsStamp,
  nextCardState,
  type Stamp,
  stampsInWindow,
} from '../rules/card-state.ts';
import type { CompiledTrigger } from '../rules/compile.ts';
import { type Decision, decide } from '../rules/decide.ts';
import { instantOf, isOwnPurchase, localDay } from '../rules/event.ts';
import { cardKey, dayKey, emptyLockKeys, type LockedState, type LockKeys, wantKey } from './limit-state.ts';

/** A purchase of the batch and a trigger whose stateless conditions it meets (evaluate()). */
export interface Match {
  event: StoredEvent;
  trigger: CompiledTrigger;
}

const usesCounters = (t: CompiledTrigger) =>
  t.limits.total_redemptions !== undefined || t.limits.budget !== undefined;
const usesCardState = (t: CompiledTrigger) =>
  t.limits.per_card !== undefined || t.match.nth_purchase !== undefined || t.match.first_purchase === true;
const usesUserDays = (t: CompiledTrigger) => t.limits.per_user_per_day !== undefined;

/** The limit rows the matches need (created when missing: a purchase may fire). */
export function matchKeys(matches: readonly Match[]): LockKeys {
  const keys = emptyLockKeys();
  for (const { event, trigger } of matches) {
    if (usesCounters(trigger)) wantKey(keys.counters, trigger.id, { trigger_id: trigger.id, create: true });
    if (usesCardState(trigger))
      wantKey(keys.cards, cardKey(trigger.id, event.cardId), {
        trigger_id: trigger.id,
        card_id: event.cardId,
        create: true,
      });
    if (usesUserDays(trigger)) {
      const day = localDay(event);
      wantKey(keys.days, dayKey(trigger.id, event.userId, day), {
        trigger_id: trigger.id,
        user_id: event.userId,
        day,
        create: true,
      });
    }
  }
  return keys;
}

type HistoryRow = {
  card_id: string;
  mid: string;
  merchant_id: string | null;
  mcc: string | null;
  merchant_name: string | null;
};

/**
 * Where the cards that met a first_purchase trigger bought before this batch. Sent right behind the limit rows'
 * locks (and returned unawaited, so that it is): a concurrent batch with a purchase on the same card has committed
 * by then, so `first_purchase` sees it.
 */
export function historyQuery(conn: Conn, matches: readonly Match[], batch: readonly StoredEvent[]) {
  /** Card → its user. */
  const historyCards = new Map<string, string>();
  for (const { event, trigger } of matches)
    if (trigger.match.first_purchase) historyCards.set(event.cardId, event.userId);
  if (historyCards.size === 0) return [] as HistoryRow[];
  return conn<HistoryRow[]>`
        -- The card's purchases before this batch, but those taken back in full (reversed or refunded: their
        -- firing was given back, so they are not where the card bought).
        with c as (
          select * from json_to_recordset(${JSON.stringify(
            [...historyCards].map(([card_id, user_id]) => ({ card_id, user_id })),
          )}::text::json) as c(card_id text, user_id text)
        )
        select e.card_id, e.mid, e.merchant_id, e.mcc, e.merchant_name
        from c
        -- The hash is the key of events_authorizations_by_card_idx (migration 0007).
        join events e on hashtextextended(e.card_id, 0) = hashtextextended(c.card_id, 0)
          and e.card_id = c.card_id and e.type = 'authorization'
        where e.id <> all(${batch.map((event) => event.id)}::text[])
          and e.reversed_amount + e.refunded_amount < e.amount
        union
        -- Clearing-only purchases, through the user's events (events_by_user_idx, migration 0012); what was
        -- taken back of them is in the unlinked refunds and reversals naming them (events_orphans_by_original_idx).
        select e.card_id, e.mid, e.merchant_id, e.mcc, e.merchant_name
        from c
        join events e on hashtextextended(e.user_id, 0) = hashtextextended(c.user_id, 0)
          and e.user_id = c.user_id and e.card_id = c.card_id
          and e.type = 'clearing' and e.authorization_id is null
        where e.id <> all(${batch.map((event) => event.id)}::text[])
          and e.amount > (
            select coalesce(sum(f.amount), 0) from events f
            where f.processor_id = e.processor_id and f.original_external_id = e.external_id
              and f.authorization_id is null and f.type in ('refund', 'reversal'))`;
}

interface ActionRowInput {
  id: string;
  trigger_id: string;
  trigger_version: number;
  app_id: string;
  user_id: string;
  card_id: string;
  purchase_id: string;
  purchase_received_at: string;
  purchase_amount: number;
  purchase_currency: string;
  type: string;
  reward_amount: number | null;
  reward_currency: string | null;
  points: number | null;
  budget_spend: number;
  local_day: string;
  used_stamps: Stamp[] | null;
}

interface MissRowInput {
  event_id: string;
  trigger_id: string;
  trigger_version: number;
  app_id: string;
  user_id: string;
  reason: string;
  progress_have: number | null;
  progress_need: number | null;
}

export interface MatchOutcomes {
  actions: ActionRowInput[];
  misses: MissRowInput[];
  /** How many actions each event fired. */
  fired: Map<string, number>;
}

/**
 * Decides every match in batch order on the locked limit rows (changing them as it goes), given where the cards
 * bought before (`historyQuery`).
 */
export function decideMatches(
  state: LockedState,
  historyRows: readonly HistoryRow[],
  matches: readonly Match[],
  batch: readonly StoredEvent[],
): MatchOutcomes {
  const history = new Map<string, EarlierPurchase[]>();
  for (const row of historyRows) {
    const list = history.get(row.card_id) ?? [];
    list.push({ mid: row.mid, merchantId: row.merchant_id, mcc: row.mcc, merchantName: row.merchant_name });
    history.set(row.card_id, list);
  }
  const actions: ActionRowInput[] = [];
  const misses: MissRowInput[] = [];
  const fired = new Map<string, number>();
  const boughtEarlierInBatch = matches.some(({ trigger }) => trigger.match.first_purchase)
    ? earlierInBatch(batch)
    : null;

  for (const { event, trigger } of matches) {
    const totals = state.totals.get(trigger.id) ?? { redemptions: 0, budgetSpent: 0 };
    const card = state.cards.get(cardKey(trigger.id, event.cardId)) ?? { fires: 0, stamps: [] };
    const day = state.days.get(dayKey(trigger.id, event.userId, localDay(event))) ?? { fires: 0 };
    const atMs = instantOf(event.occurredAt);
    const nth = trigger.match.nth_purchase;
    const earlierPurchase =
      trigger.match.first_purchase === true &&
      ((history.get(event.cardId) ?? []).some((p) => atSameMerchant(trigger.match, p)) ||
        boughtEarlierInBatch!(event).some((p) => atSameMerchant(trigger.match, p)));
    const decision: Decision = decide(trigger, event, {
      redemptions: totals.redemptions,
      budgetSpent: totals.budgetSpent,
      cardFires: card.fires,
      stampsBefore: stampsInWindow(nth, card.stamps, atMs).length,
      earlierPurchase,
      userDayFires: day.fires,
    });
    if (decision.fire) {
      const next = nextCardState(nth, card, { fired: true }, event.id, atMs);
      if (usesCardState(trigger)) state.cards.set(cardKey(trigger.id, event.cardId), next.state);
      totals.redemptions += 1;
      totals.budgetSpent += decision.budgetSpend;
      if (usesCounters(trigger)) state.totals.set(trigger.id, totals);
      day.fires += 1;
      if (usesUserDays(trigger)) state.days.set(dayKey(trigger.id, event.userId, localDay(event)), day);
      const { reward } = decision;
      actions.push({
        id: newId('act'),
        trigger_id: trigger.id,
        trigger_version: trigger.version,
        app_id: trigger.appId,
        user_id: event.userId,
        card_id: event.cardId,
        purchase_id: event.id,
        purchase_received_at: event.receivedAt,
        purchase_amount: event.amount,
        purchase_currency: event.currency,
        type: trigger.action.type,
        reward_amount: reward.type === 'cashback' ? reward.amount : null,
        reward_currency: reward.type === 'cashback' ? reward.currency : null,
        points: reward.type === 'points' ? reward.points : null,
        budget_spend: decision.budgetSpend,
        local_day: localDay(event),
        used_stamps: next.usedStamps,
      });
      fired.set(event.id, (fired.get(event.id) ?? 0) + 1);
    } else {
      if (decision.reason === 'not_nth_purchase' && usesCardState(trigger)) {
        const next = nextCardState(
          nth,
          card,
          { fired: false, stamped: earnsStamp(nth, card) },
          event.id,
          atMs,
        );
        state.cards.set(cardKey(trigger.id, event.cardId), next.state);
      }
      misses.push({
        event_id: event.id,
        trigger_id: trigger.id,
        trigger_version: trigger.version,
        app_id: trigger.appId,
        user_id: event.userId,
        reason: decision.reason,
        progress_have: decision.progress?.have ?? null,
        progress_need: decision.progress?.need ?? null,
      });
    }
  }
  return { actions, misses, fired };
}

/**
 * For first_purchase: the purchases of the event's card before it in the batch (the history read left the batch
 * out). Built only for batches in which a first_purchase trigger matched.
 */
function earlierInBatch(batch: readonly StoredEvent[]): (event: StoredEvent) => StoredEvent[] {
  const byCard = new Map<string, StoredEvent[]>();
  const position = new Map<string, number>();
  batch.forEach((event, at) => {
    position.set(event.id, at);
    if (!isOwnPurchase(event)) return;
    const list = byCard.get(event.cardId) ?? [];
    list.push(event);
    byCard.set(event.cardId, list);
  });
  return (event) => {
    const at = position.get(event.id)!;
    return (byCard.get(event.cardId) ?? []).filter((p) => position.get(p.id)! < at);
  };
}

/** The statements that insert the actions and misses (to send together with the batch's other writes). */
export function writeMatchOutcomes(conn: Conn, { actions, misses }: MatchOutcomes): Promise<unknown>[] {
  const writes: Promise<unknown>[] = [];
  if (actions.length > 0)
    writes.push(conn`
      insert into actions (id, trigger_id, trigger_version, app_id, user_id, card_id, purchase_id,
        purchase_received_at, purchase_amount, purchase_currency, type, reward_amount, reward_currency, points,
        budget_spend, local_day, used_stamps)
      select id, trigger_id, trigger_version, app_id, user_id, card_id, purchase_id, purchase_received_at,
        purchase_amount, purchase_currency, type, reward_amount, reward_currency, points, budget_spend, local_day,
        used_stamps
      from json_to_recordset(${JSON.stringify(actions)}::text::json) as a(id text, trigger_id text,
        trigger_version int, app_id text, user_id text, card_id text, purchase_id text,
        purchase_received_at timestamptz, purchase_amount bigint, purchase_currency text, type text,
        reward_amount bigint, reward_currency text, points bigint, budget_spend bigint, local_day date,
        used_stamps jsonb)`);
  if (misses.length > 0)
    writes.push(conn`
      insert into trigger_misses (event_id, trigger_id, trigger_version, app_id, user_id, reason, progress_have,
        progress_need)
      select * from json_to_recordset(${JSON.stringify(misses)}::text::json) as m(event_id text, trigger_id text,
        trigger_version int, app_id text, user_id text, reason text, progress_have int, progress_need int)`);
  return writes;
}
