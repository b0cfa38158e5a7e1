import { describe, expect, expectTypeOf, it } from 'vitest';
import type { StoredEvent } from '../../src/ingest/event-fields.ts';
import type { RuleTrigger } from '../../src/rules/compile.ts';
import { TriggerInput } from '../../src/rules/dsl.ts';
import { evaluate, explain } from '../../src/rules/evaluate.ts';
import { type Grant, instantOf, isoWeekday, minuteOfDay, type RuleEvent } from '../../src/rules/event.ts';
import { createTriggerIndex, removeTrigger, upsertTrigger } from '../../src/rules/trigger-index.ts';
import { coffeeEvent } from './coffee.ts';

const coffee = coffeeEvent();

const allScopes: Grant = {
  appId: 'app_1',
  scopes: new Set(['receipts', 'loyalty', 'cashback', 'coupons', 'social', 'transactions']),
};

function makeTrigger(input: Record<string, unknown>, overrides: Partial<RuleTrigger> = {}): RuleTrigger {
  const parsed = TriggerInput.parse({ name: 't', action: { type: 'receipt' }, ...input });
  return { id: 'trg_1', appId: 'app_1', version: 1, ...parsed, ...overrides };
}

/** Whether a trigger at the coffee shop (mids: 000123) plus `match` fires for the event, and if not, why. */
function outcome(match: Record<string, unknown>, event: Partial<RuleEvent> = {}, extra = {}) {
  const trigger = makeTrigger({ match: { mids: ['000123'], ...match }, ...extra });
  const index = createTriggerIndex([trigger]);
  const e = { ...coffee, ...event };
  const fired = evaluate(index, e, [allScopes]).map((t) => t.id);
  const reasons = explain(index, e, [allScopes]).flatMap((x) => x.reasons);
  return { fired: fired.length === 1, reasons };
}

describe('evaluate and explain, one condition at a time', () => {
  const cases: [string, Record<string, unknown>, Partial<RuleEvent>, Partial<RuleEvent>, string][] = [
    ['event type', { event_types: ['authorization'] }, {}, { type: 'clearing' }, 'event_type_mismatch'],
    ['merchant id', { merchant_ids: ['mer_bluebottle'] }, {}, { merchantId: null }, 'merchant_mismatch'],
    // Explained because the MCC it also names is this event's.
    ['MID', { mccs: ['5814'] }, {}, { mid: '000124' }, 'merchant_mismatch'],
    ['MCC', { mccs: ['5814'] }, {}, { mcc: '5411' }, 'mcc_mismatch'],
    [
      'name, any case',
      { merchant_name_contains: 'Blue Bottle' },
      {},
      { merchantName: 'PEETS' },
      'merchant_mismatch',
    ],
    ['country', { countries: ['US'] }, {}, { merchantCountry: 'CA' }, 'country_mismatch'],
    ['currency', { currencies: ['USD'] }, {}, { currency: 'EUR' }, 'currency_mismatch'],
    ['scheme', { schemes: ['visa'] }, {}, { cardScheme: 'unknown' }, 'scheme_mismatch'],
    ['entry mode', { entry_modes: ['contactless'] }, {}, { entryMode: null }, 'entry_mode_mismatch'],
    ['amount min (inclusive)', { amount_min: 475 }, {}, { amount: 474 }, 'amount_below_min'],
    ['amount max (inclusive)', { amount_max: 475 }, {}, { amount: 476 }, 'amount_above_max'],
    ['day, local', { days_of_week: [2] }, {}, { localAt: '2026-11-25T08:15:02' }, 'wrong_day'],
    [
      'local time, `to` excluded',
      { local_time: { from: '07:00', to: '08:16' } },
      {},
      { localAt: '2026-11-24T08:16:00' },
      'outside_local_time',
    ],
    [
      'starts_at, an instant',
      { starts_at: '2026-11-24T16:15:02Z' },
      {},
      { occurredAt: '2026-11-24T08:15:01-08:00' },
      'not_started',
    ],
    [
      'ends_at, inclusive',
      { ends_at: '2026-11-24T16:15:02Z' },
      {},
      { occurredAt: '2026-11-24T08:15:03-08:00' },
      'ended',
    ],
  ];
  it.each(cases)('%s: holds, then fails with its reason', (_name, match, passing, failing, reason) => {
    expect(outcome(match, passing)).toEqual({ fired: true, reasons: [] });
    expect(outcome(match, failing)).toEqual({ fired: false, reasons: [reason] });
  });

  it('reads a window passing midnight as two pieces of the local day', () => {
    const night = { local_time: { from: '22:00', to: '02:00' } };
    const at = (clock: string) => outcome(night, { localAt: `2026-11-24T${clock}` }).fired;
    expect(['22:00:00', '23:59:59', '00:00:00', '01:59:59'].map(at)).toEqual([true, true, true, true]);
    expect(['21:59:59', '02:00:00', '12:00:00'].map(at)).toEqual([false, false, false]);
  });

  it('reads days and times where the card was used, not in UTC', () => {
    // 23:30 on Sunday in Los Angeles is Monday 07:30 UTC.
    const sundayNight = { occurredAt: '2026-11-23T07:30:00Z', localAt: '2026-11-22T23:30:00' };
    expect(
      outcome({ days_of_week: [7], local_time: { from: '23:00', to: '23:45' } }, sundayNight).fired,
    ).toBe(true);
    expect(outcome({ days_of_week: [1] }, sundayNight).reasons).toEqual(['wrong_day']);
  });

  it('lists every failed condition, and a missing scope or a pause', () => {
    const failing = { amount: 100, entryMode: 'chip', currency: 'EUR' };
    const match = { amount_min: 300, entry_modes: ['contactless'], currencies: ['USD'] };
    expect(outcome(match, failing).reasons).toEqual([
      'currency_mismatch',
      'entry_mode_mismatch',
      'amount_below_min',
    ]);
    expect(outcome({}, {}, { status: 'paused' })).toEqual({ fired: false, reasons: ['trigger_paused'] });
    const trigger = makeTrigger({
      match: { mids: ['000123'] },
      action: { type: 'cashback', percent_bps: 100 },
    });
    const index = createTriggerIndex([trigger]);
    const noCashback = { appId: 'app_1', scopes: new Set(['receipts']) };
    expect(evaluate(index, coffee, [noCashback])).toEqual([]);
    expect(explain(index, coffee, [noCashback])).toEqual([
      { triggerId: 'trg_1', appId: 'app_1', version: 1, reasons: ['scope_not_granted'] },
    ]);
  });

  it('never fires on refunds and reversals, and explains nothing for them', () => {
    for (const type of ['refund', 'reversal'] as const)
      expect(outcome({}, { type })).toEqual({ fired: false, reasons: [] });
    expect(outcome({}, { type: 'clearing' }).fired).toBe(true);
  });

  it('matches a cashback with a budget only in the budget currency', () => {
    const budgeted = {
      action: { type: 'cashback', percent_bps: 500 },
      limits: { budget: { amount: 10_000, currency: 'USD' } },
    };
    expect(outcome({}, {}, budgeted).fired).toBe(true);
    expect(outcome({}, { currency: 'EUR' }, budgeted)).toEqual({
      fired: false,
      reasons: ['currency_mismatch'],
    });
    expect(outcome({ currencies: ['EUR'] }, { currency: 'EUR' }, budgeted).reasons).toEqual([
      'currency_mismatch',
    ]);
  });

  it('looks only at the granted apps, and explains only their triggers naming this merchant', () => {
    const mine = makeTrigger({ match: { mccs: ['5814'], amount_min: 1000 } }, { id: 'trg_mine' });
    const anywhere = makeTrigger({ match: { amount_min: 1000 } }, { id: 'trg_any' });
    const other = makeTrigger({ match: { mids: ['000123'] } }, { id: 'trg_other', appId: 'app_2' });
    const index = createTriggerIndex([mine, anywhere, other]);
    expect(evaluate(index, coffee, [allScopes])).toEqual([]);
    expect(explain(index, coffee, [allScopes]).map((x) => [x.triggerId, x.reasons])).toEqual([
      ['trg_mine', ['amount_below_min']],
    ]);
    expect(evaluate(index, coffee, [{ ...allScopes, appId: 'app_2' }]).map((t) => t.id)).toEqual([
      'trg_other',
    ]);
  });

  it('applies a change, a pause, an archive and a removal to the next event', () => {
    const index = createTriggerIndex([makeTrigger({ match: { mids: ['000123'] } })]);
    const fires = () => evaluate(index, coffee, [allScopes]).map((t) => `${t.id}@${t.version}`);
    expect(fires()).toEqual(['trg_1@1']);
    upsertTrigger(index, makeTrigger({ match: { mids: ['000999'] } }, { version: 2 }));
    expect(fires()).toEqual([]);
    upsertTrigger(index, makeTrigger({ match: { mids: ['000999', '000123'] } }, { version: 3 }));
    expect(fires()).toEqual(['trg_1@3']);
    upsertTrigger(index, makeTrigger({ match: { mids: ['000123'] } }, { version: 4, status: 'paused' }));
    expect(fires()).toEqual([]);
    upsertTrigger(index, makeTrigger({ match: { mids: ['000123'] } }, { version: 5 }));
    expect(fires()).toEqual(['trg_1@5']);
    upsertTrigger(index, makeTrigger({ match: { mids: ['000123'] } }, { version: 6, status: 'archived' }));
    expect(fires()).toEqual([]);
    expect(explain(index, coffee, [allScopes])).toEqual([]);
    upsertTrigger(index, makeTrigger({}, { version: 7 }));
    removeTrigger(index, 'trg_1');
    expect(fires()).toEqual([]);
    expect(index.apps.size).toBe(0);
  });
});

describe('input the DSL would refuse', () => {
  it('lists a trigger naming a value twice once, and takes it out whole', () => {
    const twice = { ...makeTrigger({ match: { mids: ['000123'] } }), match: { mids: ['000123', '000123'] } };
    const index = createTriggerIndex([twice]);
    expect(evaluate(index, coffee, [allScopes]).map((t) => t.id)).toEqual(['trg_1']);
    removeTrigger(index, 'trg_1');
    expect(evaluate(index, coffee, [allScopes])).toEqual([]);
    expect(index.apps.size).toBe(0);
  });
});

describe('the event the engine reads', () => {
  it('is what ingest stores (typecheck fails if the two drift apart)', () => {
    expectTypeOf<StoredEvent>().toExtend<RuleEvent>();
  });
});

describe('reading the wall clock and the instant', () => {
  it.each([
    '2026-11-05T12:34:56.000Z',
    '2026-11-05T12:34:56-08:00',
    '2026-03-08T02:30:00.1239+05:45',
    '1969-12-31T23:59:59.999Z',
    '2028-02-29T00:00:00+14:00',
    '2026-11-05T12:34:56z',
    '2026-02-30T00:00:00Z',
    '2026-13-01T00:00:00Z',
    '2026-01-01T24:00:00Z',
    '2026-01-01T23:59:60Z',
    '2026-01-01T00:00:00+24:00',
    'not a date',
  ])('reads %s as Date.parse does', (text) => {
    expect(instantOf(text)).toBe(Date.parse(text));
  });

  it('finds the ISO weekday of local dates across centuries and leap days', () => {
    const dates = ['1900-03-01', '2000-02-29', '2026-11-22', '2026-11-23', '2028-02-29', '2100-12-31'];
    for (const date of dates) {
      const utcDay = new Date(`${date}T00:00:00Z`).getUTCDay();
      expect(isoWeekday(`${date}T12:00:00`)).toBe(utcDay === 0 ? 7 : utcDay);
    }
    expect(minuteOfDay('2026-11-22T23:59:59.999')).toBe(1439);
  });
});
