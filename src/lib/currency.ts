import { z } from '@hono/zod-openapi';

const ISO_4217: ReadonlySet<string> = new Set(Intl.supportedValuesOf('currency'));

/** True for an ISO 4217 alpha-3 code in capitals ("USD"). */
export const isCurrencyCode = (code: string): boolean => ISO_4217.has(code);

/** A currency field: the format first (aborting, so "usd" gets one message), then the ISO 4217 list. */
export const CurrencyCode = z
  .string()
  .regex(/^[A-Z]{3}$/, { abort: true, message: 'must be an ISO 4217 alpha-3 code in capitals' })
  .refine(isCurrencyCode, 'is not an ISO 4217 currency')
  .openapi({ example: 'USD' });
