import { describe, expect, it } from 'vitest';
import type { PurchaseEvent } from '../../src/effects/context.ts';
import { newCouponCode } from '../../src/effects/coupon-code.ts';
import { formatMoney, renderSocialPost } from '../../src/effects/social-post.ts';

describe('coupon codes', () => {
  it('are the prefix and 16 Crockford base32 characters, every character of the alphabet used in every place', () => {
    const codes = Array.from({ length: 10_000 }, () => newCouponCode('SAVE10'));
    expect(new Set(codes).size).toBe(codes.length);
    const seen = Array.from({ length: 16 }, () => new Set<string>());
    for (const code of codes) {
      expect(code).toMatch(/^SAVE10-[0-9A-HJKMNP-TV-Z]{16}$/);
      for (let place = 0; place < 16; place++) seen[place]!.add(code[7 + place]!);
    }
    // 10,000 draws miss one of 32 letters in one place with odds of about 10^-136: a code drawing on fewer letters (less than 80 bits) always would.
    for (const letters of seen) expect(letters.size).toBe(32);
  });
});

describe('social posts', () => {
  const event = (
    merchant: Partial<PurchaseEvent['merchant']>,
    amount = 475,
    currency = 'USD',
  ): PurchaseEvent => ({
    id: 'evt_1',
    type: 'authorization',
    amount,
    currency,
    occurredAt: new Date(),
    receivedAt: new Date(),
    localTime: '2026-11-23T08:15:02',
    utcOffsetMinutes: -480,
    merchant: {
      name: 'BLUE BOTTLE',
      mid: '1',
      merchant_id: null,
      mcc: null,
      city: null,
      region: null,
      postal_code: null,
      country: null,
      ...merchant,
    },
    cardId: 'crd_1',
    userId: 'usr_1',
  });

  it.each([
    [
      '{{merchant.name}}',
      { name: 'AT&T <b>"Store"</b> \'1\'' },
      'AT&amp;T &lt;b&gt;&quot;Store&quot;&lt;/b&gt; &#39;1&#39;',
    ],
    ['At {{merchant.city}}!', { city: null }, 'At !'],
    ['{{ merchant.country }}/{{currency}}', { country: 'JP' }, 'JP/USD'],
    ['<b>{{merchant.name}}</b>', {}, '<b>BLUE BOTTLE</b>'],
  ])('%s', (template, merchant, text) => {
    expect(renderSocialPost(template, event(merchant))).toBe(text);
  });

  it.each([
    [475, 'USD', '$4.75'],
    [123456, 'EUR', '€1,234.56'],
    [1200, 'JPY', '¥1,200'],
    [1234, 'BHD', 'BHD\u00a01.234'],
  ])('%i %s is %s', (amount, currency, text) => {
    expect(formatMoney(amount, currency)).toBe(text);
    expect(renderSocialPost('{{amount}}', event({}, amount, currency))).toBe(text);
  });
});
