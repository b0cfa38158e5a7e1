import type { RuleTrigger } from '../../src/rules/compile.ts';
import type { RuleEvent } from '../../src/rules/event.ts';

/** A Tuesday 08:15 contactless coffee in Oakland (UTC-8), as the rules engine reads an event. */
export const coffeeEvent = (overrides: Partial<RuleEvent> = {}): RuleEvent => ({
  id: 'evt_1',
  type: 'authorization',
  occurredAt: '2026-11-24T08:15:02-08:00',
  localAt: '2026-11-24T08:15:02',
  utcOffsetMinutes: -480,
  userId: 'usr_1',
  cardId: 'crd_1',
  cardScheme: 'visa',
  amount: 475,
  currency: 'USD',
  merchantId: 'mer_bluebottle',
  mid: '000123',
  merchantName: 'BLUE BOTTLE COFFEE',
  mcc: '5814',
  merchantCountry: 'US',
  entryMode: 'contactless',
  ...overrides,
});

/** A receipt trigger of app_1 with these conditions: the smallest trigger the index lists. */
export const receiptTrigger = (
  id: string,
  match: RuleTrigger['match'],
  status: RuleTrigger['status'] = 'active',
): RuleTrigger => ({
  id,
  appId: 'app_1',
  version: 1,
  status,
  match,
  limits: {},
  action: { type: 'receipt' },
});
