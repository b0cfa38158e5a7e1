// Turns a batch's matches into actions inside the ingest transaction: locks what the limits count, decides each
// match in batch order, and writes the actions, the misses and the new counts (one round trip each way).
import type { Sql } from '../db/client.ts';
import type { StoredEvent } from '../ingest/event-fields.ts';
import { newId } from '../lib/ids.ts';
import {
  atSameMerchant,
  type CardState,
  type EarlierPurchase,
  nextCardState,
  type Stamp,
  stampsInWindow,
} from '../rules/card-state.ts';
import type { CompiledTrigger } from '../rules/compile.ts';
import { type Decision, decide } from '../rules/decide.ts';
import { instantOf, localDay } from '../rules/event.ts';

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

const cardKey = (triggerId: string, cardId: string) => `${triggerId}\u0000${cardId}`;
const dayKey = (triggerId: string, userId: string, day: string) => `${triggerId}\u0000${userId}\u0000${day}`;

interface Totals {
  redemptions: number;
  budgetSpent: number;
}

/** What the limits count, locked for this transaction: read before deciding, written back after. */
interface LockedState {
  totals: Map<string, Totals>;
  cards: Map<string, CardState>;
  days: Map<string, { fires: number }>;
  /** Per card, where it bought before this batch (only for cards that met a first_purchase trigger). */
  history: Map<string, EarlierPurchase[]>;
}

/**
 * A purchase as triggers see it: an authorization, or a clearing no authorization was seen for (clearing-only
 * feeds). Refunds, reversals and the clearings of authorizations are not purchases of their own.
 */
const isPurchase = (event: StoredEvent) =>
  event.type === 'authorization' || (event.type === 'clearing' && event.authorizationId === null);

/**
 * Locks and reads the rows the matched triggers' limits count, in one round trip (the statements are pipelined
 * on the connection). Each kind is locked in key order, and every transaction takes the kinds in the same order,
 * so concurrent batches wait for each other instead of deadlocking. The purchase history is read after the
 * card rows are locked: a concurrent batch with a purchase on the same card has committed by then, so
 * `first_purchase` sees it.
 */
async function lockState(conn: Sql, matches: readonly Match[], batch: readonly StoredEvent[]) {
  const counterIds = new Set<string>();
  const cardRows = new Map<string, { trigger_id: string; card_id: string }>();
  const dayRows = new Map<string, { trigger_id: string; user_id: string; day: string }>();
  /** Card → its user, for the cards whose earlier purchases first_purchase looks at. */
  const historyCards = new Map<string, string>();
  for (const { event, trigger } of matches) {
    if (usesCounters(trigger)) counterIds.add(trigger.id);
    if (usesCardState(trigger))
      cardRows.set(cardKey(trigger.id, event.cardId), { trigger_id: trigger.id, card_id: event.cardId });
    if (usesUserDays(trigger)) {
      const day = localDay(event);
      dayRows.set(dayKey(trigger.id, event.userId, day), {
        trigger_id: trigger.id,
        user_id: event.userId,
        day,
      });
    }
    if (trigger.match.first_purchase) historyCards.set(event.cardId, event.userId);
  }
  const [totals, cards, days, history] = await Promise.all([
    counterIds.size === 0
      ? []
      : conn<{ trigger_id: string; redemptions: string; budget_spent: string }[]>`
        insert into trigger_counters (trigger_id)
        select id from unnest(${[...counterIds].sort()}::text[]) as t(id) order by id
        on conflict (trigger_id) do update set trigger_id = excluded.trigger_id
        returning trigger_id, redemptions, budget_spent`,
    cardRows.size === 0
      ? []
      : conn<{ trigger_id: string; card_id: string; fires: number; stamps: Stamp[] }[]>`
        insert into trigger_card_states (trigger_id, card_id)
        select trigger_id, card_id
        from json_to_recordset(${JSON.stringify([...cardRows.values()])}::text::json)
          as s(trigger_id text, card_id text)
        order by trigger_id, card_id
        on conflict (trigger_id, card_id) do update set fires = trigger_card_states.fires
        returning trigger_id, card_id, fires, stamps`,
    dayRows.size === 0
      ? []
      : conn<{ trigger_id: string; user_id: string; day: string; fires: number }[]>`
        insert into trigger_user_days (trigger_id, user_id, day)
        select trigger_id, user_id, day
        from json_to_recordset(${JSON.stringify([...dayRows.values()])}::text::json)
          as d(trigger_id text, user_id text, day date)
        order by trigger_id, user_id, day
        on conflict (trigger_id, user_id, day) do update set fires = trigger_user_days.fires
        returning trigger_id, user_id, day::text, fires`,
    historyCards.size === 0
      ? []
      : conn<
          {
            card_id: string;
            mid: string;
            merchant_id: string | null;
            mcc: string | null;
            merchant_name: string | null;
          }[]
        >`
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
              and f.authorization_id is null and f.type in ('refund', 'reversal'))`,
  ]);
  const state: LockedState = { totals: new Map(), cards: new Map(), days: new Map(), history: new Map() };
  for (const row of totals)
    state.totals.set(row.trigger_id, {
      redemptions: Number(row.redemptions),
      budgetSpent: Number(row.budget_spent),
    });
  for (const row of cards)
    state.cards.set(cardKey(row.trigger_id, row.card_id), { fires: row.fires, stamps: row.stamps });
  for (const row of days) state.days.set(dayKey(row.trigger_id, row.user_id, row.day), { fires: row.fires });
  for (const row of history) {
    const list = state.history.get(row.card_id) ?? [];
    list.push({ mid: row.mid, merchantId: row.merchant_id, mcc: row.mcc, merchantName: row.merchant_name });
    state.history.set(row.card_id, list);
  }
  return state;
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

/**
 * Decides every match in batch order against the locked counts, then writes the actions, the misses and the
 * counts as they end. Returns how many actions each event fired.
 */
export async function reserveMatches(
  conn: Sql,
  matches: readonly Match[],
  batch: readonly StoredEvent[],
): Promise<Map<string, number>> {
  const state = await lockState(conn, matches, batch);
  const actions: ActionRowInput[] = [];
  const misses: MissRowInput[] = [];
  const fired = new Map<string, number>();
  // Where each card bought earlier in this batch, for first_purchase (the history read left the batch out).
  const earlierInBatch = new Map<string, StoredEvent[]>();
  const position = new Map(batch.map((event, at) => [event.id, at]));
  for (const event of batch)
    if (isPurchase(event)) {
      const list = earlierInBatch.get(event.cardId) ?? [];
      list.push(event);
      earlierInBatch.set(event.cardId, list);
    }

  for (const { event, trigger } of matches) {
    const totals = state.totals.get(trigger.id) ?? { redemptions: 0, budgetSpent: 0 };
    const card = state.cards.get(cardKey(trigger.id, event.cardId)) ?? { fires: 0, stamps: [] };
    const day = state.days.get(dayKey(trigger.id, event.userId, localDay(event))) ?? { fires: 0 };
    const atMs = instantOf(event.occurredAt);
    const nth = trigger.match.nth_purchase;
    const earlierPurchase =
      trigger.match.first_purchase === true &&
      ((state.history.get(event.cardId) ?? []).some((p) => atSameMerchant(trigger.match, p)) ||
        (earlierInBatch.get(event.cardId) ?? []).some(
          (p) => position.get(p.id)! < position.get(event.id)! && atSameMerchant(trigger.match, p),
        ));
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
        const stamped = card.fires === 0 || nth?.repeat !== false;
        const next = nextCardState(nth, card, { fired: false, stamped }, event.id, atMs);
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
  await writeOutcomes(conn, actions, misses, state);
  return fired;
}

/** The actions and misses inserted, the locked counts set to where the batch left them. */
async function writeOutcomes(
  conn: Sql,
  actions: ActionRowInput[],
  misses: MissRowInput[],
  state: LockedState,
): Promise<void> {
  const totals = [...state.totals].map(([trigger_id, t]) => ({
    trigger_id,
    redemptions: t.redemptions,
    budget_spent: t.budgetSpent,
  }));
  const cards = [...state.cards].map(([key, c]) => {
    const [trigger_id, card_id] = key.split('\u0000');
    return { trigger_id, card_id, fires: c.fires, stamps: c.stamps };
  });
  const days = [...state.days].map(([key, d]) => {
    const [trigger_id, user_id, day] = key.split('\u0000');
    return { trigger_id, user_id, day, fires: d.fires };
  });
  // Only the statements with something to write, sent together (one round trip): a batch that fired plain
  // actions writes one small statement, not five.
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
  if (totals.length > 0)
    writes.push(conn`
      update trigger_counters c set redemptions = t.redemptions, budget_spent = t.budget_spent
      from json_to_recordset(${JSON.stringify(totals)}::text::json)
        as t(trigger_id text, redemptions bigint, budget_spent bigint)
      where c.trigger_id = t.trigger_id`);
  if (cards.length > 0)
    writes.push(conn`
      update trigger_card_states s set fires = c.fires, stamps = c.stamps
      from json_to_recordset(${JSON.stringify(cards)}::text::json)
        as c(trigger_id text, card_id text, fires int, stamps jsonb)
      where s.trigger_id = c.trigger_id and s.card_id = c.card_id`);
  if (days.length > 0)
    writes.push(conn`
      update trigger_user_days u set fires = d.fires
      from json_to_recordset(${JSON.stringify(days)}::text::json)
        as d(trigger_id text, user_id text, day date, fires int)
      where u.trigger_id = d.trigger_id and u.user_id = d.user_id and u.day = d.day`);
  await Promise.all(writes);
}
