// The platform's codes as the cardholder's pages say them: scopes, consent decisions, what a purchase earned.
import type { ConsentAction, ConsentSource } from '../db/schema/index.ts';
import { SCOPE_DESCRIPTIONS, type Scope } from '../grants/scopes.ts';
import type { EventType } from '../lib/payments.ts';
import type { FiredAction } from '../users/activity.ts';
import { formatMoney, formatPoints, wordList } from './format.ts';

export const scopeInWords = (scope: string) => SCOPE_DESCRIPTIONS[scope as Scope] ?? scope;

const SHORT_SCOPES: Record<Scope, string> = {
  transactions: 'purchase notices',
  receipts: 'receipts',
  loyalty: 'loyalty points',
  cashback: 'cashback',
  coupons: 'coupons',
  social: 'social posts',
};

/** Scopes as a short phrase: "receipts, cashback and coupons". */
export const scopesInShort = (scopes: readonly string[]) =>
  wordList(scopes.map((scope) => SHORT_SCOPES[scope as Scope] ?? scope));

const SOURCES: Record<ConsentSource, string> = {
  api: 'through the API',
  oauth: 'on the consent page',
  oauth_revoke: 'by the app, which gave up its access',
  account_page: 'on your account page',
};

/** One consent decision: "Connected on the consent page: may send you receipts and cashback." */
export function consentInWords(event: {
  action: ConsentAction;
  scopes: readonly string[];
  source: ConsentSource;
}): string {
  const where = SOURCES[event.source] ?? '';
  switch (event.action) {
    case 'granted':
      return `Connected ${where}, for ${scopesInShort(event.scopes)}`;
    case 'scopes_changed':
      return `Permissions changed ${where}, now ${scopesInShort(event.scopes)}`;
    case 'revoked':
      return `Disconnected ${where}`;
  }
}

const EVENT_TYPES: Record<EventType, string> = {
  authorization: 'Purchase',
  clearing: 'Purchase settled',
  refund: 'Refund',
  reversal: 'Purchase cancelled',
};

export const eventTypeInWords = (type: EventType) => EVENT_TYPES[type];

/** What one fired action gave: "$0.23 cashback", "Receipt saved". */
export function firedInWords(action: Pick<FiredAction, 'type' | 'reward' | 'app'>): string {
  const reward = action.reward;
  switch (action.type) {
    case 'cashback':
      return reward && 'amount' in reward
        ? `${formatMoney(reward.amount, reward.currency)} cashback`
        : 'Cashback';
    case 'points':
      return reward && 'points' in reward ? formatPoints(reward.points) : 'Points';
    case 'receipt':
      return 'Receipt saved';
    case 'coupon':
      return 'Coupon issued';
    case 'social_post':
      return 'Social post prepared';
    case 'webhook':
      return `${action.app.name} was notified`;
  }
}
