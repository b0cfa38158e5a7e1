// What dispatch knows about one action when it performs it: the action, its purchase, card, app, the user's live
// grant and the action definition it fired under, read inside the worker's transaction.
import { and, eq, isNull, sql } from 'drizzle-orm';
import type { Executor } from '../db/client.ts';
import {
  type ActionRow,
  actions,
  apps,
  cards,
  grants,
  type ReceiptMerchant,
  triggerVersions,
} from '../db/schema/index.ts';
import type { EventType } from '../lib/payments.ts';
import { SCOPE_OF_ACTION, type TriggerAction } from '../rules/dsl.ts';

/** The purchase an action fired on, as ingest stored it. */
export interface PurchaseEvent {
  id: string;
  type: EventType;
  amount: number;
  currency: string;
  occurredAt: Date;
  receivedAt: Date;
  /** The wall-clock time where the card was used, `2026-11-23T08:15:02` (no zone). */
  localTime: string;
  /** Its offset from UTC, as ingest worked it out (the stated offset, else the merchant's zone, else 0). */
  utcOffsetMinutes: number;
  merchant: ReceiptMerchant;
  cardId: string;
  userId: string;
}

export interface ActionContext {
  /** The actions row (locked FOR UPDATE when loaded with `lock: true`). */
  action: ActionRow;
  event: PurchaseEvent;
  card: { id: string; last4: string; scheme: string };
  app: {
    id: string;
    name: string;
    status: string;
    fee: { fixed: number; bps: number; currency: string } | null;
  };
  /** The user's live grant to the app, read FOR SHARE: a revocation waits for this transaction, or was seen. */
  grant: { id: string; scopes: string[] } | null;
  /** The action definition of the trigger version the action fired under. */
  spec: TriggerAction;
}

/** Why dispatch cancels an action instead of performing it. */
export type CancelReason = 'app_disabled' | 'grant_revoked' | 'scope_not_granted';

interface EventRow extends Record<string, unknown> {
  id: string;
  type: EventType;
  amount: string;
  currency: string;
  occurred_at: string;
  received_at: string;
  local_at: string;
  utc_offset_minutes: number;
  card_id: string;
  user_id: string;
  mid: string;
  merchant_id: string | null;
  merchant_name: string | null;
  mcc: string | null;
  merchant_city: string | null;
  merchant_region: string | null;
  merchant_postal_code: string | null;
  merchant_country: string | null;
}

/**
 * The action and everything its effect needs, or null when no such action exists. With `lock`, the action row is
 * locked FOR UPDATE (one performer at a time); the grant is always read FOR SHARE, so a revocation either
 * committed before (no grant here) or waits until this transaction ends.
 */
export async function loadActionContext(
  tx: Executor,
  actionId: string,
  options: { lock: boolean },
): Promise<ActionContext | null> {
  const query = tx
    .select({
      action: actions,
      // As text: a Date keeps milliseconds only, and the partition key must match exactly.
      receivedAt: sql<string>`${actions.purchaseReceivedAt}::text`,
    })
    .from(actions)
    .where(eq(actions.id, actionId));
  const [found] = options.lock ? await query.for('update') : await query;
  if (!found) return null;
  const { action } = found;

  // Sent together: postgres.js pipelines them on the transaction's connection.
  const [eventRows, [card], [app], [grant], [version]] = await Promise.all([
    tx.execute<EventRow>(sql`
      select id, type, amount, currency, to_json(occurred_at) #>> '{}' as occurred_at,
        to_json(received_at) #>> '{}' as received_at, local_at::text as local_at, utc_offset_minutes,
        card_id, user_id, mid, merchant_id, merchant_name, mcc, merchant_city, merchant_region,
        merchant_postal_code, merchant_country
      from events where id = ${action.purchaseId} and received_at = ${found.receivedAt}::timestamptz`),
    tx
      .select({ id: cards.id, last4: cards.last4, scheme: cards.scheme })
      .from(cards)
      .where(eq(cards.id, action.cardId)),
    tx.select().from(apps).where(eq(apps.id, action.appId)),
    tx
      .select({ id: grants.id, scopes: grants.scopes })
      .from(grants)
      .where(and(eq(grants.userId, action.userId), eq(grants.appId, action.appId), isNull(grants.revokedAt)))
      .for('share'),
    tx
      .select({ action: triggerVersions.action })
      .from(triggerVersions)
      .where(
        and(
          eq(triggerVersions.triggerId, action.triggerId),
          eq(triggerVersions.version, action.triggerVersion),
        ),
      ),
  ]);
  const event = eventRows[0];
  // Each is written before (or with) the action and never deleted: missing means a broken database.
  if (!event) throw new Error(`action ${action.id}: its purchase ${action.purchaseId} is not stored`);
  if (!card) throw new Error(`action ${action.id}: card ${action.cardId} is not stored`);
  if (!app) throw new Error(`action ${action.id}: app ${action.appId} is not stored`);
  if (!version)
    throw new Error(`action ${action.id}: trigger version ${action.triggerVersion} is not stored`);

  return {
    action,
    event: purchaseEventOf(event),
    card,
    app: {
      id: app.id,
      name: app.name,
      status: app.status,
      fee:
        app.feeFixed !== null && app.feeBps !== null && app.feeCurrency !== null
          ? { fixed: app.feeFixed, bps: app.feeBps, currency: app.feeCurrency }
          : null,
    },
    grant: grant ?? null,
    spec: version.action,
  };
}

function purchaseEventOf(row: EventRow): PurchaseEvent {
  return {
    id: row.id,
    type: row.type,
    amount: Number(row.amount),
    currency: row.currency,
    occurredAt: new Date(row.occurred_at),
    receivedAt: new Date(row.received_at),
    localTime: row.local_at.replace(' ', 'T'),
    utcOffsetMinutes: row.utc_offset_minutes,
    merchant: {
      name: row.merchant_name,
      mid: row.mid,
      merchant_id: row.merchant_id,
      mcc: row.mcc,
      city: row.merchant_city,
      region: row.merchant_region,
      postal_code: row.merchant_postal_code,
      country: row.merchant_country,
    },
    cardId: row.card_id,
    userId: row.user_id,
  };
}

/**
 * Why the action must be cancelled rather than performed, or undefined: the app is disabled, the user has no
 * live grant to it, or the grant lacks the action's scope (SCOPE_OF_ACTION).
 */
export function cancelReason(ctx: ActionContext): CancelReason | undefined {
  if (ctx.app.status !== 'active') return 'app_disabled';
  if (!ctx.grant) return 'grant_revoked';
  if (!ctx.grant.scopes.includes(SCOPE_OF_ACTION[ctx.action.type])) return 'scope_not_granted';
  return undefined;
}

/** A UTC offset in RFC 3339's form: `-08:00`, `+05:30`, `+00:00`. */
export function offsetText(minutes: number): string {
  const sign = minutes < 0 ? '-' : '+';
  const abs = Math.abs(minutes);
  return `${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
}
