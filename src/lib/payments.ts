// The words of card payments that storage, ingestion and the rules engine share (one list each).

export const EVENT_TYPES = ['authorization', 'clearing', 'refund', 'reversal'] as const;
export type EventType = (typeof EVENT_TYPES)[number];

export const ENTRY_MODES = [
  'contactless',
  'chip',
  'magstripe',
  'manual',
  'ecommerce',
  'card_on_file',
  'unknown',
] as const;
export type EntryMode = (typeof ENTRY_MODES)[number];

export const CARD_SCHEMES = ['visa', 'mastercard', 'amex', 'discover', 'unknown'] as const;
export type CardScheme = (typeof CARD_SCHEMES)[number];

/** Longest merchant id (MID), after trimming: events and trigger matches share it. */
export const MID_MAX_LENGTH = 64;
