import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { holdsCardNumber, redactCardNumbers } from '../../src/cards/card-numbers.ts';
import { luhnValid } from '../../src/cards/pan.ts';

const VISA = '4242424242424242';
const AMEX = '378282246310005';
const NOT_LUHN = '4242424242424243';
const FULL_WIDTH = (ascii: string) =>
  ascii.replace(/[0-9]/g, (d) => String.fromCodePoint(0xff10 + Number(d)));

describe('holdsCardNumber', () => {
  test.each([
    ['a card number', VISA, true],
    ['an Amex number (15 digits)', AMEX, true],
    ['inside an id', `iauth_${VISA}`, true],
    ['grouped by spaces', '4242 4242 4242 4242', true],
    ['grouped by hyphens', '4242-4242-4242-4242', true],
    ['grouped by dots', '4242.4242.4242.4242', true],
    ['grouped 4-6-5 (Amex)', '3782 822463 10005', true],
    ['in full-width digits', FULL_WIDTH(VISA), true],
    ['full-width, grouped by ideographic spaces', FULL_WIDTH('4242\u30004242\u30004242\u30004242'), true],
    ['in Arabic-Indic digits', VISA.replace(/[0-9]/g, (d) => String.fromCodePoint(0x660 + Number(d))), true],
    [
      'in mathematical bold digits',
      VISA.replace(/[0-9]/g, (d) => String.fromCodePoint(0x1d7ce + Number(d))),
      true,
    ],
    ['followed by its expiry', `${VISA.match(/.{4}/g)!.join(' ')} 1226`, true],
    ['glued after other digits', `20261127${VISA}`, true],
    ['failing the Luhn check', NOT_LUHN, false],
    ['too short (11 digits)', '42424242426', false],
    ['a short reference', 'A1B2C3', false],
    ['an ordinary 25-digit run of ones', '1'.repeat(25), false],
    ['grouped by two spaces', '4242  4242  4242  4242', true],
    ['grouped by slashes', '4242/4242/4242/4242', true],
    ['grouped by underscores', '4242_4242_4242_4242', true],
    ['grouped by commas and spaces', '4242, 4242, 4242, 4242', true],
    ['grouped by no-break spaces', '4242\u00a04242\u00a04242\u00a04242', true],
    ['grouped by en dashes', '4242\u20134242\u20134242\u20134242', true],
    ['grouped by a space and an em dash', '4242 \u20144242 \u20144242 \u20144242', true],
    ['grouped by full-width solidi', '4242\uff0f4242\uff0f4242\uff0f4242', true],
    ['digits split by three separators', '4242   4242   4242   4242', false],
    ['digits split by other characters', '4242|4242|4242|4242', false],
    ['no text', '', false],
  ])('%s', (_name, text, expected) => {
    expect(holdsCardNumber(text)).toBe(expected);
  });

  const card = fc
    .integer({ min: 11, max: 18 })
    .chain((length) => fc.array(fc.integer({ min: 0, max: 9 }), { minLength: length, maxLength: length }))
    .map((digits) => {
      const body = digits.join('');
      for (let check = 0; check < 10; check++) if (luhnValid(body + check)) return body + check;
      throw new Error('unreachable');
    });

  test('finds any Luhn-valid number of 12 to 19 digits between letters, whole or in groups', () => {
    fc.assert(
      fc.property(
        card,
        fc.oneof(
          fc.constant(''),
          fc.string({ unit: fc.constantFrom(...' -./_,\u00a0\u2013\u3000'), minLength: 1, maxLength: 2 }),
        ),
        fc.integer({ min: 1, max: 6 }),
        fc.string({ unit: fc.constantFrom(...'abcXYZ_:/ ') }),
        fc.string({ unit: fc.constantFrom(...'abcXYZ_:/ ') }),
        (digits, separator, groupSize, before, after) => {
          const grouped = digits.match(new RegExp(`.{1,${groupSize}}`, 'g'))!.join(separator);
          expect(holdsCardNumber(`${before}${grouped}${after}`)).toBe(true);
        },
      ),
      { numRuns: 2000, seed: 11 },
    );
  });

  test('reads every script’s decimal digits as the ASCII ones', () => {
    const zeros = [0x30, 0x660, 0x966, 0xe50, 0xff10, 0x1d7ce, 0x1d7d8];
    fc.assert(
      fc.property(
        fc.string({ unit: fc.constantFrom(...'0123456789 -.a'), maxLength: 30 }),
        fc.constantFrom(...zeros),
        (ascii, zero) => {
          const converted = ascii.replace(/[0-9]/g, (d) => String.fromCodePoint(zero + Number(d)));
          expect(holdsCardNumber(converted)).toBe(holdsCardNumber(ascii));
        },
      ),
      { numRuns: 3000, seed: 12 },
    );
  });
});

describe('redactCardNumbers', () => {
  test.each([
    [`events.${VISA}.id`, 'events.[card number].id'],
    ['pay 4242 4242 4242 4242 now', 'pay [card number] now'],
    ['pay 4242/ 4242/ 4242/ 4242 now', 'pay [card number] now'],
    [`x${FULL_WIDTH(VISA)}y`, 'x[card number]y'],
    [`keep ${NOT_LUHN}`, `keep ${NOT_LUHN}`],
    ['events.3.id', 'events.3.id'],
  ])('%s', (text, expected) => {
    expect(redactCardNumbers(text)).toBe(expected);
  });
});
