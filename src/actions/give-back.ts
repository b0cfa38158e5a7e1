// Refunds and reversals give back what their purchase used of its triggers' limits, in the ingest transaction.
import type { Sql } from '../db/client.ts';
import type { TakeBack } from '../ingest/follower-links.ts';
import { type CardState, cardStateAfterGiveBack, type Stamp } from '../rules/card-state.ts';

interface FiredRow {
  id: string;
  trigger_id: string;
  user_id: string;
  card_id: string;
  purchase_id: string;
  purchase_amount: string;
  budget_spend: string;
  budget_given_back: string;
  local_day: string;
  used_stamps: Stamp[] | null;
  /** What refunds and reversals have taken back of the purchase so far, this batch's included. */
  taken_back: string;
}

interface PurchaseRow {
  purchase_id: string;
  /**
   * The events the purchase may have fired on: itself, and for an authorization the clearings linked to it (one
   * that came first fired as a clearing-only purchase, and the late authorization did not fire again).
   */
  event_ids: string[];
  card_id: string;
  amount: string;
  taken_back: string;
}

/**
 * For refunds and reversals (already linked to their authorization), the batch's own or earlier ones now
 * following one of its purchases: each purchase they follow gives back, once taken back in full, the redemption,
 * the per-card and per-day count, the stamps its firing used and the stamp it earned; a partial take-back gives
 * back budget pro rata (rounded down, so never more than was spent). A clearing-only purchase is the clearing
 * its refund names.
 */
export async function giveBack(conn: Sql, followers: readonly TakeBack[]): Promise<void> {
  const input = followers.map((event) => ({
    auth_id: event.authorizationId,
    processor_id: event.processorId,
    original_id: event.originalExternalId,
    amount: event.amount,
  }));
  // The purchases, with what was taken back of them: an authorization keeps running totals (follower-links.ts);
  // a clearing-only purchase adds this batch's amounts to what its actions recorded.
  const purchases = await conn<PurchaseRow[]>`
    with f as (
      select * from json_to_recordset(${JSON.stringify(input)}::text::json)
        as f(auth_id text, processor_id text, original_id text, amount bigint)
    ), named as (
      select coalesce(f.auth_id, k.event_id) as purchase_id, f.amount
      from f left join event_keys k on f.auth_id is null and k.processor_id = f.processor_id
        and k.external_id = f.original_id and k.stored
    ), per_purchase as (
      select purchase_id, sum(amount) as amount from named where purchase_id is not null group by purchase_id
    )
    select p.purchase_id, e.card_id, e.amount::text,
      case when e.type = 'authorization'
        then array[e.id] || array(select c.id from events c where c.authorization_id = e.id and c.type = 'clearing')
        else array[e.id] end as event_ids,
      (case when e.type = 'authorization' then e.refunded_amount + e.reversed_amount
        else coalesce((select max(a.refunded_amount) from actions a where a.purchase_id = p.purchase_id), 0)
          + p.amount end)::text as taken_back
    from per_purchase p
    join events e on e.id = p.purchase_id
      and (e.type = 'authorization' or (e.type = 'clearing' and e.authorization_id is null))`;
  if (purchases.length === 0) return;
  // By each event a purchase may have fired on.
  const takenBack = new Map(purchases.flatMap((p) => p.event_ids.map((id) => [id, p] as const)));
  const fired = await conn<FiredRow[]>`
    select a.id, a.trigger_id, a.user_id, a.card_id, a.purchase_id, a.purchase_amount::text, a.budget_spend::text,
      a.budget_given_back::text, a.local_day::text, a.used_stamps
    from actions a
    where a.purchase_id = any(${[...takenBack.keys()]}::text[]) and a.given_back_at is null
    order by a.id
    for update`;
  const full = (eventId: string) => {
    const p = takenBack.get(eventId)!;
    return Number(p.taken_back) >= Number(p.amount);
  };
  const fullPurchases = purchases.filter((p) => full(p.purchase_id));
  const fullEventIds = fullPurchases.flatMap((p) => p.event_ids);
  const cardIds = [...new Set(fullPurchases.map((p) => p.card_id))];
  const firedFull = fired.filter((row) => full(row.purchase_id));
  const [totals, cards] = await Promise.all([
    conn<{ trigger_id: string; redemptions: string; budget_spent: string }[]>`
      select trigger_id, redemptions::text, budget_spent::text from trigger_counters
      where trigger_id = any(${[...new Set(fired.map((row) => row.trigger_id))]}::text[])
      order by trigger_id for update`,
    // The card rows of the triggers that fired, and of any trigger holding a stamp of a purchase taken back.
    cardIds.length === 0
      ? []
      : conn<{ trigger_id: string; card_id: string; fires: number; stamps: Stamp[] }[]>`
      select trigger_id, card_id, fires, stamps from trigger_card_states
      where card_id = any(${cardIds}::text[])
        and (trigger_id = any(${firedFull.map((row) => row.trigger_id)}::text[])
          or exists (select 1 from jsonb_array_elements(stamps) s
            where s->>0 = any(${fullEventIds}::text[])))
      order by trigger_id, card_id for update`,
  ]);
  const totalsOf = new Map(
    totals.map((t) => [
      t.trigger_id,
      { redemptions: Number(t.redemptions), budgetSpent: Number(t.budget_spent) },
    ]),
  );
  const cardOf = new Map<string, CardState & { trigger_id: string; card_id: string }>(
    cards.map((c) => [`${c.trigger_id}\u0000${c.card_id}`, { ...c }]),
  );
  const actionUpdates: {
    id: string;
    refunded_amount: number;
    budget_given_back: number;
    taken_in_full: boolean;
  }[] = [];
  const dayDecrements: { trigger_id: string; user_id: string; day: string }[] = [];
  for (const row of fired) {
    const purchase = takenBack.get(row.purchase_id)!;
    const amount = Number(row.purchase_amount);
    const taken = Math.min(Number(purchase.taken_back), amount);
    const isFull = taken >= amount;
    const spend = Number(row.budget_spend);
    const givenBack = isFull || amount === 0 ? spend : Math.floor((spend * taken) / amount);
    const delta = givenBack - Number(row.budget_given_back);
    const totals = totalsOf.get(row.trigger_id);
    if (totals) {
      totals.budgetSpent -= delta;
      if (isFull) totals.redemptions -= 1;
    }
    if (isFull) {
      const key = `${row.trigger_id}\u0000${row.card_id}`;
      const card = cardOf.get(key);
      if (card)
        cardOf.set(key, {
          ...card,
          ...cardStateAfterGiveBack(card, row.purchase_id, { usedStamps: row.used_stamps }),
        });
      dayDecrements.push({ trigger_id: row.trigger_id, user_id: row.user_id, day: row.local_day });
    }
    actionUpdates.push({
      id: row.id,
      refunded_amount: taken,
      budget_given_back: givenBack,
      taken_in_full: isFull,
    });
  }
  // Stamps earned by purchases taken back in full, after the firings handed theirs back: a firing taken back
  // with the purchase whose stamp it used must not hand that stamp back.
  for (const [key, card] of cardOf)
    for (const p of fullPurchases)
      if (p.card_id === card.card_id)
        for (const eventId of p.event_ids)
          cardOf.set(key, { ...card, ...cardStateAfterGiveBack(cardOf.get(key)!, eventId, null) });
  if (actionUpdates.length === 0 && cardOf.size === 0) return;
  await conn`
    with set_actions as (
      update actions a set refunded_amount = u.refunded_amount, budget_given_back = u.budget_given_back,
        given_back_at = case when u.taken_in_full then now() else null end
      from json_to_recordset(${JSON.stringify(actionUpdates)}::text::json)
        as u(id text, refunded_amount bigint, budget_given_back bigint, taken_in_full boolean)
      where a.id = u.id
    ), set_totals as (
      update trigger_counters c set redemptions = t.redemptions, budget_spent = t.budget_spent
      from json_to_recordset(${JSON.stringify(
        [...totalsOf].map(([trigger_id, t]) => ({
          trigger_id,
          redemptions: t.redemptions,
          budget_spent: t.budgetSpent,
        })),
      )}::text::json) as t(trigger_id text, redemptions bigint, budget_spent bigint)
      where c.trigger_id = t.trigger_id
    ), set_cards as (
      update trigger_card_states s set fires = c.fires, stamps = c.stamps
      from json_to_recordset(${JSON.stringify([...cardOf.values()])}::text::json)
        as c(trigger_id text, card_id text, fires int, stamps jsonb)
      where s.trigger_id = c.trigger_id and s.card_id = c.card_id
    )
    update trigger_user_days d set fires = greatest(d.fires - x.n, 0)
    from (
      select trigger_id, user_id, day, count(*)::int as n
      from json_to_recordset(${JSON.stringify(dayDecrements)}::text::json) as x(trigger_id text, user_id text, day date)
      group by trigger_id, user_id, day
    ) x
    where d.trigger_id = x.trigger_id and d.user_id = x.user_id and d.day = x.day`;
}
