// The contract's own event shape (`POST /v1/events`): one event, or `{"events": [...]}` for a batch.
import { localTimestamp } from '../clock.ts';
import type { PlannedEvent } from '../plan.ts';
import { type RenderContext, TYPE_TAG } from './context.ts';

/** The event id a JSON feed gives a purchase's event (letters between the numbers: never a card-number shape). */
export const jsonEventId = (context: RenderContext, purchase: number, type: PlannedEvent['type']) =>
  `${context.idPrefix}-p${purchase}-${TYPE_TAG[type]}`;

export function jsonEvent(context: RenderContext, event: PlannedEvent): Record<string, unknown> {
  const merchant = context.merchant(event);
  const location = merchant.locations[event.location]!;
  return {
    id: jsonEventId(context, event.purchase, event.type),
    type: event.type,
    occurred_at: localTimestamp(context.startMs + event.occurredMs, merchant.timezone),
    card: { pan: context.card(event.card).pan },
    amount: event.amount,
    currency: event.currency,
    merchant: {
      mid: location.mid,
      name: merchant.name,
      mcc: merchant.mcc,
      city: location.city,
      region: location.region,
      postal_code: location.postalCode,
      country: merchant.country,
      terminal_id: event.terminal,
    },
    auth_code: event.authCode,
    rrn: event.rrn,
    entry_mode: event.entryMode,
    original_id:
      event.type !== 'authorization' && context.authorized(event.purchase)
        ? jsonEventId(context, event.purchase, 'authorization')
        : null,
  };
}

export function jsonBody(context: RenderContext, events: PlannedEvent[]): string {
  const rendered = events.map((event) => jsonEvent(context, event));
  return JSON.stringify(rendered.length === 1 ? rendered[0] : { events: rendered });
}
