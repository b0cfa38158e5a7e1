import { and, eq, gt } from 'drizzle-orm';
import type { Executor } from '../db/client.ts';
import { sessions, type UserRow, users } from '../db/schema/index.ts';
import { hashToken, randomToken } from '../lib/secrets.ts';

export const SESSION_TTL_MS = 14 * 24 * 60 * 60 * 1000;
export const SESSION_COOKIE = 'cardlink_session';
/** Every session token starts so, which tells it apart from an OAuth access token (a JWT). */
export const SESSION_TOKEN_PREFIX = 'ses_';

export interface NewSession {
  token: string;
  expiresAt: Date;
}

/** Opens a session: returns the bearer token (shown once; only its SHA-256 is stored). */
export async function createSession(db: Executor, userId: string, now = new Date()): Promise<NewSession> {
  const token = randomToken(SESSION_TOKEN_PREFIX);
  const expiresAt = new Date(now.getTime() + SESSION_TTL_MS);
  await db.insert(sessions).values({ tokenHash: hashToken(token), userId, expiresAt, createdAt: now });
  return { token, expiresAt };
}

/** The user a live session token belongs to, or undefined. */
export async function userForSession(db: Executor, token: string): Promise<UserRow | undefined> {
  const [row] = await db
    .select({ user: users })
    .from(sessions)
    .innerJoin(users, eq(users.id, sessions.userId))
    .where(and(eq(sessions.tokenHash, hashToken(token)), gt(sessions.expiresAt, new Date())));
  return row?.user;
}

/** Ends a session (sign out). Unknown tokens are ignored. */
export async function endSession(db: Executor, token: string): Promise<void> {
  await db.delete(sessions).where(eq(sessions.tokenHash, hashToken(token)));
}
