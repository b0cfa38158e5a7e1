import { z } from '@hono/zod-openapi';
import { holdsCardNumber } from '../cards/card-numbers.ts';
import { CountryCode } from '../lib/country.ts';
import { CurrencyCode } from '../lib/currency.ts';
import { CARD_SCHEMES, ENTRY_MODES, MID_MAX_LENGTH } from '../lib/payments.ts';
import { NO_CONTROL_CHARACTERS } from '../lib/text.ts';

// The trigger DSL of CONTRACT.md ("Apps: triggers"): what an app sends, checked field by field so that every
// nonsense gets a 422 naming it. Every object is strict (an unknown field anywhere is refused), and each
// field stops at its first failed check (one message per problem).

const MAX_LIST = 1000;
const KNOWN_SCHEMES = CARD_SCHEMES.filter((scheme) => scheme !== 'unknown') as [
  'visa',
  'mastercard',
  'amex',
  'discover',
];
const Amount = z.number().int('must be an integer amount in minor units').min(0).max(Number.MAX_SAFE_INTEGER);
const PositiveCount = z.number().int('must be a whole number').min(1).max(1_000_000_000);
/** An RFC 3339 instant with a zone (Z or an offset). */
export const Instant = z.iso
  .datetime({
    offset: true,
    message: 'must be an RFC 3339 date-time with a zone, such as 2026-01-01T00:00:00Z',
  })
  .openapi({ format: 'date-time' });
const LocalClock = z
  .string()
  .regex(/^([01][0-9]|2[0-3]):[0-5][0-9]$/, 'must be a 24-hour local time HH:MM, such as 07:00');

const oneOf = (values: readonly string[]) => `must be one of ${values.join(', ')}`;

// Events' MIDs are trimmed, so a trigger's are too: " 000123 " would otherwise never match.
const Mid = z
  .string()
  .trim()
  .min(1)
  .max(MID_MAX_LENGTH)
  .regex(NO_CONTROL_CHARACTERS, 'must not contain control characters');

const Name = z
  .string()
  .trim()
  .min(1)
  .max(200)
  .regex(NO_CONTROL_CHARACTERS, 'must not contain control characters');

const listOf = <T extends z.ZodType>(item: T) =>
  z
    .array(item)
    .min(1, 'must name at least one value (leave the field out to match any)')
    .max(MAX_LIST)
    .refine((values) => new Set(values.map((v) => JSON.stringify(v))).size === values.length, {
      message: 'must not repeat a value',
      abort: true,
    });

export const EVENT_TYPES_THAT_FIRE = ['authorization', 'clearing'] as const;

export const TriggerMatch = z
  .strictObject({
    event_types: listOf(
      z.enum(EVENT_TYPES_THAT_FIRE, {
        message: 'must be authorization or clearing (refunds and reversals never fire a trigger)',
      }),
    ).optional(),
    merchant_ids: listOf(
      z.string().regex(/^mer_[0-9A-Za-z]{1,60}$/, 'must be a merchant id (mer_…)'),
    ).optional(),
    mids: listOf(Mid).optional(),
    mccs: listOf(z.string().regex(/^[0-9]{4}$/, 'must be a four-digit merchant category code')).optional(),
    merchant_name_contains: z
      .string()
      .trim()
      .min(1)
      .max(100)
      .refine((text) => !holdsCardNumber(text), 'must not contain a card number')
      .optional(),
    countries: listOf(CountryCode).optional(),
    currencies: listOf(CurrencyCode).optional(),
    schemes: listOf(z.enum(KNOWN_SCHEMES, { message: oneOf(KNOWN_SCHEMES) })).optional(),
    entry_modes: listOf(z.enum(ENTRY_MODES, { message: oneOf(ENTRY_MODES) })).optional(),
    amount_min: Amount.optional(),
    amount_max: Amount.optional(),
    days_of_week: listOf(
      z
        .number()
        .int('must be a whole day number')
        .min(1, 'must be 1 (Monday) to 7 (Sunday)')
        .max(7, 'must be 1 (Monday) to 7 (Sunday)'),
    ).optional(),
    local_time: z
      .strictObject({ from: LocalClock, to: LocalClock })
      .refine((window) => window.from !== window.to, {
        message: 'from and to must differ (leave local_time out to match any time)',
        path: ['to'],
      })
      .optional(),
    starts_at: Instant.optional(),
    ends_at: Instant.optional(),
    nth_purchase: z
      .strictObject({
        n: z
          .number()
          .int('must be a whole number')
          .min(2, 'must be at least 2 (use first_purchase for the first)')
          .max(1000),
        window_days: z.number().int('must be a whole number of days').min(1).max(3650).optional(),
        repeat: z.boolean().default(true),
      })
      .optional(),
    first_purchase: z.boolean().optional(),
  })
  .superRefine((match, ctx) => {
    if (
      match.amount_min !== undefined &&
      match.amount_max !== undefined &&
      match.amount_min > match.amount_max
    )
      ctx.addIssue({ code: 'custom', path: ['amount_max'], message: 'must not be below amount_min' });
    if (match.starts_at && match.ends_at && Date.parse(match.ends_at) <= Date.parse(match.starts_at))
      ctx.addIssue({ code: 'custom', path: ['ends_at'], message: 'must be after starts_at' });
    if (match.first_purchase && match.nth_purchase)
      ctx.addIssue({
        code: 'custom',
        path: ['first_purchase'],
        message: 'cannot be combined with nth_purchase',
      });
  })
  .openapi('TriggerMatch', {
    description:
      'Conditions on a purchase; every given field must hold, an absent field matches anything. Days and ' +
      'local_time are read in the local time where the card was used; a local_time window may pass midnight.',
  });

export const TriggerLimits = z
  .strictObject({
    per_card: PositiveCount.optional(),
    per_user_per_day: PositiveCount.optional(),
    total_redemptions: PositiveCount.optional(),
    budget: z.strictObject({ amount: Amount.min(1), currency: CurrencyCode }).optional(),
  })
  .openapi('TriggerLimits');

const AvailableAfterDays = z.number().int('must be a whole number of days').min(0).max(365).default(0);

// Placeholders a social post may use; anything else in {{…}} is refused when the trigger is saved.
export const SOCIAL_POST_FIELDS = [
  'merchant.name',
  'merchant.city',
  'merchant.country',
  'amount',
  'currency',
] as const;

export type SocialPostField = (typeof SOCIAL_POST_FIELDS)[number];

/** A `{{field}}` of a social post template (the field is group 1): what saving checks and rendering fills. */
export const SOCIAL_POST_PLACEHOLDER = /\{\{\s*([^}]*?)\s*\}\}/g;

const placeholderProblem = (template: string): string | undefined => {
  for (const [, field] of template.matchAll(SOCIAL_POST_PLACEHOLDER)) {
    if (!(SOCIAL_POST_FIELDS as readonly string[]).includes(field ?? ''))
      return `has an unknown placeholder; the fields are ${SOCIAL_POST_FIELDS.map((f) => `{{${f}}}`).join(', ')}`;
  }
  return undefined;
};

export const TriggerAction = z
  .discriminatedUnion(
    'type',
    [
      z.strictObject({ type: z.literal('receipt') }),
      z.strictObject({ type: z.literal('webhook') }),
      z
        .strictObject({
          type: z.literal('points'),
          fixed: z.number().int().min(0).max(1_000_000_000).default(0),
          per_unit: z.number().int().min(0).max(1_000_000).default(0),
          available_after_days: AvailableAfterDays,
        })
        .refine((a) => a.fixed > 0 || a.per_unit > 0, {
          message: 'needs fixed or per_unit above 0',
          path: ['fixed'],
        }),
      z
        .strictObject({
          type: z.literal('cashback'),
          percent_bps: z
            .number()
            .int('must be a whole number of basis points')
            .min(1, 'must be 1 to 10,000 basis points')
            .max(10_000, 'must be 1 to 10,000 basis points')
            .optional(),
          fixed: Amount.default(0),
          max: Amount.min(1).optional(),
          available_after_days: AvailableAfterDays,
        })
        .refine((a) => a.percent_bps !== undefined || a.fixed > 0, {
          message: 'needs percent_bps or a fixed amount above 0',
          path: ['percent_bps'],
        })
        .refine((a) => a.max === undefined || a.max >= a.fixed, {
          message: 'must be at least fixed',
          path: ['max'],
        }),
      z.strictObject({
        type: z.literal('coupon'),
        code_prefix: z
          .string({
            error: (issue) =>
              issue.input === undefined
                ? 'is required for a coupon'
                : 'must be 1 to 12 capital letters or digits',
          })
          .regex(/^[A-Z0-9]{1,12}$/, 'must be 1 to 12 capital letters or digits'),
        value: z.strictObject({ amount: Amount.min(1), currency: CurrencyCode }).optional(),
        expires_in_days: z.number().int().min(1).max(3650).optional(),
      }),
      z.strictObject({
        type: z.literal('social_post'),
        template: z
          .string()
          .min(1)
          .max(500)
          .superRefine((template, ctx) => {
            const problem = placeholderProblem(template);
            if (problem) ctx.addIssue({ code: 'custom', message: problem });
          }),
      }),
    ],
    { message: 'type must be one of receipt, points, cashback, coupon, social_post, webhook' },
  )
  .openapi('TriggerAction');

/** The scope a user must grant the app for each action type (CONTRACT.md). */
export const SCOPE_OF_ACTION = {
  receipt: 'receipts',
  points: 'loyalty',
  cashback: 'cashback',
  coupon: 'coupons',
  social_post: 'social',
  webhook: 'transactions',
} as const satisfies Record<z.output<typeof TriggerAction>['type'], string>;

export type ActionType = keyof typeof SCOPE_OF_ACTION;
export const ACTION_TYPES = Object.keys(SCOPE_OF_ACTION) as [ActionType, ...ActionType[]];

export const TRIGGER_STATUSES = ['active', 'paused', 'archived'] as const;

/**
 * Why a budget cannot go with this action, if it cannot: only cashback and a coupon's value in the budget's
 * currency spend from a budget (decide.ts), so on any other action it would never be spent.
 */
export function budgetProblem(
  limits: z.output<typeof TriggerLimits>,
  action: z.output<typeof TriggerAction>,
): string | undefined {
  const { budget } = limits;
  if (!budget || action.type === 'cashback') return undefined;
  if (action.type !== 'coupon')
    return `a ${action.type} action spends nothing, so it cannot have a budget (only cashback and a coupon with a value can)`;
  if (!action.value) return 'a coupon without a value spends nothing, so it cannot have a budget';
  if (action.value.currency !== budget.currency)
    return `must be in the coupon value's currency (${action.value.currency}): only that spends from it`;
  return undefined;
}

/** A trigger as an app creates it. */
export const TriggerInput = z
  .strictObject({
    name: Name,
    status: z.enum(['active', 'paused']).default('active'),
    match: TriggerMatch.default({}),
    limits: TriggerLimits.default({}),
    action: TriggerAction,
  })
  .superRefine((trigger, ctx) => {
    const problem = budgetProblem(trigger.limits, trigger.action);
    if (problem) ctx.addIssue({ code: 'custom', path: ['limits', 'budget'], message: problem });
  })
  .openapi('TriggerInput');

/** A change to a trigger: any top-level part, each replaced whole. */
export const TriggerPatch = z
  .strictObject({
    name: Name.optional(),
    status: z.enum(['active', 'paused']).optional(),
    match: TriggerMatch.optional(),
    limits: TriggerLimits.optional(),
    action: TriggerAction.optional(),
  })
  .openapi('TriggerPatch');

export type TriggerMatch = z.output<typeof TriggerMatch>;
export type TriggerLimits = z.output<typeof TriggerLimits>;
export type TriggerAction = z.output<typeof TriggerAction>;
export type TriggerInput = z.output<typeof TriggerInput>;
export type TriggerPatch = z.output<typeof TriggerPatch>;
export type TriggerStatus = (typeof TRIGGER_STATUSES)[number];
