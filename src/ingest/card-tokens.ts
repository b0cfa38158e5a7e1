// Links a processor's card token to a card's keyed fingerprint (POST /v1/card_tokens).
import { and, eq } from 'drizzle-orm';
import type { CardKeys } from '../cards/card-keys.ts';
import type { Executor } from '../db/client.ts';
import { cardTokens } from '../db/schema/index.ts';
import { AppError } from '../errors.ts';

export interface LinkedCardToken {
  token: string;
  linkedAt: Date;
  /** False when this exact link already existed (an idempotent repeat). */
  created: boolean;
}

/**
 * Links a processor's card token to a PAN, once: only the PAN's keyed fingerprint is stored. Linking the
 * same token to the same PAN again is an idempotent repeat; to a different PAN, a `conflict` (a token
 * names one card forever). Events carrying the token then resolve to whichever live card holds that
 * fingerprint, including a card enrolled after the link.
 */
export async function linkCardToken(
  deps: { db: Executor; cardKeys: CardKeys },
  processorId: string,
  input: { token: string; pan: string },
): Promise<LinkedCardToken> {
  const fingerprint = deps.cardKeys.fingerprint(input.pan);
  const [inserted] = await deps.db
    .insert(cardTokens)
    .values({ processorId, token: input.token, fingerprint })
    .onConflictDoNothing()
    .returning();
  if (inserted) return { token: inserted.token, linkedAt: inserted.createdAt, created: true };
  const [existing] = await deps.db
    .select()
    .from(cardTokens)
    .where(and(eq(cardTokens.processorId, processorId), eq(cardTokens.token, input.token)));
  if (!existing) throw new AppError('conflict', 'The token was being linked concurrently; retry.');
  if (existing.fingerprint !== fingerprint) {
    throw new AppError('conflict', 'This token is already linked to a different card.');
  }
  return { token: existing.token, linkedAt: existing.createdAt, created: false };
}
