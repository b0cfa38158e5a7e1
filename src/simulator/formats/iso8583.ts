// ISO 8583:1987 messages as JSON keyed by data element (`POST /v1/events/iso8583`), as src/adapters/iso8583.ts
// reads them: 0100 authorization requests, 0220 completion advices (DE3 20xxxx: a refund) and 0400 reversals,
// the last two naming their authorization in DE90; repeats (0101, 0221, 0401) when a message is sent again.
import currencyCodes from 'currency-codes';
import type { EntryMode } from '../../lib/payments.ts';
import type { PlannedEvent } from '../plan.ts';
import type { RenderContext } from './context.ts';

/** DE49's ISO 4217 numeric code; a currency ISO does not list is a mistake in the merchant table, not USD. */
function currencyNumeric(alpha: string): string {
  const record = currencyCodes.code(alpha);
  if (!record) throw new Error(`${alpha} is not an ISO 4217 currency`);
  return record.number;
}

const POS_ENTRY: Record<EntryMode, string> = {
  contactless: '071',
  chip: '051',
  magstripe: '901',
  manual: '012',
  ecommerce: '812',
  card_on_file: '102',
  unknown: '000',
};

const TYPE_INDEX = { authorization: 0, clearing: 1, refund: 2, reversal: 3 } as const;

const pad = (n: number, width: number) => String(n).padStart(width, '0');
const mmdd = (d: Date) => `${pad(d.getUTCMonth() + 1, 2)}${pad(d.getUTCDate(), 2)}`;
const hhmmss = (d: Date) =>
  `${pad(d.getUTCHours(), 2)}${pad(d.getUTCMinutes(), 2)}${pad(d.getUTCSeconds(), 2)}`;

/** DE11, unique per purchase and message type within a million purchases (DE7 tells the rest apart). */
const stanOf = (purchase: number, type: PlannedEvent['type']) =>
  pad((purchase * 4 + TYPE_INDEX[type]) % 1e6, 6);

/** DE7, the transmission time (MMDDhhmmss, UTC) of the message's first copy. */
function de7Of(context: RenderContext, purchase: number, type: PlannedEvent['type']): string {
  const at = new Date(context.startMs + context.firstSentMs(purchase, type));
  return `${mmdd(at)}${hhmmss(at)}`;
}

export function iso8583Message(
  context: RenderContext,
  event: PlannedEvent,
  repeat: boolean,
): Record<string, string> {
  const merchant = context.merchant(event);
  const location = merchant.locations[event.location]!;
  const mtiBase = event.type === 'authorization' ? '010' : event.type === 'reversal' ? '040' : '022';
  const de7 = de7Of(context, event.purchase, event.type);
  const local = context.localTime.wall(
    context.startMs + context.firstSentMs(event.purchase, event.type),
    merchant.timezone,
  );
  const message: Record<string, string> = {
    mti: `${mtiBase}${repeat ? '1' : '0'}`,
    '2': context.card(event.card).pan,
    '3': event.type === 'refund' ? '200000' : '000000',
    '4': pad(event.type === 'reversal' ? event.authorizedAmount : event.amount, 12),
    '7': de7,
    '11': stanOf(event.purchase, event.type),
    '12': hhmmss(local),
    '13': mmdd(local),
    '18': merchant.mcc,
    '22': POS_ENTRY[event.entryMode],
    '37': event.rrn,
    '38': event.authCode,
    '41': event.terminal,
    '42': location.mid,
    '43': `${merchant.name.padEnd(25)}${location.city.padEnd(13)}${merchant.country}`,
    '49': currencyNumeric(event.currency),
  };
  if (event.type !== 'authorization' && context.authorized(event.purchase)) {
    // DE90: original MTI, STAN and transmission time; acquirer and forwarder ids zero.
    message['90'] =
      `0100${stanOf(event.purchase, 'authorization')}${de7Of(context, event.purchase, 'authorization')}${'0'.repeat(22)}`;
  }
  if (event.type === 'reversal' && event.partial) {
    // DE95: the amount that stands after a partial reversal (the first 12 of 42 digits).
    message['95'] = `${pad(event.authorizedAmount - event.amount, 12)}${'0'.repeat(30)}`;
  }
  return message;
}

export function iso8583Body(context: RenderContext, events: PlannedEvent[], repeat: boolean): string {
  const messages = events.map((event) => iso8583Message(context, event, repeat));
  return JSON.stringify(messages.length === 1 ? messages[0] : { messages });
}
