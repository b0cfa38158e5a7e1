// The effects of the actions outside the ledger: a receipt, a coupon, a social post, a transaction notice. Each
// is at most one row per action (a unique `action_id`), so performing an action again (a retried job) finds the
// row its first run committed and announces the same thing.
import { eq } from 'drizzle-orm';
import type { Tx } from '../db/client.ts';
import { type CouponRow, coupons, type ReceiptRow, receipts, socialPosts } from '../db/schema/index.ts';
import type { Notice } from '../dispatch/notice.ts';
import { newId } from '../lib/ids.ts';
import type { TriggerAction } from '../rules/dsl.ts';
import { type ActionContext, offsetText } from './context.ts';
import { newCouponCode } from './coupon-code.ts';
import { renderSocialPost } from './social-post.ts';

const DAY_MS = 86_400_000;
// A clash of two 80-bit codes is astronomically rare; a few draws in a row would mean a broken random source.
const COUPON_CODE_DRAWS = 5;

/**
 * Performs a receipt, coupon, social_post or webhook action inside the caller's transaction and answers the
 * notices to deliver: `receipt.created` {receipt_id}, `coupon.issued` {coupon_id, code, value?, expires_at?},
 * `social_post.requested` {social_post_id, text}, `transaction.notified` {}. A second call for the same action
 * creates nothing and answers the same notices.
 */
export async function performEffect(tx: Tx, ctx: ActionContext, now: Date): Promise<Notice[]> {
  const { spec } = ctx;
  switch (spec.type) {
    case 'receipt':
      return [await storeReceipt(tx, ctx, now)];
    case 'coupon':
      return [await issueCoupon(tx, ctx, spec, now)];
    case 'social_post':
      return [await requestSocialPost(tx, ctx, spec, now)];
    case 'webhook':
      return [{ type: 'transaction.notified', result: {} }];
    case 'points':
    case 'cashback':
      throw new Error(
        `action ${ctx.action.id}: ${spec.type} is a ledger effect (openReward), not performEffect's`,
      );
  }
}

async function storeReceipt(tx: Tx, ctx: ActionContext, now: Date): Promise<Notice> {
  const { action, event, card } = ctx;
  const row: ReceiptRow = {
    id: newId('rcp'),
    actionId: action.id,
    appId: action.appId,
    userId: action.userId,
    cardId: card.id,
    eventId: event.id,
    merchant: event.merchant,
    amount: event.amount,
    currency: event.currency,
    occurredAt: event.occurredAt,
    localTime: event.localTime,
    timeZone: offsetText(event.utcOffsetMinutes),
    cardLast4: card.last4,
    cardScheme: card.scheme,
    createdAt: now,
  };
  const [inserted] = await tx
    .insert(receipts)
    .values(row)
    .onConflictDoNothing({ target: receipts.actionId })
    .returning({ id: receipts.id });
  const id =
    inserted?.id ??
    (await tx.select({ id: receipts.id }).from(receipts).where(eq(receipts.actionId, action.id)))[0]!.id;
  return { type: 'receipt.created', result: { receipt_id: id } };
}

async function issueCoupon(
  tx: Tx,
  ctx: ActionContext,
  spec: Extract<TriggerAction, { type: 'coupon' }>,
  now: Date,
): Promise<Notice> {
  const { action } = ctx;
  for (let draw = 0; draw < COUPON_CODE_DRAWS; draw++) {
    // No conflict target: a clash on the code must not abort the transaction either, only send us to draw again.
    const [issued] = await tx
      .insert(coupons)
      .values({
        id: newId('cpn'),
        actionId: action.id,
        appId: action.appId,
        userId: action.userId,
        code: newCouponCode(spec.code_prefix),
        valueAmount: spec.value?.amount ?? null,
        valueCurrency: spec.value?.currency ?? null,
        expiresAt:
          spec.expires_in_days === undefined ? null : new Date(now.getTime() + spec.expires_in_days * DAY_MS),
        createdAt: now,
      })
      .onConflictDoNothing()
      .returning();
    const coupon = issued ?? (await tx.select().from(coupons).where(eq(coupons.actionId, action.id)))[0];
    if (coupon) return couponIssued(coupon);
  }
  throw new Error(`action ${action.id}: ${COUPON_CODE_DRAWS} coupon codes in a row were taken`);
}

function couponIssued(coupon: CouponRow): Notice {
  return {
    type: 'coupon.issued',
    result: {
      coupon_id: coupon.id,
      code: coupon.code,
      ...(coupon.valueAmount !== null && coupon.valueCurrency !== null
        ? { value: { amount: coupon.valueAmount, currency: coupon.valueCurrency } }
        : {}),
      ...(coupon.expiresAt ? { expires_at: coupon.expiresAt.toISOString() } : {}),
    },
  };
}

async function requestSocialPost(
  tx: Tx,
  ctx: ActionContext,
  spec: Extract<TriggerAction, { type: 'social_post' }>,
  now: Date,
): Promise<Notice> {
  const { action } = ctx;
  const [inserted] = await tx
    .insert(socialPosts)
    .values({
      id: newId('spt'),
      actionId: action.id,
      appId: action.appId,
      userId: action.userId,
      text: renderSocialPost(spec.template, ctx.event),
      createdAt: now,
    })
    .onConflictDoNothing({ target: socialPosts.actionId })
    .returning({ id: socialPosts.id, text: socialPosts.text });
  const post =
    inserted ??
    (
      await tx
        .select({ id: socialPosts.id, text: socialPosts.text })
        .from(socialPosts)
        .where(eq(socialPosts.actionId, action.id))
    )[0]!;
  return { type: 'social_post.requested', result: { social_post_id: post.id, text: post.text } };
}
