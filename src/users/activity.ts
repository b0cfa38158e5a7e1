// A cardholder's activity: their events, what each fired, and why their connected apps' triggers did not.
// It lives with the user because it is the user's view across nouns (events, actions, misses, triggers, grants).
import { and, eq, inArray, isNull, or } from 'drizzle-orm';
import type { Db, Sql } from '../db/client.ts';
import { type Page, toPage } from '../db/paginate.ts';
import {
  type ActionRow,
  actions,
  apps,
  type CardScheme,
  cards,
  grants,
  triggerMisses,
  triggerVersions,
} from '../db/schema/index.ts';
import { invalidFields } from '../errors.ts';
import type { EventType } from '../lib/payments.ts';
import type { TriggerAction, TriggerLimits, TriggerMatch } from '../rules/dsl.ts';
import { type Explanation, explain } from '../rules/evaluate.ts';
import type { Grant, RuleEvent } from '../rules/event.ts';
import type { NotFiredReason } from '../rules/reasons.ts';
import type { TriggerIndex } from '../rules/trigger-index.ts';
import type { TriggerRegistry } from '../triggers/registry.ts';

interface ActivityDeps {
  db: Db;
  triggerRegistry: TriggerRegistry;
}

export interface NamedRef {
  id: string;
  name: string;
}

export interface TriggerRef extends NamedRef {
  /** The definition the decision was made under. */
  version: number;
  /** That version's terms (what the cardholder's page explains a miss with); absent if the version is unknown. */
  terms?: { match: TriggerMatch; limits: TriggerLimits; action: TriggerAction };
}

export type Reward = { amount: number; currency: string } | { points: number } | null;

/** An action an event fired. */
export interface FiredAction {
  id: string;
  app: NamedRef;
  trigger: TriggerRef;
  type: ActionRow['type'];
  reward: Reward;
  /** A reversal or full refund gave back the redemption. */
  givenBack: boolean;
}

/** A trigger of a connected app that named the event's merchant (or MCC) and did not fire. */
export interface NotFired {
  app: NamedRef;
  trigger: TriggerRef;
  reasons: NotFiredReason[];
  /** Stamp progress of `not_nth_purchase`: this purchase was stamp `have` of `need`. */
  progress?: { have: number; need: number };
}

export interface ActivityEvent {
  id: string;
  type: EventType;
  occurredAt: Date;
  /** The wall-clock time where the card was used (`2026-11-23T08:15:02`). */
  localAt: string;
  amount: number;
  currency: string;
  merchant: { name: string | null; mcc: string | null; city: string | null; country: string | null };
  card: { id: string; last4: string; scheme: CardScheme };
  fired: FiredAction[];
  notFired: NotFired[];
}

/**
 * The `events` columns the page reads. Timestamps come as text (drizzle hands postgres.js's parsing of them over
 * to itself), instants in ISO 8601 and `local_at` as the wall clock it is, never shifted into a time zone.
 */
interface EventRow {
  id: string;
  received_at: string;
  type: EventType;
  occurred_at: string;
  local_at: string;
  utc_offset_minutes: number;
  card_id: string;
  user_id: string;
  card_scheme: string;
  amount: string;
  currency: string;
  merchant_id: string | null;
  mid: string;
  merchant_name: string | null;
  mcc: string | null;
  merchant_city: string | null;
  merchant_country: string | null;
  entry_mode: string | null;
  authorization_received_at: string | null;
}

/**
 * A page of the user's events, newest received first. Each lists the actions it fired (also of apps disconnected
 * since: what was earned stays earned) and, for the triggers of the apps the user connects now that named its
 * merchant or MCC but did not fire, the reasons: the stateful ones recorded when it was ingested (exact, with
 * stamp progress), the stateless ones worked out now against the trigger as it stands, if it stood so then.
 */
export async function listActivity(
  deps: ActivityDeps,
  userId: string,
  page: Page,
): Promise<{ data: ActivityEvent[]; hasMore: boolean }> {
  const { data: rows, hasMore } = toPage(await eventsPage(deps.db.$client, userId, page), page.limit);
  if (rows.length === 0) return { data: [], hasMore };
  const eventIds = rows.map((row) => row.id);
  await deps.triggerRegistry.catchUp();
  const [connected, userCards, fired, misses] = await Promise.all([
    connectedApps(deps.db, userId),
    cardsOf(deps.db, userId),
    firedActions(deps.db, userId, eventIds),
    recordedMisses(deps.db, userId, eventIds),
  ]);
  const explained = explainAll(deps.triggerRegistry.current().index, rows, connected, fired, misses);
  const versions = await versionsOf(deps.db, [
    ...[...fired.values()].flat(),
    ...[...misses.values()].flat(),
    ...[...explained.values()].flat().map((x) => ({ triggerId: x.triggerId, version: x.version })),
  ]);
  const appNames = new Map(connected.map((app) => [app.appId, app.name]));
  const triggerRef = (triggerId: string, version: number): TriggerRef => {
    const known = versions.get(versionKey(triggerId, version));
    return {
      id: triggerId,
      name: known?.name ?? '',
      version,
      ...(known ? { terms: { match: known.match, limits: known.limits, action: known.action } } : {}),
    };
  };

  const data = rows.map((row): ActivityEvent => {
    const receivedAt = Date.parse(row.received_at);
    const recorded = (misses.get(row.id) ?? [])
      .filter((miss) => appNames.has(miss.appId))
      .map(
        (miss): NotFired => ({
          app: { id: miss.appId, name: appNames.get(miss.appId)! },
          trigger: triggerRef(miss.triggerId, miss.version),
          reasons: [miss.reason],
          ...(miss.progressHave !== null && miss.progressNeed !== null
            ? { progress: { have: miss.progressHave, need: miss.progressNeed } }
            : {}),
        }),
      );
    // A trigger explains, as it stands now, only the events that arrived once it stood so: one created, paused
    // or changed since did not decide this event by this definition.
    const computed = (explained.get(row.id) ?? [])
      .filter(
        (x) => (versions.get(versionKey(x.triggerId, x.version))?.createdAt.getTime() ?? 0) <= receivedAt,
      )
      .map(
        (x): NotFired => ({
          app: { id: x.appId, name: appNames.get(x.appId)! },
          trigger: triggerRef(x.triggerId, x.version),
          reasons: x.reasons,
        }),
      );
    return {
      ...eventOf(row, userCards.get(row.card_id)),
      fired: (fired.get(row.id) ?? []).map((action) => ({
        id: action.id,
        app: { id: action.appId, name: action.appName },
        trigger: triggerRef(action.triggerId, action.version),
        type: action.type,
        reward: rewardOf(action),
        givenBack: action.givenBackAt !== null,
      })),
      notFired: [...recorded, ...computed].sort((a, b) => compare(a.trigger.id, b.trigger.id)),
    };
  });
  return { data, hasMore };
}

/**
 * The stateless reasons of each event the purchase's triggers were decided on, for the connected apps' triggers
 * that named its merchant, less those the event fired or whose miss was recorded (those say what happened).
 */
function explainAll(
  index: TriggerIndex,
  rows: EventRow[],
  connected: { appId: string; scopes: string[] }[],
  fired: Map<string, { triggerId: string }[]>,
  misses: Map<string, { triggerId: string }[]>,
): Map<string, Explanation[]> {
  const ruleGrants: Grant[] = connected.map((app) => ({ appId: app.appId, scopes: new Set(app.scopes) }));
  const explained = new Map<string, Explanation[]>();
  for (const row of rows) {
    if (!decidedOn(row)) continue;
    const decided = new Set(
      [...(fired.get(row.id) ?? []), ...(misses.get(row.id) ?? [])].map((x) => x.triggerId),
    );
    const reasons = explain(index, ruleEventOf(row), ruleGrants).filter((x) => !decided.has(x.triggerId));
    if (reasons.length > 0) explained.set(row.id, reasons);
  }
  return explained;
}

function eventOf(
  row: EventRow,
  card: { last4: string; scheme: CardScheme } | undefined,
): Omit<ActivityEvent, 'fired' | 'notFired'> {
  return {
    id: row.id,
    type: row.type,
    occurredAt: new Date(row.occurred_at),
    localAt: row.local_at.replace(' ', 'T'),
    amount: Number(row.amount),
    currency: row.currency,
    merchant: {
      name: row.merchant_name,
      mcc: row.mcc,
      city: row.merchant_city,
      country: row.merchant_country,
    },
    card: { id: row.card_id, last4: card?.last4 ?? '', scheme: card?.scheme ?? 'unknown' },
  };
}

const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

// Read by `hashtextextended(user_id, 0), received_at` (migration 0012); the ids themselves are compared too.
const EVENT_COLUMNS = `id, to_json(received_at) #>> '{}' as received_at, type,
  to_json(occurred_at) #>> '{}' as occurred_at, local_at::text as local_at, utc_offset_minutes, card_id, user_id,
  card_scheme, amount, currency, merchant_id, mid, merchant_name, mcc, merchant_city, merchant_country, entry_mode,
  to_json(authorization_received_at) #>> '{}' as authorization_received_at`;

/** `limit + 1` of the user's events, newest received first, after the cursor event if given. */
async function eventsPage(sql: Sql, userId: string, page: Page): Promise<EventRow[]> {
  const after = page.startingAfter ? await cursorOf(sql, userId, page.startingAfter) : undefined;
  return sql<EventRow[]>`
    select ${sql.unsafe(EVENT_COLUMNS)} from events
    where hashtextextended(user_id, 0) = hashtextextended(${userId}, 0) and user_id = ${userId}
      ${
        after
          ? sql`and received_at <= ${after.receivedAt}::timestamptz
              and (received_at < ${after.receivedAt}::timestamptz or id < ${after.id})`
          : sql``
      }
    order by received_at desc, id desc
    limit ${page.limit + 1}`;
}

/** Where the page after `eventId` starts; 422 unless it is one of the user's events. */
async function cursorOf(sql: Sql, userId: string, eventId: string) {
  // As text: a Date would drop the microseconds a timestamptz may hold, and the page would skip or repeat rows.
  const [row] = await sql<{ received_at: string }[]>`
    select received_at::text as received_at from events where id = ${eventId} and user_id = ${userId}`;
  if (!row) throw invalidFields([{ path: 'query.starting_after', message: 'is not one of your events' }]);
  return { id: eventId, receivedAt: row.received_at };
}

/**
 * Whether the purchase's triggers were decided on this event: on its authorization, or on a clearing when no
 * authorization of it had been seen. A clearing of an authorized purchase fires nothing, so nothing is explained.
 */
function decidedOn(row: EventRow): boolean {
  if (row.type === 'authorization') return true;
  if (row.type !== 'clearing') return false;
  return (
    row.authorization_received_at === null ||
    Date.parse(row.authorization_received_at) > Date.parse(row.received_at)
  );
}

function ruleEventOf(row: EventRow): RuleEvent {
  return {
    id: row.id,
    type: row.type,
    occurredAt: new Date(row.occurred_at).toISOString(),
    localAt: row.local_at.replace(' ', 'T'),
    utcOffsetMinutes: row.utc_offset_minutes,
    userId: row.user_id,
    cardId: row.card_id,
    cardScheme: row.card_scheme,
    amount: Number(row.amount),
    currency: row.currency,
    merchantId: row.merchant_id,
    mid: row.mid,
    merchantName: row.merchant_name,
    mcc: row.mcc,
    merchantCountry: row.merchant_country,
    entryMode: row.entry_mode,
  };
}

/**
 * The apps the user connects now (live grants to active apps), with the scopes granted. A disabled app's
 * triggers fire for nobody, so none of them is explained.
 */
const connectedApps = (db: Db, userId: string) =>
  db
    .select({ appId: grants.appId, scopes: grants.scopes, name: apps.name })
    .from(grants)
    .innerJoin(apps, eq(apps.id, grants.appId))
    .where(and(eq(grants.userId, userId), isNull(grants.revokedAt), eq(apps.status, 'active')));

/** Every card the user ever enrolled (removed ones too: their events stay), by id. */
async function cardsOf(db: Db, userId: string) {
  const rows = await db
    .select({ id: cards.id, last4: cards.last4, scheme: cards.scheme })
    .from(cards)
    .where(eq(cards.userId, userId));
  return new Map(rows.map((row) => [row.id, row]));
}

async function firedActions(db: Db, userId: string, eventIds: string[]) {
  const rows = await db
    .select({
      id: actions.id,
      purchaseId: actions.purchaseId,
      triggerId: actions.triggerId,
      version: actions.triggerVersion,
      appId: actions.appId,
      appName: apps.name,
      type: actions.type,
      rewardAmount: actions.rewardAmount,
      rewardCurrency: actions.rewardCurrency,
      points: actions.points,
      givenBackAt: actions.givenBackAt,
    })
    .from(actions)
    .innerJoin(apps, eq(apps.id, actions.appId))
    .where(and(inArray(actions.purchaseId, eventIds), eq(actions.userId, userId)))
    .orderBy(actions.id);
  return groupBy(rows, (row) => row.purchaseId);
}

async function recordedMisses(db: Db, userId: string, eventIds: string[]) {
  const rows = await db
    .select({
      eventId: triggerMisses.eventId,
      triggerId: triggerMisses.triggerId,
      version: triggerMisses.triggerVersion,
      appId: triggerMisses.appId,
      reason: triggerMisses.reason,
      progressHave: triggerMisses.progressHave,
      progressNeed: triggerMisses.progressNeed,
    })
    .from(triggerMisses)
    .where(and(inArray(triggerMisses.eventId, eventIds), eq(triggerMisses.userId, userId)));
  return groupBy(rows, (row) => row.eventId);
}

const versionKey = (triggerId: string, version: number) => `${triggerId}\u0000${version}`;

/** The name, terms and date of each trigger version named, by `versionKey`. */
async function versionsOf(db: Db, wanted: { triggerId: string; version: number }[]) {
  const unique = new Map(wanted.map((v) => [versionKey(v.triggerId, v.version), v]));
  const rows =
    unique.size === 0
      ? []
      : await db
          .select({
            triggerId: triggerVersions.triggerId,
            version: triggerVersions.version,
            name: triggerVersions.name,
            match: triggerVersions.match,
            limits: triggerVersions.limits,
            action: triggerVersions.action,
            createdAt: triggerVersions.createdAt,
          })
          .from(triggerVersions)
          .where(
            or(
              ...[...unique.values()].map((v) =>
                and(eq(triggerVersions.triggerId, v.triggerId), eq(triggerVersions.version, v.version)),
              ),
            ),
          );
  return new Map(rows.map((row) => [versionKey(row.triggerId, row.version), row]));
}

function rewardOf(action: {
  rewardAmount: number | null;
  rewardCurrency: string | null;
  points: number | null;
}): Reward {
  if (action.rewardAmount !== null && action.rewardCurrency !== null)
    return { amount: action.rewardAmount, currency: action.rewardCurrency };
  if (action.points !== null) return { points: action.points };
  return null;
}

function groupBy<T>(rows: T[], keyOf: (row: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const row of rows) {
    const group = groups.get(keyOf(row));
    if (group) group.push(row);
    else groups.set(keyOf(row), [row]);
  }
  return groups;
}
