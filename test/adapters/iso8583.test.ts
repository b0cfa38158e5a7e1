import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import {
  convertIso8583,
  type Iso8583Message,
  iso8583EventId,
  parseNameLocation,
} from '../../src/adapters/iso8583.ts';
import { CardEventInput } from '../../src/ingest/schema.ts';

const NOW = new Date('2026-11-23T16:20:00Z');
const PAN = '4111111111111111';
const de43 = (name: string, city: string, country: string) =>
  `${name.padEnd(25)}${city.padEnd(13)}${country}`;

/** A complete 0100 as an acquirer sends it: 16:15:02 UTC, 08:15:02 local in Oakland. */
const base = (over: Iso8583Message = {}): Iso8583Message => ({
  mti: '0100',
  '2': PAN,
  '3': '000000',
  '4': '000000000475',
  '7': '1123161502',
  '11': '000042',
  '12': '081502',
  '13': '1123',
  '18': '5814',
  '22': '071',
  '37': '123456789012',
  '38': 'A1B2C3',
  '41': 'T1      ',
  '42': '000123         ',
  '43': de43('BLUE BOTTLE COFFEE', 'OAKLAND', 'US'),
  '49': '840',
  ...over,
});

const ok = (message: unknown, now = NOW) => {
  const result = convertIso8583(message, now);
  if (!result.ok) throw new Error(`expected a conversion, got ${JSON.stringify(result.errors)}`);
  return result.event;
};
const errorsOf = (message: unknown) => {
  const result = convertIso8583(message, NOW);
  if (result.ok) throw new Error('expected field errors');
  return result.errors;
};
const without = (de: string) => {
  const message = base();
  delete message[de];
  return message;
};
/** DE90: original MTI, STAN, DE7, then acquirer and forwarder ids (zeros). */
const de90 = (mti: string, stan: string, de7: string) => `${mti}${stan}${de7}${'0'.repeat(22)}`;

describe('ISO 8583 → event', () => {
  it('maps a full authorization request field by field', () => {
    expect(ok(base())).toEqual({
      id: '0100:1123161502:000042:T1:000123',
      type: 'authorization',
      occurred_at: '2026-11-23T08:15:02-08:00',
      card: { pan: PAN },
      amount: 475,
      currency: 'USD',
      merchant: {
        mid: '000123',
        name: 'BLUE BOTTLE COFFEE',
        mcc: '5814',
        city: 'OAKLAND',
        country: 'US',
        terminal_id: 'T1',
      },
      auth_code: 'A1B2C3',
      rrn: '123456789012',
      entry_mode: 'contactless',
      original_id: null,
    });
  });

  it.each([
    ['0100', '000000', 'authorization'],
    ['0101', '000000', 'authorization'],
    ['0120', '000000', 'authorization'],
    ['0200', '000000', 'authorization'],
    ['0200', '010000', 'authorization'],
    ['0220', '000000', 'clearing'],
    ['0221', '000000', 'clearing'],
    ['0320', '000000', 'clearing'],
    ['0400', '000000', 'reversal'],
    ['0401', '000000', 'reversal'],
    ['0420', '000000', 'reversal'],
    ['0421', '000000', 'reversal'],
    ['0100', '200000', 'refund'],
    ['0200', '200000', 'refund'],
    ['0220', '200000', 'refund'],
    ['0420', '200000', 'reversal'],
  ])('MTI %s with processing code %s is %s', (mti, code, type) => {
    expect(ok(base({ mti, '3': code })).type).toBe(type);
  });

  it.each(['0110', '0210', '0800', '0410', '0300', '0500'])('refuses MTI %s on "mti"', (mti) => {
    expect(errorsOf(base({ mti }))).toEqual([{ path: 'mti', message: expect.stringContaining(mti) }]);
  });

  it('gives a repeat the id of its first transmission (so it is a duplicate)', () => {
    expect(ok(base({ mti: '0101' })).id).toBe(ok(base()).id);
    expect(ok(base({ mti: '0421' })).id).toBe(ok(base({ mti: '0420' })).id);
  });

  it('links a reversal to its original through DE90, even when it reuses the STAN and DE7', () => {
    const original = ok(base());
    const reversal = ok(base({ mti: '0400', '90': de90('0100', '000042', '1123161502') }));
    expect(reversal.type).toBe('reversal');
    expect(reversal.original_id).toBe(original.id);
    expect(reversal.id).not.toBe(original.id);
  });

  it('builds original_id exactly like the id of any original (property)', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('0100', '0200', '0120', '0220'),
        fc.stringMatching(/^\d{6}$/),
        fc.date({
          min: new Date('2026-06-01T00:00:00Z'),
          max: new Date('2027-04-30T00:00:00Z'),
          noInvalidDate: true,
        }),
        fc.stringMatching(/^[A-Za-z0-9 :%/-]{1,8}$/).filter((s) => s.trim() !== ''),
        fc.stringMatching(/^[A-Za-z0-9 :%/-]{1,15}$/).filter((s) => s.trim() !== ''),
        fc.stringMatching(/^\d{6}$/),
        (mti, stan, when, terminal, mid, reversalStan) => {
          const iso = when.toISOString();
          const de7 = `${iso.slice(5, 7)}${iso.slice(8, 10)}${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}`;
          const common = { '12': undefined, '13': undefined, '41': terminal, '42': mid };
          const original = ok(base({ ...common, mti, '7': de7, '11': stan }), when);
          const reversal = ok(
            base({ ...common, mti: '0420', '7': de7, '11': reversalStan, '90': de90(mti, stan, de7) }),
            when,
          );
          expect(reversal.original_id).toBe(original.id);
          // Valid events when received at `when` (the server clock bounds occurred_at).
          vi.useFakeTimers({ toFake: ['Date'] });
          vi.setSystemTime(when);
          try {
            expect(CardEventInput.safeParse(original).success).toBe(true);
            expect(CardEventInput.safeParse(reversal).success).toBe(true);
          } finally {
            vi.useRealTimers();
          }
        },
      ),
    );
  });

  it('links an advice carrying DE90 to the pre-authorization it completes', () => {
    const preauth = ok(base());
    const completion = ok(
      base({ mti: '0220', '7': '1123180000', '11': '000077', '90': de90('0100', '000042', '1123161502') }),
    );
    expect(completion).toMatchObject({ type: 'clearing', original_id: preauth.id });
  });

  it('treats an all-zero DE90 as absent (matched later by card, MID, auth code, amount)', () => {
    expect(ok(base({ mti: '0400', '90': '0'.repeat(42) })).original_id).toBeNull();
    expect(ok(base({ mti: '0400' })).original_id).toBeNull();
  });

  it('makes a reversal with DE95 partial: the amount reversed is DE4 minus the actual amount', () => {
    const replacement = `${'000000000400'}${'0'.repeat(30)}`;
    expect(ok(base({ mti: '0400', '4': '000000001000', '95': replacement })).amount).toBe(600);
    expect(
      errorsOf(base({ mti: '0400', '4': '000000001000', '95': `000000001000${'0'.repeat(30)}` }))[0]?.path,
    ).toBe('95');
    expect(errorsOf(base({ mti: '0100', '95': replacement }))[0]?.path).toBe('95');
  });

  it.each([
    ['840', 'USD'],
    ['978', 'EUR'],
    ['392', 'JPY'],
    ['036', 'AUD'],
    ['826', 'GBP'],
    ['756', 'CHF'],
    ['952', 'XOF'],
    ['951', 'XCD'],
  ])('turns DE49 %s into %s', (numeric, alpha) => {
    expect(ok(base({ '49': numeric })).currency).toBe(alpha);
  });

  it.each([
    ['071', 'contactless'],
    ['911', 'contactless'],
    ['051', 'chip'],
    ['951', 'chip'],
    ['021', 'magstripe'],
    ['901', 'magstripe'],
    ['801', 'magstripe'],
    ['011', 'manual'],
    ['791', 'manual'],
    ['812', 'ecommerce'],
    ['091', 'ecommerce'],
    ['101', 'card_on_file'],
    ['821', 'card_on_file'],
  ])('maps DE22 %s to entry_mode %s', (mode, entry) => {
    expect(ok(base({ '22': mode })).entry_mode).toBe(entry);
  });

  it('leaves entry_mode out when DE22 says unknown or is absent', () => {
    expect(ok(base({ '22': '001' }))).not.toHaveProperty('entry_mode');
    expect(ok(without('22'))).not.toHaveProperty('entry_mode');
  });

  it.each([
    [de43('TESCO STORES 2041', 'LONDON', 'GB'), { name: 'TESCO STORES 2041', city: 'LONDON', country: 'GB' }],
    [
      `${'BOULANGERIE PAUL'.padEnd(25)}${'PARIS'.padEnd(12)}250`,
      { name: 'BOULANGERIE PAUL', city: 'PARIS', country: 'FR' },
    ],
    [`${'ACME'.padEnd(25)}${'SYDNEY'.padEnd(12)}036`, { name: 'ACME', city: 'SYDNEY', country: 'AU' }],
    [`${'AMAZON MKTPLACE'.padEnd(25)}${''.padEnd(13)}us`, { name: 'AMAZON MKTPLACE', country: 'US' }],
    [`${'CAFE'.padEnd(25)}${'SAN FRANCISCO'}US`, { name: 'CAFE', city: 'SAN FRANCISCO', country: 'US' }],
    [
      `${'SHORT'.padEnd(25)}${'BERLIN'.padEnd(13)}DE`.trimEnd(),
      { name: 'SHORT', city: 'BERLIN', country: 'DE' },
    ],
  ])('splits DE43 %j', (raw, expected) => {
    expect(parseNameLocation(raw)).toEqual(expected);
  });

  it('infers the year from the clock: a December DE7 received on 1 January is last year', () => {
    const event = ok(
      base({ '7': '1231235959', '12': '155959', '13': '1231' }),
      new Date('2027-01-01T00:02:00Z'),
    );
    expect(event.occurred_at).toBe('2026-12-31T15:59:59-08:00');
  });

  it.each([
    ['1123161502', '214502', '1123', '2026-11-23T21:45:02+05:30'],
    ['1123030000', '190000', '1122', '2026-11-22T19:00:00-08:00'],
    ['1123161502', '161502', '1123', '2026-11-23T16:15:02Z'],
    ['1123161502', '171400', '1123', '2026-11-23T17:14:00+01:00'],
  ])('keeps the local offset: DE7 %s, DE12 %s, DE13 %s → %s', (de7, time, date, expected) => {
    expect(ok(base({ '7': de7, '12': time, '13': date })).occurred_at).toBe(expected);
  });

  it('falls back to DE7 in UTC when the local time is too far off to be an offset (late advice)', () => {
    expect(ok(base({ mti: '0220', '7': '1123161502', '12': '090000', '13': '1120' })).occurred_at).toBe(
      '2026-11-23T16:15:02Z',
    );
    expect(ok({ ...without('12'), '13': undefined }).occurred_at).toBe('2026-11-23T16:15:02Z');
  });

  it.each<[string, Iso8583Message, string]>([
    ['missing MTI', without('mti'), 'mti'],
    ['missing PAN', without('2'), '2'],
    ['PAN too short', base({ '2': '41111111111' }), '2'],
    ['PAN with letters', base({ '2': '4111x11111111111' }), '2'],
    ['missing processing code', without('3'), '3'],
    ['balance inquiry', base({ '3': '310000' }), '3'],
    ['missing amount', without('4'), '4'],
    ['amount not 12 digits', base({ '4': '475' }), '4'],
    ['amount with a decimal point', base({ '4': '0000000004.75' }), '4'],
    ['zero amount', base({ '4': '000000000000' }), '4'],
    ['missing DE7', without('7'), '7'],
    ['impossible DE7 date', base({ '7': '0230120000' }), '7'],
    ['impossible DE7 hour', base({ '7': '1123250000' }), '7'],
    ['missing STAN', without('11'), '11'],
    ['short STAN', base({ '11': '42' }), '11'],
    ['local time without local date', without('13'), '13'],
    ['local date without local time', without('12'), '12'],
    ['MCC of 3 digits', base({ '18': '581' }), '18'],
    ['POS entry mode letters', base({ '22': '0A1' }), '22'],
    ['RRN of 11 characters', base({ '37': '12345678901' }), '37'],
    ['auth code of 7 characters', base({ '38': 'A1B2C3D' }), '38'],
    ['terminal id of 9 characters', base({ '41': 'T12345678' }), '41'],
    ['missing MID', without('42'), '42'],
    ['blank MID', base({ '42': '               ' }), '42'],
    ['DE43 of 41 characters', base({ '43': `${de43('X', 'Y', 'US')} ` }), '43'],
    ['DE43 unknown alpha-2', base({ '43': de43('X', 'Y', 'XX') }), '43'],
    ['DE43 unknown numeric', base({ '43': `${'X'.padEnd(25)}${'Y'.padEnd(12)}999` }), '43'],
    ['DE43 blank name', base({ '43': de43('', 'OAKLAND', 'US') }), '43'],
    ['missing currency', without('49'), '49'],
    ['alpha currency in DE49', base({ '49': 'USD' }), '49'],
    ['unknown numeric currency', base({ '49': '001' }), '49'],
    ['"no currency" 999 (XXX)', base({ '49': '999' }), '49'],
    ['the testing code 963 (XTS)', base({ '49': '963' }), '49'],
    ['gold 959 (XAU)', base({ '49': '959' }), '49'],
    ['DE90 of 41 digits', base({ mti: '0400', '90': '1'.repeat(41) }), '90'],
    ['DE90 naming a reversal', base({ mti: '0400', '90': de90('0400', '000042', '1123161502') }), '90'],
    ['DE90 with an impossible date', base({ mti: '0400', '90': de90('0100', '000042', '1399161502') }), '90'],
    ['an amount as a number', base({ '4': 475 }), '4'],
    ['a data element past 128', base({ '129': 'x' }), '129'],
    ['a key that is no data element', base({ amount: '475' }), 'amount'],
  ])('rejects %s on data element "%s"', (_label, message, path) => {
    expect(errorsOf(message).map((e) => e.path)).toContain(path);
  });

  it('reports every bad data element at once', () => {
    const paths = errorsOf(base({ '4': 'x', '49': '1', '11': '' })).map((e) => e.path);
    expect(paths.sort()).toEqual(['11', '4', '49']);
  });

  it('never repeats the PAN in an error', () => {
    const badLuhn = '4111111111111112';
    const errors = errorsOf(base({ '2': badLuhn, '4': 'x' }));
    expect(errors).toContainEqual({ path: '2', message: expect.stringContaining('Luhn') });
    expect(JSON.stringify(errors)).not.toContain(badLuhn);
    expect(JSON.stringify(errorsOf(base({ '2': PAN, '3': 'x' })))).not.toContain(PAN);
  });

  it('refuses what is not an object', () => {
    for (const value of [null, 'x', 42, [base()]]) expect(errorsOf(value)[0]?.path).toBe('(message)');
  });

  it('never throws, whatever it is given (property)', () => {
    const element = fc.oneof(fc.string(), fc.integer(), fc.constant(null), fc.stringMatching(/^\d{1,44}$/));
    const keys = fc.constantFrom(
      'mti',
      '2',
      '3',
      '4',
      '7',
      '11',
      '12',
      '13',
      '18',
      '22',
      '41',
      '42',
      '43',
      '49',
      '90',
      '95',
    );
    fc.assert(
      fc.property(fc.dictionary(keys, element), fc.anything(), (partial, anything) => {
        expect(() => convertIso8583({ ...base(), ...partial }, NOW)).not.toThrow();
        expect(() => convertIso8583(anything, NOW)).not.toThrow();
      }),
    );
  });

  it('always produces what POST /v1/events accepts (property)', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('0100', '0200', '0220', '0320', '0400', '0420'),
        fc.constantFrom('000000', '200000', '090000'),
        fc.integer({ min: 1, max: 999_999_999_999 }),
        fc.constantFrom('840', '978', '392', '124', '484'),
        fc.constantFrom('001', '051', '071', '812', '101', '902'),
        (mti, code, amount, currency, pos) => {
          const event = ok(
            base({ mti, '3': code, '4': String(amount).padStart(12, '0'), '49': currency, '22': pos }),
          );
          const parsed = CardEventInput.safeParse(event);
          expect(parsed.error?.issues ?? []).toEqual([]);
        },
      ),
    );
  });

  it('uses an id /v1/events accepts even with odd characters in DE41/DE42', () => {
    const event = ok(base({ '41': 'T 1:A', '42': 'M/1 2' }));
    expect(event.id).toBe(iso8583EventId('0100', '1123161502', '000042', 'T 1:A', 'M/1 2'));
    expect(event.id).not.toMatch(/\s/);
    expect(CardEventInput.safeParse(event).success).toBe(true);
  });
});
