// Refunds and reversals give back what their purchase used of its triggers' limits, in the ingest transaction:
// planned (purchases and their actions locked), applied to the batch's locked limit rows, written back.

import type { TakeBack } from '../ingest/follower-links.ts';
import type { Conn } from '../ingest/ingest-transaction.ts';
import { cardStateAfterGiveBack, type Stamp } from '../rules/card-state.ts';
import { cardKey, dayKey, emptyLockKeys, type LockedState, type LockKeys, wantKey } from './limit-state.ts';

interface PurchaseRow {
  purchase_id: string;
  type: 'authorization' | 'clearing';
  /**
   * The events the purchase may have fired on: itself, and for an authorization the clearings linked to it (one
   * that came first fired as a clearing-only purchase, and the late authorization did not fire again).
   */
  event_ids: string[];
  card_id: string;
  amount: string;
  /** For an authorization: its refunded and reversed totals (follower-links.ts keeps them under its row lock). */
  auth_taken_back: string;
}

/** A live action of a purchase taken back: read from `actions`, or fired by the same batch. */
export interface FiredRow {
  id: string;
  trigger_id: string;
  user_id: string;
  card_id: string;
  purchase_id: string;
  purchase_amount: string | number;
  budget_spend: string | number;
  budget_given_back: string | number;
  local_day: string;
  used_stamps: Stamp[] | null;
}

/** What a batch's refunds and reversals take back, read under lock, and the limit rows that needs. */
export interface GiveBackPlan {
  /** By each event a purchase may have fired on: the purchase, and what was taken back of it so far. */
  purchases: Map<string, { purchase: PurchaseRow; takenBack: number }>;
  fired: FiredRow[];
  /** Firings given back whole whatever was taken back: a clearing's doubles of its authorization's firings. */
  doubled: ReadonlySet<string>;
  keys: LockKeys;
}

/** A clearing linked after both it (alone) and its authorization fired: one purchase that fired twice. */
export interface LateClearing {
  clearingId: string;
  authorizationId: string;
}

/**
 * Reads, for refunds and reversals already linked (the batch's own, or earlier ones now following one of its
 * purchases), the purchases they follow — an authorization, else the clearing-only purchase the take-back names
 * — and what they fired. Locks the purchases (so concurrent take-backs of one purchase add up) and their live
 * actions, before the limit rows: every transaction locks in that order.
 */
export async function planGiveBack(
  conn: Conn,
  takeBacks: readonly TakeBack[],
  lateClearings: readonly LateClearing[] = [],
  cancelled: readonly string[] = [],
): Promise<GiveBackPlan | null> {
  if (takeBacks.length === 0 && lateClearings.length === 0 && cancelled.length === 0) return null;
  const cancelledOf =
    cancelled.length === 0
      ? []
      : await conn<{ purchase_id: string }[]>`
          select distinct purchase_id from actions where id = any(${cancelled as string[]}::text[])`;
  const input = [
    ...takeBacks.map((event) => ({
      auth_id: event.authorizationId,
      processor_id: event.processorId,
      original_id: event.originalExternalId,
    })),
    // A late clearing's purchase is its authorization: planned like a take-back of it, so that what was taken
    // back of the authorization applies to the clearing's firings too, each firing once.
    ...lateClearings.map((link) => ({
      auth_id: link.authorizationId,
      processor_id: null,
      original_id: null,
    })),
    // An action cancelled at dispatch is given back whole, like a firing that never happened.
    ...cancelledOf.map((row) => ({ auth_id: row.purchase_id, processor_id: null, original_id: null })),
  ];
  const purchases = await conn<PurchaseRow[]>`
    with f as (
      select * from json_to_recordset(${JSON.stringify(input)}::text::json)
        as f(auth_id text, processor_id text, original_id text)
    ), named as (
      select distinct coalesce(f.auth_id, k.event_id) as purchase_id
      from f left join event_keys k on f.auth_id is null and k.processor_id = f.processor_id
        and k.external_id = f.original_id and k.stored
    )
    select e.id as purchase_id, e.type, e.card_id, e.amount::text,
      (e.refunded_amount + e.reversed_amount)::text as auth_taken_back,
      case when e.type = 'authorization'
        then array[e.id] || array(select c.id from events c where c.authorization_id = e.id and c.type = 'clearing')
        else array[e.id] end as event_ids
    from named p
    join events e on e.id = p.purchase_id
      and (e.type = 'authorization' or (e.type = 'clearing' and e.authorization_id is null))
    order by e.id
    for update of e`;
  if (purchases.length === 0) return null;
  const eventIds = purchases.flatMap((p) => p.event_ids);
  const clearingOnly = purchases.filter((p) => p.type === 'clearing').map((p) => p.purchase_id);
  // After the purchases are locked: a concurrent take-back of one of them has committed, and is counted.
  const [fired, clearingTotals, stampHolders, doubled] = await Promise.all([
    conn<FiredRow[]>`
      select a.id, a.trigger_id, a.user_id, a.card_id, a.purchase_id, a.purchase_amount::text,
        a.budget_spend::text, a.budget_given_back::text, a.local_day::text, a.used_stamps
      from actions a
      where a.purchase_id = any(${eventIds}::text[]) and a.given_back_at is null
      order by a.id
      for update`,
    clearingOnly.length === 0
      ? []
      : conn<{ id: string; taken_back: string }[]>`
      -- A clearing-only purchase: the refunds and reversals naming it stay unlinked (no authorization to follow).
      select e.id, (select coalesce(sum(f.amount), 0) from events f
          where f.processor_id = e.processor_id and f.original_external_id = e.external_id
            and f.authorization_id is null and f.type in ('refund', 'reversal'))::text as taken_back
      from events e where e.id = any(${clearingOnly}::text[])`,
    conn<{ trigger_id: string; card_id: string }[]>`
      select trigger_id, card_id from trigger_card_states
      where card_id = any(${[...new Set(purchases.map((p) => p.card_id))]}::text[])
        and exists (select 1 from jsonb_array_elements(stamps) s where s->>0 = any(${eventIds}::text[]))`,
    lateClearings.length === 0
      ? []
      : conn<{ id: string }[]>`
      -- A late clearing's firings of triggers its authorization fired too (live or given back since).
      select a.id from json_to_recordset(${JSON.stringify(lateClearings)}::text::json)
        as l("clearingId" text, "authorizationId" text)
      join actions a on a.purchase_id = l."clearingId" and a.given_back_at is null
      where exists (select 1 from actions b where b.purchase_id = l."authorizationId" and b.trigger_id = a.trigger_id)`,
  ]);
  const clearingTaken = new Map(clearingTotals.map((row) => [row.id, Number(row.taken_back)]));
  const plan: GiveBackPlan = {
    purchases: new Map(),
    fired,
    doubled: new Set([...doubled.map((row) => row.id), ...cancelled]),
    keys: emptyLockKeys(),
  };
  for (const purchase of purchases) {
    const takenBack =
      purchase.type === 'authorization'
        ? Number(purchase.auth_taken_back)
        : (clearingTaken.get(purchase.purchase_id) ?? 0);
    for (const id of purchase.event_ids) plan.purchases.set(id, { purchase, takenBack });
  }
  for (const row of fired) wantFiredKeys(plan.keys, row);
  for (const row of stampHolders)
    wantKey(plan.keys.cards, cardKey(row.trigger_id, row.card_id), { ...row, create: false });
  return plan;
}

function wantFiredKeys(keys: LockKeys, row: FiredRow) {
  wantKey(keys.counters, row.trigger_id, { trigger_id: row.trigger_id, create: false });
  wantKey(keys.cards, cardKey(row.trigger_id, row.card_id), {
    trigger_id: row.trigger_id,
    card_id: row.card_id,
    create: false,
  });
  wantKey(keys.days, dayKey(row.trigger_id, row.user_id, row.local_day), {
    trigger_id: row.trigger_id,
    user_id: row.user_id,
    day: row.local_day,
    create: false,
  });
}

export interface ActionGiveBack {
  id: string;
  refunded_amount: number;
  budget_given_back: number;
  taken_in_full: boolean;
}

/**
 * Gives back on the locked limit rows: each purchase taken back in full gives back the redemption, the per-card
 * and per-day count, the stamps its firing used and the stamp it earned; a partial take-back gives back budget
 * pro rata (rounded down, so never more than was spent). Returns the actions' new state.
 * `firedInBatch` are the actions the batch's purchases just fired (a purchase and its reversal may come together).
 */
export function applyGiveBack(
  plan: GiveBackPlan,
  state: LockedState,
  firedInBatch: readonly FiredRow[],
): ActionGiveBack[] {
  const updates: ActionGiveBack[] = [];
  // The batch's own firings of a purchase it also takes back (their rows are inserted before this update runs).
  const fired = [...plan.fired, ...firedInBatch.filter((row) => plan.purchases.has(row.purchase_id))];
  const isFull = (eventId: string) => {
    const { purchase, takenBack } = plan.purchases.get(eventId)!;
    return takenBack >= Number(purchase.amount);
  };
  for (const row of fired) {
    const amount = Number(row.purchase_amount);
    const taken = Math.min(plan.purchases.get(row.purchase_id)!.takenBack, amount);
    const full = plan.doubled.has(row.id) || isFull(row.purchase_id);
    const spend = Number(row.budget_spend);
    // In BigInt: spend × taken can pass 2^53 for large amounts.
    const givenBack = full || amount === 0 ? spend : Number((BigInt(spend) * BigInt(taken)) / BigInt(amount));
    const totals = state.totals.get(row.trigger_id);
    if (totals) {
      totals.budgetSpent -= givenBack - Number(row.budget_given_back);
      if (full) totals.redemptions -= 1;
    }
    if (full) {
      const key = cardKey(row.trigger_id, row.card_id);
      const card = state.cards.get(key);
      if (card)
        state.cards.set(key, cardStateAfterGiveBack(card, row.purchase_id, { usedStamps: row.used_stamps }));
      const day = state.days.get(dayKey(row.trigger_id, row.user_id, row.local_day));
      if (day) day.fires = Math.max(0, day.fires - 1);
    }
    updates.push({ id: row.id, refunded_amount: taken, budget_given_back: givenBack, taken_in_full: full });
  }
  // Stamps earned by purchases taken back in full, after the firings handed theirs back: a firing taken back
  // with the purchase whose stamp it used must not hand that stamp back.
  const fullEvents = [...plan.purchases.keys()].filter(isFull);
  if (fullEvents.length > 0)
    for (const [key, card] of state.cards) {
      let next = card;
      for (const eventId of fullEvents) next = cardStateAfterGiveBack(next, eventId, null);
      state.cards.set(key, next);
    }
  return updates;
}

/** The statement that records the actions' give-back (to send together with the batch's other writes). */
export function writeGiveBack(conn: Conn, updates: readonly ActionGiveBack[]): Promise<unknown>[] {
  if (updates.length === 0) return [];
  return [
    conn`
      with updated as (
        update actions a set refunded_amount = u.refunded_amount, budget_given_back = u.budget_given_back,
          given_back_at = case when u.taken_in_full then now() else null end
        from json_to_recordset(${JSON.stringify(updates)}::text::json)
          as u(id text, refunded_amount bigint, budget_given_back bigint, taken_in_full boolean)
        where a.id = u.id
        returning a.purchase_id, a.type
      )
      -- Their rewards are settled again (src/dispatch/settle.ts); sorted, as concurrent writers lock these rows.
      insert into purchase_changes (purchase_id)
      select distinct purchase_id from updated where type in ('points', 'cashback') order by purchase_id
      on conflict (purchase_id) do update set changed_at = clock_timestamp()`,
  ];
}
