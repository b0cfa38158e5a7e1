import type { z } from '@hono/zod-openapi';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
import { CardKeys } from '../../src/cards/card-keys.ts';
import { holdsCardNumber } from '../../src/cards/card-numbers.ts';
import { luhnValid } from '../../src/cards/pan.ts';
import { guardCardNumbers } from '../../src/ingest/card-number-guard.ts';
import { fastParseCardEvent, isTrimmed } from '../../src/ingest/fast-validate.ts';
import { CardEventInput, TEXT_MAX } from '../../src/ingest/schema.ts';
import { ENTRY_MODES, EVENT_TYPES } from '../../src/lib/payments.ts';

const TEST_KEYS = new CardKeys('test-key');

// The clock is pinned (off a whole second, so fraction digits decide at the bound): the "at most 24 hours
// ahead" refine reads Date.now() in both paths.
const NOW = Date.parse('2026-11-23T12:00:00.050Z');
const DAY = 24 * 60 * 60 * 1000;
beforeAll(() => {
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(NOW);
});
afterAll(() => {
  vi.useRealTimers();
});

const RUNS = { numRuns: 3000, seed: 20261123 };

/** `body` followed by the digit that makes it pass Luhn. */
function withCheckDigit(body: string): string {
  for (let check = 0; check < 10; check++) if (luhnValid(body + check)) return body + check;
  throw new Error('unreachable');
}

const PAN = '4111111111111111';
const AMEX = '378282246310005';

/** Fast path and zod agree: fast answers null, or exactly what zod's successful parse gives. */
function expectSound(input: unknown): boolean {
  const fast = fastParseCardEvent(input);
  if (fast === null) return false;
  const parsed = CardEventInput.safeParse(input);
  expect(parsed.success).toBe(true);
  expect(fast).toStrictEqual(parsed.data);
  return true;
}

// ---- ordinary valid events ----

const digit = fc.constantFrom(...'0123456789');
const digits = (min: number, max: number) =>
  fc.array(digit, { minLength: min, maxLength: max }).map((d) => d.join(''));
const pan = fc
  .integer({ min: 12, max: 19 })
  .chain((length) => digits(length - 1, length - 1).map(withCheckDigit));
const printable = fc.integer({ min: 0x21, max: 0x7e }).map((code) => String.fromCharCode(code));
const reference = fc.array(printable, { minLength: 1, maxLength: 255 }).map((c) => c.join(''));
const shortReference = fc.array(printable, { minLength: 1, maxLength: 40 }).map((c) => c.join(''));

// Text as processors send it: mostly ASCII with inner spaces, sometimes accents, CJK or an emoji (a pair).
const edgePiece = fc.oneof(
  { arbitrary: fc.constantFrom(...'ABCXYZabcxyz0189#&-./'), weight: 8 },
  { arbitrary: fc.constantFrom('é', 'Ü', 'ß', '東', '京', '😀', 'Ω', 'ñ'), weight: 1 },
);
const innerPiece = fc.oneof({ arbitrary: edgePiece, weight: 5 }, { arbitrary: fc.constant(' '), weight: 1 });
const text = (max: number) =>
  fc
    .tuple(edgePiece, fc.array(innerPiece, { maxLength: Math.min(max, 60) }), edgePiece, fc.boolean())
    .map(([first, inner, last, single]) => {
      if (single) return first;
      let value = first;
      for (const piece of inner) if (value.length + piece.length + last.length <= max) value += piece;
      return value.length + last.length <= max ? value + last : first;
    });

/** `{ key: value }`, `{ key: null }` or `{}`. */
const nullish = <T>(key: string, arbitrary: fc.Arbitrary<T>) =>
  fc.oneof(
    arbitrary.map((value) => ({ [key]: value })),
    fc.constant({ [key]: null }),
    fc.constant({}),
  );

const pad2 = (n: number) => String(n).padStart(2, '0');
const timestamp = fc
  .record({
    at: fc.integer({ min: Date.UTC(2000, 0, 1) + 14 * 3600_000, max: NOW + DAY - 1000 }),
    offset: fc.oneof(fc.constant(null), fc.integer({ min: -12 * 60, max: 14 * 60 })),
    fraction: fc.oneof(
      fc.constant(''),
      digits(1, 9).map((d) => `.${d}`),
    ),
  })
  .map(({ at, offset, fraction }) => {
    const local = new Date(at + (offset ?? 0) * 60_000).toISOString().slice(0, 19);
    if (offset === null) return `${local}${fraction}Z`;
    const abs = Math.abs(offset);
    return `${local}${fraction}${offset < 0 ? '-' : '+'}${pad2(Math.floor(abs / 60))}:${pad2(abs % 60)}`;
  });

const merchant = fc
  .tuple(
    text(TEXT_MAX.mid),
    nullish('name', text(TEXT_MAX.name)),
    nullish('mcc', digits(4, 4)),
    nullish('city', text(TEXT_MAX.city)),
    nullish('region', text(TEXT_MAX.region)),
    nullish('postal_code', text(TEXT_MAX.postal_code)),
    nullish('country', fc.constantFrom('US', 'GB', 'DE', 'JP', 'FR')),
    nullish('terminal_id', text(TEXT_MAX.terminal_id)),
  )
  .map(([mid, ...rest]) => Object.assign({ mid }, ...rest) as Record<string, unknown>);

const validEvent = fc
  .tuple(
    reference,
    fc.constantFrom(...EVENT_TYPES),
    timestamp,
    fc.oneof(
      pan.map((p) => ({ pan: p })),
      shortReference.map((t) => ({ token: t })),
    ),
    fc.oneof(fc.integer({ min: 0, max: 100_000 }), fc.maxSafeNat()),
    fc.constantFrom(...Intl.supportedValuesOf('currency')),
    merchant,
    nullish('auth_code', text(TEXT_MAX.auth_code)),
    nullish('rrn', text(TEXT_MAX.rrn)),
    nullish('entry_mode', fc.constantFrom(...ENTRY_MODES)),
    nullish('original_id', reference),
  )
  .map(([id, type, occurred_at, card, amount, currency, merchant, ...rest]) => {
    const event: Record<string, unknown> = Object.assign(
      { id, type, occurred_at, card, amount, currency, merchant },
      ...rest,
    );
    if (type === 'authorization' && event.original_id != null) event.original_id = null;
    return event;
  });

test('every ordinary valid event takes the fast path, with exactly the data zod gives', () => {
  fc.assert(
    fc.property(validEvent, (event) => {
      const parsed = CardEventInput.safeParse(event);
      expect(parsed.success).toBe(true);
      expect(fastParseCardEvent(event)).toStrictEqual(parsed.data);
    }),
    RUNS,
  );
});

// ---- mutated events ----

const repeat = (n: number) => 'a'.repeat(n);
const lengths = [
  0, 1, 11, 12, 13, 19, 20, 23, 24, 25, 63, 64, 65, 99, 100, 101, 199, 200, 201, 254, 255, 256,
];

function spread(panDigits: string): string[] {
  const groups = panDigits.match(/.{1,4}/g) ?? [];
  return [
    panDigits,
    groups.join(' '),
    groups.join('-'),
    `x${groups.join('.')}y`,
    `${panDigits.slice(0, 6)}\u00a0${panDigits.slice(6)}`,
    `ref${panDigits}`,
    panDigits.slice(1),
  ];
}

/** Timestamps within 1.5 s of 2000 or of now + 24 h, with 0 to 9 fraction digits and any offset. */
const nearBoundary = fc
  .record({
    at: fc.constantFrom(Date.UTC(2000, 0, 1), NOW + DAY),
    delta: fc.integer({ min: -1500, max: 1500 }),
    offset: fc.oneof(fc.constant(null), fc.integer({ min: -12 * 60 - 1, max: 14 * 60 + 1 })),
    kept: fc.integer({ min: 0, max: 3 }),
    extra: digits(0, 6),
  })
  .map(({ at, delta, offset, kept, extra }) => {
    const local = new Date(at + delta + (offset ?? 0) * 60_000).toISOString();
    const fraction = local.slice(20, 20 + kept) + extra;
    const stamp = `${local.slice(0, 19)}${fraction ? `.${fraction}` : ''}`;
    if (offset === null) return `${stamp}Z`;
    const abs = Math.abs(offset);
    return `${stamp}${offset < 0 ? '-' : '+'}${pad2(Math.floor(abs / 60))}:${pad2(abs % 60)}`;
  });

/** Values that break, bend or stress a field; `pan` is the event's own (for copies of it). */
function oddValues(panDigits: string): fc.Arbitrary<unknown> {
  const strings = [
    '',
    ' ',
    'x',
    ' x',
    'x ',
    '\tx',
    'x\n',
    '\u00a0x',
    'x\u3000',
    '\ufeffx',
    'x\u2028',
    'x\u180e',
    'a\u0000b',
    'a\u007fb',
    'a\u0085b',
    '\u009f',
    'a\u00a0b',
    'Café',
    '日本',
    '😀',
    '\ud800',
    'a\udc00b',
    '\ud800\ud800\udc00',
    '\ud83d\ude00\ud83d',
    ...lengths.flatMap((n) => [
      repeat(n),
      ` ${repeat(n)}`,
      `${repeat(Math.max(0, n - 1))}é`,
      `${repeat(Math.max(0, n - 2))}😀`,
    ]),
    ...spread(panDigits),
    `tok_${panDigits}`,
    `${panDigits}${panDigits}`,
    `${PAN}0000${AMEX}`,
    '1'.repeat(38),
    withCheckDigit('4'.repeat(18)) + withCheckDigit('5'.repeat(11)),
    'authorization',
    'clearing',
    'capture',
    'Authorization',
    'chip',
    'CHIP',
    'USD',
    'usd',
    'XXX',
    'ABC',
    'US',
    'USDD',
    'us',
    'USA',
    '5814',
    '581',
    '58144',
    '58a4',
    '2026-11-23T08:15:02-08:00',
    '2026-11-23T08:15:02.123Z',
    '2026-11-23T08:15:02z',
    '2026-11-23T08:15Z',
    '2026-11-23T08:15:02.Z',
    '2026-11-23 08:15:02Z',
    '2026-11-23T24:00:00Z',
    '2026-11-23T23:60:00Z',
    '2026-11-23T23:59:60Z',
    '2026-11-23T08:15:02+0800',
    '2026-11-23T08:15:02+08',
    ' 2026-11-23T08:15:02Z',
    '2026-02-29T00:00:00Z',
    '2024-02-29T00:00:00Z',
    '2000-02-29T00:00:00Z',
    '2100-02-29T00:00:00Z',
    '2026-04-31T00:00:00Z',
    '2026-13-01T00:00:00Z',
    '2026-00-01T00:00:00Z',
    '2026-01-00T00:00:00Z',
    '1999-12-31T23:59:59.999Z',
    '2000-01-01T00:00:00Z',
    '1999-12-31T19:00:00-05:00',
    '2000-01-01T04:59:59-05:00',
    '+02026-11-23T08:15:02Z',
    new Date(NOW + DAY).toISOString(),
    new Date(NOW + DAY + 1).toISOString(),
    new Date(NOW + DAY - 1).toISOString(),
    '2026-11-24T12:00:00.0009Z',
    '2026-11-24T12:00:00.001Z',
    '2026-11-24T12:00:00.0011Z',
    '2026-11-25T01:59:59+14:00',
    '2026-11-25T02:00:00+14:00',
    '2026-11-23T08:15:02-12:00',
    '2026-11-23T08:15:02-12:01',
    '2026-11-23T08:15:02+14:00',
    '2026-11-23T08:15:02+14:01',
    '2026-11-23T08:15:02-00:00',
    '2026-11-23T08:15:02+00:00',
    '2026-11-23T08:15:02+23:59',
    '2026-11-23T08:15:02-23:59',
    '2026-11-23T08:15:02+24:00',
    '2026-11-23T08:15:02+05:60',
    '2026-11-23T08:15:02.123456789123456789Z',
  ];
  return fc.oneof(
    { arbitrary: fc.constantFrom(...strings), weight: 12 },
    {
      arbitrary: fc.constantFrom(
        undefined,
        null,
        0,
        -0,
        -1,
        1.5,
        Number.NaN,
        Number.POSITIVE_INFINITY,
        Number.MAX_SAFE_INTEGER,
        2 ** 53,
        true,
        [],
        {},
        ['x'],
        { pan: PAN },
        { token: 'tok' },
        { pan: PAN, token: 'tok' },
        { pan: undefined, token: 'tok' },
        { token: undefined, pan: PAN },
        { pan: PAN, extra: 1 },
        { pan: `${PAN} ` },
        { pan: '4111111111111112' },
        { pan: 4111111111111111 },
        { mid: 'm' },
        { mid: ' m' },
        new Date(NOW),
        Object.assign(Object.create(null), { pan: PAN }),
      ),
      weight: 4,
    },
    { arbitrary: nearBoundary, weight: 3 },
    { arbitrary: fc.string(), weight: 1 },
    { arbitrary: fc.string({ unit: 'binary' }), weight: 1 },
    { arbitrary: fc.string({ unit: fc.constantFrom(...' 0123456789-') }), weight: 1 },
    { arbitrary: fc.integer(), weight: 1 },
    { arbitrary: fc.double(), weight: 1 },
    { arbitrary: fc.anything(), weight: 1 },
  );
}

const TOP_KEYS = [
  'id',
  'type',
  'occurred_at',
  'card',
  'amount',
  'currency',
  'merchant',
  'auth_code',
  'rrn',
  'entry_mode',
  'original_id',
  'extra',
];
const MERCHANT_KEYS = [
  'mid',
  'name',
  'mcc',
  'city',
  'region',
  'postal_code',
  'country',
  'terminal_id',
  'extra',
];
const CARD_KEYS = ['pan', 'token', 'extra'];

type Mutation =
  | { where: 'top' | 'merchant' | 'card'; key: string; op: 'delete' }
  | { where: 'top' | 'merchant' | 'card'; key: string; op: 'set'; value: unknown }
  | { where: 'whole'; op: 'null-prototype' | 'inherited' | 'json-proto' | 'array' };

const mutation = (panDigits: string): fc.Arbitrary<Mutation> =>
  fc
    .oneof(
      { arbitrary: fc.constantFrom('top' as const, 'merchant' as const, 'card' as const), weight: 20 },
      { arbitrary: fc.constant('whole' as const), weight: 1 },
    )
    .chain((where): fc.Arbitrary<Mutation> => {
      if (where === 'whole') {
        return fc
          .constantFrom(
            'null-prototype' as const,
            'inherited' as const,
            'json-proto' as const,
            'array' as const,
          )
          .map((op) => ({ where, op }));
      }
      const keys = where === 'top' ? TOP_KEYS : where === 'merchant' ? MERCHANT_KEYS : CARD_KEYS;
      return fc.oneof(
        fc.constantFrom(...keys).map((key) => ({ where, key, op: 'delete' as const })),
        fc
          .tuple(fc.constantFrom(...keys), oddValues(panDigits))
          .map(([key, value]) => ({ where, key, op: 'set' as const, value })),
      );
    });

function applyMutations(event: Record<string, unknown>, mutations: Mutation[]): unknown {
  let result: unknown = {
    ...event,
    card: { ...(event.card as object) },
    merchant: { ...(event.merchant as object) },
  };
  for (const m of mutations) {
    const target = result as Record<string, unknown>;
    if (m.where === 'whole') {
      if (m.op === 'null-prototype') result = Object.assign(Object.create(null), target);
      else if (m.op === 'inherited') result = Object.assign(Object.create({ auth_code: 'x' }), target);
      else if (m.op === 'json-proto') result = Object.assign(JSON.parse('{"__proto__": {"a": 1}}'), target);
      else result = Object.assign([], target);
      continue;
    }
    const holder = m.where === 'top' ? target : target[m.where];
    if (typeof holder !== 'object' || holder === null) continue;
    const record = holder as Record<string, unknown>;
    if (m.op === 'delete') delete record[m.key];
    else record[m.key] = m.value;
  }
  return result;
}

const mutatedEvent = validEvent.chain((event) => {
  const card = event.card as { pan?: string };
  return fc
    .array(mutation(card.pan ?? PAN), { minLength: 1, maxLength: 4 })
    .map((mutations) => applyMutations(event, mutations));
});

test('whatever the mutation, the fast path answers only when zod accepts, and with zod’s data', () => {
  const seen = { fast: 0, deferred: 0 };
  fc.assert(
    fc.property(mutatedEvent, (input) => {
      if (expectSound(input)) seen.fast++;
      else seen.deferred++;
    }),
    { numRuns: 10_000, seed: 20261124 },
  );
  // Neither side is vacuous: some mutations keep the event valid, most do not.
  expect(seen.fast).toBeGreaterThan(250);
  expect(seen.deferred).toBeGreaterThan(2500);
});

test('timestamps near the bounds are read as Date.parse reads them', () => {
  fc.assert(
    fc.property(validEvent, nearBoundary, (event, occurred_at) => {
      const input = { ...event, occurred_at };
      const fast = fastParseCardEvent(input);
      expect(fast !== null).toBe(CardEventInput.safeParse(input).success);
      expectSound(input);
    }),
    RUNS,
  );
});

test('the event’s own PAN copied anywhere, spread by any characters: both parsers agree, the guard refuses or hashes it', () => {
  // Hashed only in a reference where it reads as a card number by itself (the hash depends on the value alone).
  const fields = fc.constantFrom(
    ['top', 'id'],
    ['top', 'original_id'],
    ['top', 'auth_code'],
    ['top', 'rrn'],
    ['merchant', 'mid'],
    ['merchant', 'name'],
    ['merchant', 'city'],
    ['merchant', 'region'],
    ['merchant', 'postal_code'],
    ['merchant', 'terminal_id'],
  );
  const hashed = new Set(['id', 'original_id', 'rrn', 'mid']);
  const separator = fc.constantFrom('', ' ', '-', '.', '/', 'x');
  fc.assert(
    fc.property(
      validEvent,
      pan,
      fields,
      separator,
      fc.boolean(),
      (event, panDigits, [where, key], sep, pad) => {
        const copy = `${pad ? 'n' : ''}${panDigits.split('').join(sep)}`;
        const input = {
          ...event,
          type: 'clearing',
          card: { pan: panDigits },
          merchant: { ...(event.merchant as object) },
        } as Record<string, unknown> & { merchant: Record<string, unknown> };
        (where === 'top' ? input : input.merchant)[key!] = copy;
        const fast = fastParseCardEvent(input);
        const parsed = CardEventInput.safeParse(input);
        if (fast !== null) expect(fast).toStrictEqual(parsed.data);
        if (!parsed.success) return; // too long for the field: refused for that
        const path = where === 'top' ? key! : `merchant.${key}`;
        const guarded = guardCardNumbers(parsed.data, TEST_KEYS);
        if (hashed.has(key!) && holdsCardNumber(copy)) {
          expect(guarded.ok).toBe(true);
          const stored = guarded.ok ? guarded.event : undefined;
          const value = where === 'top' ? stored?.[key as 'id'] : stored?.merchant[key as 'mid'];
          expect(value).toMatch(/^hmac_/);
        } else {
          expect(guarded).toEqual({
            ok: false,
            errors: [{ path, message: 'must not contain a card number' }],
          });
        }
      },
    ),
    RUNS,
  );
});

test("any card's number in the merchant's name, city or region: both parsers agree, the guard refuses it", () => {
  const where = fc.constantFrom('name', 'city', 'region');
  const grouping = fc.constantFrom('', ' ', '-', '.');
  fc.assert(
    fc.property(validEvent, pan, where, grouping, fc.boolean(), (event, other, key, sep, luhn) => {
      // Another card's number (the event's own is `event.card`), whole or in groups of four; or, as a control,
      // the same digits with a wrong check digit, which must pass.
      const digits = luhn ? other : `${other.slice(0, -1)}${(Number(other.at(-1)) + 1) % 10}`;
      const written = digits.match(/.{1,4}/g)!.join(sep);
      const input = { ...event, merchant: { ...(event.merchant as object), [key]: `SHOP ${written} X` } };
      const fast = fastParseCardEvent(input);
      const parsed = CardEventInput.safeParse(input);
      expect(parsed.success).toBe(true);
      if (fast !== null) expect(fast).toStrictEqual(parsed.data);
      const guarded = guardCardNumbers(parsed.data!, TEST_KEYS);
      if (luhn) {
        expect(guarded.ok).toBe(false);
        expect(!guarded.ok && guarded.errors).toContainEqual({
          path: `merchant.${key}`,
          message: 'must not contain a card number',
        });
      } else {
        expect(guarded).toEqual({ ok: true, event: parsed.data });
      }
    }),
    RUNS,
  );
});

// ---- helpers against their reference ----

test('isTrimmed names exactly the code units String.prototype.trim removes', () => {
  for (let code = 0; code <= 0xffff; code++) {
    const char = String.fromCharCode(code);
    expect(isTrimmed(code), code.toString(16)).toBe(char.trim() === '');
  }
});

// ---- one case per rule ----

// One valid value for every field of the event, typed over the schema: a field added to CardEventInput
// without a value here does not compile, and 'the base event' case below then checks that the fast path
// reads it exactly as zod does.
type Sample<T> = { [K in keyof T]-?: NonNullable<T[K]> extends object ? Sample<NonNullable<T[K]>> : T[K] };
const EVERY_FIELD: Omit<Sample<z.input<typeof CardEventInput>>, 'card'> & { card: { pan: string } } = {
  id: 'evt-1',
  type: 'clearing',
  occurred_at: '2026-11-23T08:15:02-08:00',
  card: { pan: PAN },
  amount: 475,
  currency: 'USD',
  merchant: {
    mid: '000123',
    name: 'BLUE BOTTLE COFFEE',
    mcc: '5814',
    city: 'Oakland',
    region: 'CA',
    postal_code: '94607',
    country: 'US',
    terminal_id: 'T1',
  },
  auth_code: 'A1B2C3',
  rrn: '123456789012',
  entry_mode: 'contactless',
  original_id: 'auth-1',
};

const base = () => {
  const event = structuredClone(EVERY_FIELD);
  return {
    ...event,
    // Loosened: the cases below write what the schema does not allow.
    type: event.type as string,
    entry_mode: event.entry_mode as string | null,
    card: event.card as Record<string, unknown>,
    merchant: event.merchant as Record<string, unknown>,
    original_id: event.original_id as unknown,
  };
};
type Event = ReturnType<typeof base>;

// accepted: fast answers, equal to zod. refused: fast null, zod refuses. deferred: valid, but left to zod.
const cases: [string, 'accepted' | 'refused' | 'deferred', (e: Event) => void][] = [
  ['the base event', 'accepted', () => {}],
  ['a token instead of a PAN', 'accepted', (e) => (e.card = { token: 'tok_abc123' })],
  [
    'every optional field absent',
    'accepted',
    (e) => {
      e.merchant = { mid: 'm' };
      for (const key of ['auth_code', 'rrn', 'entry_mode', 'original_id'] as const) delete e[key];
    },
  ],
  [
    'every optional field null',
    'accepted',
    (e) => {
      for (const key of ['name', 'mcc', 'city', 'region', 'postal_code', 'country', 'terminal_id'])
        e.merchant[key] = null;
      Object.assign(e, { auth_code: null, rrn: null, entry_mode: null, original_id: null });
    },
  ],
  [
    'unknown keys (stripped)',
    'accepted',
    (e) => {
      Object.assign(e, { extra: 1, __proto__x: 2 });
      e.merchant.extra = 'x';
    },
  ],
  [
    'an explicit undefined (zod keeps the key)',
    'deferred',
    (e) => Object.assign(e, { auth_code: undefined }),
  ],
  ['an id of 255 printable characters', 'accepted', (e) => (e.id = '~'.repeat(255))],
  ['an id of 256 characters', 'refused', (e) => (e.id = 'a'.repeat(256))],
  ['an empty id', 'refused', (e) => (e.id = '')],
  ['an id with a space', 'refused', (e) => (e.id = 'evt 1')],
  ['an id with non-ASCII', 'refused', (e) => (e.id = 'évt')],
  ['a numeric id', 'refused', (e) => Object.assign(e, { id: 1 })],
  ['an unknown type', 'refused', (e) => (e.type = 'capture')],
  ['an authorization with original_id', 'refused', (e) => (e.type = 'authorization')],
  [
    'an authorization with original_id null',
    'accepted',
    (e) => Object.assign(e, { type: 'authorization', original_id: null }),
  ],
  [
    'an authorization without original_id',
    'accepted',
    (e) => {
      e.type = 'authorization';
      delete (e as Partial<Event>).original_id;
    },
  ],
  ['original_id of 256 characters', 'refused', (e) => (e.original_id = 'a'.repeat(256))],
  ['original_id empty', 'refused', (e) => (e.original_id = '')],
  ['UTC with Z and a fraction', 'accepted', (e) => (e.occurred_at = '2026-11-23T08:15:02.123456Z')],
  ['lower-case z', 'refused', (e) => (e.occurred_at = '2026-11-23T08:15:02z')],
  ['no seconds', 'refused', (e) => (e.occurred_at = '2026-11-23T08:15Z')],
  [
    '24 hours ahead with a dropped fourth fraction digit',
    'accepted',
    (e) => (e.occurred_at = '2026-11-24T12:00:00.0009Z'),
  ],
  [
    '24 hours and 100 ms ahead (one fraction digit)',
    'refused',
    (e) => (e.occurred_at = '2026-11-24T12:00:00.1Z'),
  ],
  ['2000 minus 10 ms (two fraction digits)', 'refused', (e) => (e.occurred_at = '1999-12-31T23:59:59.99Z')],
  ['a year before 1000', 'refused', (e) => (e.occurred_at = '0099-01-01T00:00:00Z')],
  ['a dot without fraction digits', 'refused', (e) => (e.occurred_at = '2026-11-23T08:15:02.Z')],
  ['no zone', 'refused', (e) => (e.occurred_at = '2026-11-23T08:15:02')],
  ['February 29 of a leap year', 'accepted', (e) => (e.occurred_at = '2024-02-29T00:00:00Z')],
  ['February 29 of 2000', 'accepted', (e) => (e.occurred_at = '2000-02-29T00:00:00Z')],
  ['February 29 of another year', 'refused', (e) => (e.occurred_at = '2026-02-29T00:00:00Z')],
  ['April 31', 'refused', (e) => (e.occurred_at = '2026-04-31T00:00:00Z')],
  ['hour 24', 'refused', (e) => (e.occurred_at = '2026-11-23T24:00:00Z')],
  ['before 2000', 'refused', (e) => (e.occurred_at = '1999-12-31T23:59:59.999Z')],
  ['2000 exactly, stated in New York', 'accepted', (e) => (e.occurred_at = '1999-12-31T19:00:00-05:00')],
  ['24 hours ahead exactly', 'accepted', (e) => (e.occurred_at = new Date(NOW + DAY).toISOString())],
  ['24 hours and 1 ms ahead', 'refused', (e) => (e.occurred_at = new Date(NOW + DAY + 1).toISOString())],
  ['offset -12:00', 'accepted', (e) => (e.occurred_at = '2026-11-23T08:15:02-12:00')],
  ['offset -12:01', 'refused', (e) => (e.occurred_at = '2026-11-23T08:15:02-12:01')],
  ['offset +14:00', 'accepted', (e) => (e.occurred_at = '2026-11-23T08:15:02+14:00')],
  ['offset +14:01', 'refused', (e) => (e.occurred_at = '2026-11-23T08:15:02+14:01')],
  ['offset -00:00', 'accepted', (e) => (e.occurred_at = '2026-11-23T08:15:02-00:00')],
  ['offset without colon', 'refused', (e) => (e.occurred_at = '2026-11-23T08:15:02+0800')],
  ['a 12-digit PAN', 'accepted', (e) => (e.card = { pan: withCheckDigit('50000000000') })],
  ['a 19-digit PAN', 'accepted', (e) => (e.card = { pan: withCheckDigit('600000000000000000') })],
  ['a PAN failing Luhn', 'refused', (e) => (e.card = { pan: '4111111111111112' })],
  ['an 11-digit PAN', 'refused', (e) => (e.card = { pan: withCheckDigit('4000000000') })],
  ['a PAN with spaces', 'refused', (e) => (e.card = { pan: '4111 1111 1111 1111' })],
  ['a numeric PAN', 'refused', (e) => (e.card = { pan: 4111111111111111 })],
  ['both pan and token', 'refused', (e) => (e.card = { pan: PAN, token: 'tok' })],
  ['neither pan nor token', 'refused', (e) => (e.card = {})],
  ['an unknown card key (strict)', 'refused', (e) => (e.card = { token: 'tok', last4: '1111' })],
  ['a card with an explicit undefined pan', 'deferred', (e) => (e.card = { pan: undefined, token: 'tok' })],
  ['a token holding a PAN', 'refused', (e) => (e.card = { token: `tok_${PAN}` })],
  [
    'a token holding a PAN after 19 digits',
    'refused',
    (e) => (e.card = { token: `${'1'.repeat(19)}${AMEX}` }),
  ],
  ['a token with a long non-card run', 'accepted', (e) => (e.card = { token: `tok_${'1'.repeat(25)}` })],
  ['a token with a space', 'refused', (e) => (e.card = { token: 'tok 1' })],
  ['a token of 256 characters', 'refused', (e) => (e.card = { token: 't'.repeat(256) })],
  ['amount 0', 'accepted', (e) => (e.amount = 0)],
  ['amount MAX_SAFE_INTEGER', 'accepted', (e) => (e.amount = Number.MAX_SAFE_INTEGER)],
  ['amount 2^53', 'refused', (e) => (e.amount = 2 ** 53)],
  ['a negative amount', 'refused', (e) => (e.amount = -1)],
  ['a fractional amount', 'refused', (e) => (e.amount = 4.75)],
  ['amount NaN', 'refused', (e) => (e.amount = Number.NaN)],
  ['amount Infinity', 'refused', (e) => (e.amount = Number.POSITIVE_INFINITY)],
  ['amount as a string', 'refused', (e) => Object.assign(e, { amount: '475' })],
  ['currency JPY', 'accepted', (e) => (e.currency = 'JPY')],
  ['currency in lower case', 'refused', (e) => (e.currency = 'usd')],
  ['currency not in ISO 4217', 'refused', (e) => (e.currency = 'ABC')],
  ['merchant text of the longest length', 'accepted', (e) => (e.merchant.name = 'n'.repeat(TEXT_MAX.name))],
  ['merchant text one too long', 'refused', (e) => (e.merchant.name = 'n'.repeat(TEXT_MAX.name + 1))],
  [
    'an emoji counted as one code point at the limit',
    'accepted',
    (e) => (e.merchant.postal_code = `${'1'.repeat(19)}😀`),
  ],
  [
    'an emoji one code point over the limit',
    'refused',
    (e) => (e.merchant.postal_code = `${'1'.repeat(20)}😀`),
  ],
  ['emoji filling the limit in pairs', 'accepted', (e) => (e.merchant.postal_code = '😀'.repeat(20))],
  ['emoji one over the limit in pairs', 'refused', (e) => (e.merchant.postal_code = '😀'.repeat(21))],
  ['non-ASCII text', 'accepted', (e) => (e.merchant.name = 'Café Ümlaut 東京')],
  ['text needing a trim', 'deferred', (e) => (e.merchant.name = ' BLUE BOTTLE ')],
  ['text trimmed into the limit', 'deferred', (e) => (e.auth_code = ` ${'A'.repeat(TEXT_MAX.auth_code)} `)],
  ['text that is only spaces', 'refused', (e) => (e.merchant.city = '   ')],
  ['an empty mid', 'refused', (e) => (e.merchant.mid = '')],
  ['no mid', 'refused', (e) => delete e.merchant.mid],
  ['a NUL in text', 'refused', (e) => (e.merchant.name = 'BLUE\u0000BOTTLE')],
  ['a C1 control in text', 'refused', (e) => (e.merchant.name = 'BLUE\u0085BOTTLE')],
  ['a lone high surrogate', 'refused', (e) => (e.merchant.name = 'BLUE\ud83dBOTTLE')],
  ['a lone low surrogate', 'refused', (e) => (e.merchant.name = 'BLUE\ude00BOTTLE')],
  ['mcc of 3 digits', 'refused', (e) => (e.merchant.mcc = '581')],
  ['mcc as a number', 'refused', (e) => (e.merchant.mcc = 5814)],
  ['country in lower case', 'refused', (e) => (e.merchant.country = 'us')],
  ['a country code no country has', 'refused', (e) => (e.merchant.country = 'XX')],
  ['an unknown entry mode', 'refused', (e) => (e.entry_mode = 'nfc')],
  ['auth_code too long', 'refused', (e) => (e.auth_code = 'A'.repeat(TEXT_MAX.auth_code + 1))],
  ['rrn at its limit', 'accepted', (e) => (e.rrn = '9'.repeat(TEXT_MAX.rrn))],
  // The event's own PAN in other fields: accepted by both parsers; the guard refuses or hashes it.
  ['the PAN in the id', 'accepted', (e) => (e.id = `evt-${PAN}`)],
  ['the PAN spread out in the merchant name', 'accepted', (e) => (e.merchant.name = '4111 1111-1111 1111')],
  ['the PAN in rrn', 'accepted', (e) => (e.rrn = `0${PAN}`)],
  ['the PAN in original_id', 'accepted', (e) => (e.original_id = `x${PAN}`)],
  ['the PAN in terminal_id', 'accepted', (e) => (e.merchant.terminal_id = `T${PAN}`)],
  [
    'PAN digits in a token event’s reference fields (no PAN to copy)',
    'accepted',
    (e) => {
      e.card = { token: 'tok' };
      e.rrn = `R${PAN}`;
    },
  ],
  [
    // Accepted by both parsers; card-number-guard.ts refuses it (test/ingest/card-number-guard.test.ts).
    'a card number, spread by spaces, in a token event’s merchant name',
    'accepted',
    (e) => {
      e.card = { token: 'tok' };
      e.merchant.name = PAN.split('').join(' ');
    },
  ],
  [
    'another card’s number in the merchant city (the guard’s)',
    'accepted',
    (e) => (e.merchant.city = `X ${AMEX}`),
  ],
  ['a merchant that is an array', 'refused', (e) => Object.assign(e, { merchant: ['m'] })],
];

describe('each rule', () => {
  test.each(cases)('%s: %s', (_name, outcome, mutate) => {
    const event = base();
    mutate(event);
    const fast = fastParseCardEvent(event);
    const parsed = CardEventInput.safeParse(event);
    expect(parsed.success).toBe(outcome !== 'refused');
    if (outcome === 'accepted') expect(fast).toStrictEqual(parsed.data);
    else expect(fast).toBeNull();
  });

  test('an event with an unusual prototype is left to zod; the input is never modified', () => {
    const event = base();
    expect(fastParseCardEvent(Object.assign(Object.create({ rrn: 'x' }), event))).toBeNull();
    const frozen = structuredClone(event);
    fastParseCardEvent(event);
    expect(event).toStrictEqual(frozen);
  });
});
