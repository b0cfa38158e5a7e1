// The rows trigger limits count (per trigger, per trigger and card, per trigger, user and local day): locked
// together in one order for a whole batch, changed in memory, written back once.
import type { Conn } from '../ingest/ingest-transaction.ts';
import type { CardState, Stamp } from '../rules/card-state.ts';

export const cardKey = (triggerId: string, cardId: string) => `${triggerId}\u0000${cardId}`;
export const dayKey = (triggerId: string, userId: string, day: string) =>
  `${triggerId}\u0000${userId}\u0000${day}`;

export interface Totals {
  redemptions: number;
  budgetSpent: number;
}

/**
 * The rows a batch needs, by key. `create` rows are made when missing (a purchase may fire); the others are
 * locked only if they exist (a take-back changes what is there).
 */
export interface LockKeys {
  counters: Map<string, { trigger_id: string; create: boolean }>;
  cards: Map<string, { trigger_id: string; card_id: string; create: boolean }>;
  days: Map<string, { trigger_id: string; user_id: string; day: string; create: boolean }>;
}

export const emptyLockKeys = (): LockKeys => ({ counters: new Map(), cards: new Map(), days: new Map() });

/** Adds a key; a key any part of the batch wants created is created. */
export function wantKey<K extends { create: boolean }>(keys: Map<string, K>, key: string, row: K): void {
  const had = keys.get(key);
  keys.set(key, had ? { ...had, create: had.create || row.create } : row);
}

/** The locked rows as the batch changes them; written back by `writeLockedState`. */
export interface LockedState {
  totals: Map<string, Totals>;
  cards: Map<string, CardState>;
  days: Map<string, { fires: number }>;
}

/**
 * Locks and reads every row of `keys`: one statement per kind, each in key order, the kinds always in the order
 * counters, cards, days (and, in a batch with take-backs, after the `actions` rows they lock first), so that
 * concurrent batches wait for each other instead of deadlocking. The statements are pipelined: one round trip,
 * whose answers `after` (issued behind them) may rely on.
 */
export async function lockState<T>(
  conn: Conn,
  keys: LockKeys,
  after: () => Promise<T> | T,
): Promise<{ state: LockedState; after: T }> {
  const sorted = <V>(map: Map<string, V>) =>
    [...map].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, v]) => v);
  const [totals, cards, days, later] = await Promise.all([
    keys.counters.size === 0
      ? []
      : conn<{ trigger_id: string; redemptions: string; budget_spent: string }[]>`
        insert into trigger_counters (trigger_id)
        select k.trigger_id from json_to_recordset(${JSON.stringify(sorted(keys.counters))}::text::json)
          as k(trigger_id text, "create" boolean)
        where k."create" or exists (select 1 from trigger_counters c where c.trigger_id = k.trigger_id)
        order by k.trigger_id
        on conflict (trigger_id) do update set trigger_id = excluded.trigger_id
        returning trigger_id, redemptions, budget_spent`,
    keys.cards.size === 0
      ? []
      : conn<{ trigger_id: string; card_id: string; fires: number; stamps: Stamp[] }[]>`
        insert into trigger_card_states (trigger_id, card_id)
        select k.trigger_id, k.card_id
        from json_to_recordset(${JSON.stringify(sorted(keys.cards))}::text::json)
          as k(trigger_id text, card_id text, "create" boolean)
        where k."create" or exists (select 1 from trigger_card_states s
          where s.trigger_id = k.trigger_id and s.card_id = k.card_id)
        order by k.trigger_id, k.card_id
        on conflict (trigger_id, card_id) do update set fires = trigger_card_states.fires
        returning trigger_id, card_id, fires, stamps`,
    keys.days.size === 0
      ? []
      : conn<{ trigger_id: string; user_id: string; day: string; fires: number }[]>`
        insert into trigger_user_days (trigger_id, user_id, day)
        select k.trigger_id, k.user_id, k.day
        from json_to_recordset(${JSON.stringify(sorted(keys.days))}::text::json)
          as k(trigger_id text, user_id text, day date, "create" boolean)
        where k."create" or exists (select 1 from trigger_user_days d
          where d.trigger_id = k.trigger_id and d.user_id = k.user_id and d.day = k.day)
        order by k.trigger_id, k.user_id, k.day
        on conflict (trigger_id, user_id, day) do update set fires = trigger_user_days.fires
        returning trigger_id, user_id, day::text, fires`,
    after(),
  ]);
  const state: LockedState = { totals: new Map(), cards: new Map(), days: new Map() };
  for (const row of totals)
    state.totals.set(row.trigger_id, {
      redemptions: Number(row.redemptions),
      budgetSpent: Number(row.budget_spent),
    });
  for (const row of cards)
    state.cards.set(cardKey(row.trigger_id, row.card_id), { fires: row.fires, stamps: row.stamps });
  for (const row of days) state.days.set(dayKey(row.trigger_id, row.user_id, row.day), { fires: row.fires });
  return { state, after: later };
}

/** The statements that write the locked rows back as the batch left them (to send together with others). */
export function writeLockedState(conn: Conn, state: LockedState): Promise<unknown>[] {
  const writes: Promise<unknown>[] = [];
  if (state.totals.size > 0)
    writes.push(conn`
      update trigger_counters c set redemptions = t.redemptions, budget_spent = t.budget_spent
      from json_to_recordset(${JSON.stringify(
        [...state.totals].map(([trigger_id, t]) => ({
          trigger_id,
          redemptions: t.redemptions,
          budget_spent: t.budgetSpent,
        })),
      )}::text::json) as t(trigger_id text, redemptions bigint, budget_spent bigint)
      where c.trigger_id = t.trigger_id`);
  if (state.cards.size > 0)
    writes.push(conn`
      update trigger_card_states s set fires = c.fires, stamps = c.stamps
      from json_to_recordset(${JSON.stringify(
        [...state.cards].map(([key, c]) => {
          const [trigger_id, card_id] = key.split('\u0000');
          return { trigger_id, card_id, fires: c.fires, stamps: c.stamps };
        }),
      )}::text::json) as c(trigger_id text, card_id text, fires int, stamps jsonb)
      where s.trigger_id = c.trigger_id and s.card_id = c.card_id`);
  if (state.days.size > 0)
    writes.push(conn`
      update trigger_user_days u set fires = d.fires
      from json_to_recordset(${JSON.stringify(
        [...state.days].map(([key, d]) => {
          const [trigger_id, user_id, day] = key.split('\u0000');
          return { trigger_id, user_id, day, fires: d.fires };
        }),
      )}::text::json) as d(trigger_id text, user_id text, day date, fires int)
      where u.trigger_id = d.trigger_id and u.user_id = d.user_id and u.day = d.day`);
  return writes;
}
