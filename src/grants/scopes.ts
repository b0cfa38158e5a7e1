/** What a user can grant an app; a trigger's action needs the matching scope. */
export const SCOPES = ['transactions', 'receipts', 'loyalty', 'cashback', 'coupons', 'social'] as const;
export type Scope = (typeof SCOPES)[number];

export const SCOPE_DESCRIPTIONS: Record<Scope, string> = {
  transactions: 'Be notified when you pay with your enrolled cards',
  receipts: 'Receive digital receipts of your purchases',
  loyalty: 'Earn and track loyalty points on your purchases',
  cashback: 'Earn cashback on your purchases',
  coupons: 'Send you coupons based on your purchases',
  social: 'Post about your purchases on your behalf',
};
