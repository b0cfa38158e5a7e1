import { describe, expect, it } from 'vitest';
import { atSameMerchant } from '../../src/rules/card-state.ts';
import { TriggerInput } from '../../src/rules/dsl.ts';
import type { RuleEvent } from '../../src/rules/event.ts';
import { createReplay } from '../../src/triggers/backtest-replay.ts';
import { coffeeEvent } from '../rules/coffee.ts';

const triggerOf = (input: Record<string, unknown>) => ({
  id: 'trg_1',
  appId: 'app_1',
  version: 1,
  ...TriggerInput.parse({ name: 't', action: { type: 'webhook' }, ...input }),
});

let seq = 0;
const purchase = (overrides: Partial<RuleEvent>) => coffeeEvent({ id: `evt_${++seq}`, ...overrides });

describe('a backtest replay of first_purchase', () => {
  // A brand's first purchase: any of its MIDs, a name holding "bottle", 3.00 or more.
  const match = { merchant_ids: ['mer_bluebottle'], merchant_name_contains: 'Bottle', amount_min: 300 };
  const elsewhere = purchase({ merchantId: 'mer_other', merchantName: 'OTHER BOTTLE SHOP' });
  const small = purchase({ amount: 250, mid: '000456' });
  const first = purchase({ mid: '000789' });
  const second = purchase({});

  it('counts an earlier purchase where the live engine’s atSameMerchant holds, whatever its other conditions', () => {
    const replay = createReplay(triggerOf({ match: { ...match, first_purchase: true } }));
    const outcomes = [elsewhere, small, first, second].map((p) => replay(p, true));
    expect(outcomes).toEqual([
      { fired: false, reason: 'merchant_mismatch' },
      { fired: false, reason: 'amount_below_min' },
      { fired: false, reason: 'not_first_purchase' },
      { fired: false, reason: 'not_first_purchase' },
    ]);
    // The same rule as ingestion: which of them make a later purchase at the merchant not the first.
    expect(
      [elsewhere, small, first, second].map((p) => atSameMerchant(triggerOf({ match }).match, p)),
    ).toEqual([false, true, true, true]);
  });

  it('fires on the card’s first purchase there when no earlier one was at the merchant', () => {
    const replay = createReplay(triggerOf({ match: { ...match, first_purchase: true } }));
    expect(replay(elsewhere, true)).toEqual({ fired: false, reason: 'merchant_mismatch' });
    expect(replay(first, true)).toMatchObject({ fired: true });
    expect(replay(second, true)).toEqual({ fired: false, reason: 'not_first_purchase' });
    // Another card's first.
    expect(replay(purchase({ cardId: 'crd_2' }), true)).toMatchObject({ fired: true });
  });
});
