import { SOCIAL_POST_PLACEHOLDER, type SocialPostField } from '../rules/dsl.ts';
import { minorDigits } from '../rules/reward.ts';
import type { PurchaseEvent } from './context.ts';

const HTML_ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** Text made safe to place in HTML, in an element or a quoted attribute. */
export const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (char) => HTML_ESCAPES[char]!);

/** Minor units as a money string for people: 475 USD → `$4.75`, 1200 JPY → `¥1,200`. */
export function formatMoney(amount: number, currency: string): string {
  return new Intl.NumberFormat('en-US', { style: 'currency', currency }).format(
    amount / 10 ** minorDigits(currency),
  );
}

/**
 * A social post template with its `{{field}}`s filled from the purchase. The values are HTML-escaped (a
 * merchant's name comes from a card network and must not put markup into the page the app shows it on); the
 * template's own text is the app's, kept as written. Saving a trigger refused every unknown field already.
 */
export function renderSocialPost(template: string, event: PurchaseEvent): string {
  const values: Record<SocialPostField, string> = {
    'merchant.name': event.merchant.name ?? '',
    'merchant.city': event.merchant.city ?? '',
    'merchant.country': event.merchant.country ?? '',
    amount: formatMoney(event.amount, event.currency),
    currency: event.currency,
  };
  return template.replace(SOCIAL_POST_PLACEHOLDER, (_, field: string) =>
    escapeHtml(values[field as SocialPostField] ?? ''),
  );
}
