import { z } from '@hono/zod-openapi';
import countries from 'i18n-iso-countries';

const ALPHA2: ReadonlySet<string> = new Set(Object.keys(countries.getAlpha2Codes()));

/** True for an assigned ISO 3166-1 alpha-2 code in capitals ("US"); a plain set look-up, nothing can throw. */
export const isCountryCode = (code: string): boolean => ALPHA2.has(code);

/**
 * Every country field the API accepts (merchants, event merchants, Stripe's merchant data): one check, so
 * anything else ("USA", "us", "1", an emoji) gets the one message rather than a crash or two messages.
 */
export const CountryCode = z
  .string()
  .refine(isCountryCode, 'must be an ISO 3166-1 alpha-2 country code in capitals, such as US')
  .openapi({ example: 'US' });
