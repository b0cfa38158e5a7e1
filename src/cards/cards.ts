import { and, desc, eq, isNull } from 'drizzle-orm';
import type { Executor } from '../db/client.ts';
import type { Page } from '../db/paginate.ts';
import { pageOfRows } from '../db/rows.ts';
import { type CardRow, cards, grants } from '../db/schema/index.ts';
import { AppError, invalidFields, isUniqueViolation, notFound } from '../errors.ts';
import { newId } from '../lib/ids.ts';
import type { CardKeys } from './card-keys.ts';
import { expired, isPanShaped, luhnValid, normalisePan, schemeOf } from './pan.ts';
import { cardIdFromApp, type PseudonymKey } from './pseudonyms.ts';

export interface NewCard {
  /** Held only for the duration of this call: fingerprinted, cut to BIN and last 4, then dropped. */
  pan: string;
  expMonth: number;
  expYear: number;
}

interface CardDeps {
  db: Executor;
  cardKeys: CardKeys;
}

/** The refusal for a number that is not a card; never carries the number. */
const badPan = (message: string) => invalidFields([{ path: 'pan', message }]);

/**
 * The one answer for every card number we refuse: not a card (Luhn), not a scheme we take, or enrolled by
 * another user. Telling these apart would tell a user that someone else enrolled the number.
 */
export const refusedCard = () =>
  badPan(
    'cannot be enrolled: check the number (Visa, Mastercard, American Express and Discover cards are accepted)',
  );

/**
 * A refusal of a number that passed every check made without our records (length, Luhn, scheme, expiry)
 * because it is enrolled: by this user (`conflict`) or by another (the same answer as any refused number).
 * Only these can tell a user something about a card, so only these count against the refusal limit. The
 * answer is the wrapped error's, unchanged: the class is a signal inside the process, never on the wire.
 */
export class EnrolledCardRefusal extends AppError {
  constructor(answer: AppError) {
    super(answer.code, answer.message, answer.errors ? { errors: answer.errors } : {});
  }
}

/**
 * Checks a card number and expiry and returns what may be kept of it (never the PAN). Throws
 * `validation_failed` naming the field, without echoing the value.
 */
export function describeCard(cardKeys: CardKeys, input: NewCard, now = new Date()) {
  const pan = normalisePan(input.pan);
  if (!isPanShaped(pan)) throw badPan('must be 12 to 19 digits');
  if (!luhnValid(pan)) throw refusedCard();
  const scheme = schemeOf(pan);
  if (scheme === 'unknown') throw refusedCard();
  if (expired(input.expMonth, input.expYear, now))
    throw invalidFields([{ path: 'exp_year', message: 'the card has expired' }]);
  return {
    fingerprint: cardKeys.fingerprint(pan),
    bin: pan.slice(0, 6),
    last4: pan.slice(-4),
    scheme,
  };
}

/**
 * Enrolls a card for a user. The user's own live card again → `conflict`; another user's → the same refusal
 * as a number that is not a card.
 */
export async function enrollCard(deps: CardDeps, userId: string, input: NewCard): Promise<CardRow> {
  const described = describeCard(deps.cardKeys, input);
  const [live] = await deps.db
    .select({ userId: cards.userId })
    .from(cards)
    .where(and(eq(cards.fingerprint, described.fingerprint), isNull(cards.deletedAt)));
  if (live?.userId === userId)
    throw new EnrolledCardRefusal(new AppError('conflict', 'You already enrolled this card.'));
  if (live) throw new EnrolledCardRefusal(refusedCard());
  try {
    const [row] = await deps.db
      .insert(cards)
      .values({ id: newId('crd'), userId, ...described, expMonth: input.expMonth, expYear: input.expYear })
      .returning();
    return row!;
  } catch (error) {
    // Enrolled at this instant by a concurrent request, whose: the answer must not say.
    if (isUniqueViolation(error)) throw new EnrolledCardRefusal(refusedCard());
    throw error;
  }
}

/** A page of a user's live cards, newest first. */
export const listCards = (db: Executor, userId: string, page: Page) =>
  pageOfRows(db, cards, page, and(eq(cards.userId, userId), isNull(cards.deletedAt)));

/** Every live card of a user (small: people have a handful). */
export const liveCardsOf = (db: Executor, userId: string) =>
  db
    .select()
    .from(cards)
    .where(and(eq(cards.userId, userId), isNull(cards.deletedAt)))
    .orderBy(desc(cards.id));

/**
 * Removes a card from a user's wallet. The row stays (soft delete) so past events keep their card; the
 * fingerprint is free to be enrolled again.
 */
export async function removeCard(db: Executor, userId: string, cardId: string): Promise<void> {
  const [row] = await db
    .update(cards)
    .set({ deletedAt: new Date(), updatedAt: new Date() })
    .where(and(eq(cards.id, cardId), eq(cards.userId, userId), isNull(cards.deletedAt)))
    .returning({ id: cards.id });
  if (!row) throw notFound('card');
}

/**
 * The live card an app refers to by its pseudonym, provided the card's owner has an active grant for that
 * app; otherwise undefined (an app cannot probe for cards it was never shown).
 */
export async function resolveAppCard(
  deps: { db: Executor; config: PseudonymKey },
  appId: string,
  pseudonym: string,
): Promise<CardRow | undefined> {
  const cardId = cardIdFromApp(deps.config, appId, pseudonym);
  if (!cardId) return undefined;
  const [row] = await deps.db
    .select({ card: cards })
    .from(cards)
    .innerJoin(
      grants,
      and(eq(grants.userId, cards.userId), eq(grants.appId, appId), isNull(grants.revokedAt)),
    )
    .where(and(eq(cards.id, cardId), isNull(cards.deletedAt)));
  return row?.card;
}
