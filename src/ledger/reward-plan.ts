// What a reward should hold given its purchase and the date, and the moves between its buckets that get it there.
// Pure: the verbs in rewards.ts read the facts, and turn the moves into ledger entries and notices.
import type { RewardKind, RewardState } from '../db/schema/index.ts';
import type { Notice } from '../dispatch/notice.ts';

/** Where a reward's points or cashback sit: the user's live buckets, and where taken amounts go. */
export const REWARD_BUCKETS = ['pending', 'available', 'reversed', 'expired'] as const;
export type RewardBucket = (typeof REWARD_BUCKETS)[number];
export type Holdings = Record<RewardBucket, number>;

export type ReversalReason = 'reversal' | 'refund' | 'partial_clearing' | 'expired' | 'given_back';

/** The purchase behind a reward as it stands now (amounts in the purchase's minor units). */
export interface PurchaseFacts {
  amount: number;
  cleared: number;
  refunded: number;
  reversed: number;
  /** When it first cleared; null while it has not. */
  clearedAt: Date | null;
  /** The firing was given back (a doubled firing of one purchase): everything is taken back. */
  givenBack: boolean;
}

export interface RewardTerms {
  kind: RewardKind;
  unit: string;
  /** What the action earned, before anything was taken back. */
  amount: number;
  purchaseReceivedAt: Date;
  availableAfterDays: number;
}

export interface LedgerOptions {
  authorizationExpiryDays: number;
}

/** Where a reward should stand now. */
export interface RewardTarget {
  holdings: Holdings;
  state: RewardState;
  clearedAt: Date | null;
  /** The next date that changes it by itself (its return period ends, its authorization expires); null when none. */
  nextCheckAt: Date | null;
  /** Why what is reversed is: one reason when taken in full, else the parts of it by reason. */
  reversedBy: { reason: ReversalReason; amount: number }[];
}

const DAY_MS = 24 * 60 * 60 * 1000;
const addDays = (date: Date, days: number) => new Date(date.getTime() + days * DAY_MS);

/** `amount × part / whole`, rounded down, in BigInt (the product can pass 2^53). */
const share = (amount: number, part: number, whole: number) =>
  Number((BigInt(amount) * BigInt(Math.max(0, part))) / BigInt(whole));

/** The reason a purchase takes the whole reward back, if it does. */
function takenInFull(purchase: PurchaseFacts): ReversalReason | null {
  if (purchase.amount > 0 && purchase.reversed >= purchase.amount) return 'reversal';
  if (purchase.cleared > 0 && purchase.refunded >= purchase.cleared) return 'refund';
  // Giving back also marks purchases a reversal or refund took back in full: those say which it was, above.
  if (purchase.givenBack) return 'given_back';
  return null;
}

/**
 * The reward's target from its purchase and the date: taken back in full on a reversal, a full refund or a given
 * back firing; else reduced pro rata to what cleared (or, before clearing, to what was not reversed) less what was
 * refunded; expired when its authorization has not cleared within the window; available once cleared and its
 * return period has passed, else pending.
 */
export function rewardTarget(
  terms: RewardTerms,
  purchase: PurchaseFacts,
  now: Date,
  options: LedgerOptions,
): RewardTarget {
  const R = terms.amount;
  const clearedAt = purchase.cleared > 0 ? (purchase.clearedAt ?? now) : null;
  const full = takenInFull(purchase);
  if (full !== null)
    return {
      holdings: { pending: 0, available: 0, reversed: R, expired: 0 },
      state: 'reversed',
      clearedAt,
      nextCheckAt: null,
      reversedBy: [{ reason: full, amount: R }],
    };

  const A = purchase.amount;
  const base = purchase.cleared > 0 ? Math.min(purchase.cleared, A) : A - purchase.reversed;
  // A purchase of nothing (an account check) has nothing to share out: its reward stands whole.
  const beforeRefunds = A === 0 ? R : share(R, base, A);
  const earned = A === 0 ? R : share(R, base - purchase.refunded, A);
  const reversedBy = [
    {
      reason: (purchase.cleared > 0 ? 'partial_clearing' : 'reversal') as ReversalReason,
      amount: R - beforeRefunds,
    },
    { reason: 'refund' as ReversalReason, amount: beforeRefunds - earned },
  ].filter((part) => part.amount > 0);
  const reversed = R - earned;

  if (clearedAt === null) {
    const expiresAt = addDays(terms.purchaseReceivedAt, options.authorizationExpiryDays);
    if (now >= expiresAt)
      return {
        holdings: { pending: 0, available: 0, reversed, expired: earned },
        state: 'expired',
        clearedAt,
        nextCheckAt: null,
        reversedBy,
      };
    return {
      holdings: { pending: earned, available: 0, reversed, expired: 0 },
      state: earned > 0 ? 'pending' : 'reversed',
      clearedAt,
      nextCheckAt: expiresAt,
      reversedBy,
    };
  }
  const availableAt = addDays(clearedAt, terms.availableAfterDays);
  const available = now >= availableAt;
  return {
    holdings: {
      pending: available ? 0 : earned,
      available: available ? earned : 0,
      reversed,
      expired: 0,
    },
    state: earned === 0 ? 'reversed' : available ? 'available' : 'pending',
    clearedAt,
    nextCheckAt: available ? null : availableAt,
    reversedBy,
  };
}

/** An amount moved between two buckets of one reward (`issued`: the app's account it is issued from). */
export interface Move {
  from: RewardBucket | 'issued';
  to: RewardBucket;
  amount: number;
}

// Where the amounts go first, and what they are taken from first: taken amounts before what stays live, and what
// stays pending is taken before what is available (that may have been paid out).
const SINKS: readonly RewardBucket[] = ['reversed', 'expired', 'available', 'pending'];
const SOURCES: readonly RewardBucket[] = ['pending', 'available', 'reversed', 'expired'];

/** The moves that turn `current` into `target` (both summing to the reward's amount). */
export function movesBetween(current: Holdings, target: Holdings): Move[] {
  const left = Object.fromEntries(
    REWARD_BUCKETS.map((bucket) => [bucket, current[bucket] - target[bucket]]),
  ) as Holdings;
  const moves: Move[] = [];
  for (const to of SINKS) {
    let wanted = -left[to];
    for (const from of SOURCES) {
      if (wanted <= 0) break;
      const amount = Math.min(wanted, left[from]);
      if (amount <= 0) continue;
      moves.push({ from, to, amount });
      left[from] -= amount;
      wanted -= amount;
    }
    left[to] = -wanted;
  }
  return moves;
}

const worth = (terms: Pick<RewardTerms, 'kind' | 'unit'>, amount: number): Record<string, unknown> =>
  terms.kind === 'points' ? { points: amount } : { amount, currency: terms.unit };

/** The notice of a reward's points or cashback issued pending. */
export const pendingNotice = (terms: Pick<RewardTerms, 'kind' | 'unit'>, amount: number): Notice => ({
  type: `${terms.kind}.pending`,
  result: worth(terms, amount),
});

/**
 * The notices of a settlement's moves: what was reversed, by reason (the parts of the target not reversed before,
 * counting what was reversed before against the first part), what expired, what was restored to pending (a later
 * clearing larger than a partial reversal) and what became available.
 */
export function noticesOf(
  terms: Pick<RewardTerms, 'kind' | 'unit'>,
  moves: readonly Move[],
  reversedBefore: number,
  target: RewardTarget,
): Notice[] {
  const into = (bucket: RewardBucket) =>
    moves.filter((move) => move.to === bucket).reduce((sum, move) => sum + move.amount, 0);
  const notices: Notice[] = [];
  let newlyReversed = into('reversed');
  let counted = reversedBefore;
  for (const part of target.reversedBy) {
    const already = Math.min(counted, part.amount);
    counted -= already;
    const amount = Math.min(part.amount - already, newlyReversed);
    if (amount <= 0) continue;
    newlyReversed -= amount;
    notices.push({
      type: `${terms.kind}.reversed`,
      result: { ...worth(terms, amount), reason: part.reason },
    });
  }
  const expired = into('expired');
  if (expired > 0)
    notices.push({
      type: `${terms.kind}.reversed`,
      result: { ...worth(terms, expired), reason: 'expired' },
    });
  const restored = into('pending');
  if (restored > 0) notices.push(pendingNotice(terms, restored));
  const available = into('available');
  if (available > 0) notices.push({ type: `${terms.kind}.available`, result: worth(terms, available) });
  return notices;
}
