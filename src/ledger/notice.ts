/**
 * One webhook to send about an effect: `type` is a delivery type of the contract (`cashback.pending`,
 * `points.reversed`, …) and `result` what the payload's data adds to the transaction's (`{amount, currency}`…).
 */
export interface Notice {
  type: string;
  result: Record<string, unknown>;
}
