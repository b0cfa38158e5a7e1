import { cardIdForApp, type PseudonymKey } from '../cards/pseudonyms.ts';
import type { ActionContext } from './context.ts';

/**
 * The `data` every action webhook carries (CONTRACT.md "Deliveries"), before the effect's own result: the
 * trigger, action and user, the purchase and its merchant, and the card as the app knows it (its pseudonymous
 * card id, last 4 and scheme; never a PAN, never the platform's card id).
 */
export function transactionData(ctx: ActionContext, key: PseudonymKey): Record<string, unknown> {
  const { action, event, card } = ctx;
  return {
    trigger_id: action.triggerId,
    action_id: action.id,
    user_id: action.userId,
    event: {
      id: event.id,
      type: event.type,
      amount: event.amount,
      currency: event.currency,
      occurred_at: event.occurredAt.toISOString(),
      merchant: event.merchant,
    },
    card: { id: cardIdForApp(key, action.appId, card.id), last4: card.last4, scheme: card.scheme },
  };
}
