/**
 * A notice: one webhook to send about an effect. `type` is a CONTRACT.md delivery type (`receipt.created`,
 * `coupon.issued`, `cashback.pending`, …); `result` is merged into the delivery's `data` beside the
 * transaction's (`transactionData`).
 */
export interface Notice {
  type: string;
  result: Record<string, unknown>;
}
