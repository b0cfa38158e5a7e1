// What every wire format needs to turn a planned event into the bytes a processor sends.
import type { SimulatedCard } from '../cards.ts';
import type { SimulatedMerchant } from '../merchants.ts';
import type { PlannedEvent } from '../plan.ts';

export interface RenderContext {
  /** The run's start (epoch ms): planned offsets are added to it. */
  startMs: number;
  /** Names this run's events (with the seed's tag), so another run's are not duplicates of these. */
  idPrefix: string;
  card: (index: number) => SimulatedCard;
  merchant: (event: PlannedEvent) => SimulatedMerchant;
  /** When the first copy of an event's message was planned to go out (ms offset): ISO 8583 DE7 is that time. */
  firstSentMs: (purchase: number, type: PlannedEvent['type']) => number;
  /** Whether the purchase has an authorization message (clearing-only purchases have none). */
  authorized: (purchase: number) => boolean;
}

export const TYPE_TAG = { authorization: 'auth', clearing: 'clr', refund: 'rfd', reversal: 'rev' } as const;
