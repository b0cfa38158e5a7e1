import { hash, verify } from '@node-rs/argon2';
import { eq } from 'drizzle-orm';
import type { Executor } from '../db/client.ts';
import { type UserRow, users } from '../db/schema/index.ts';
import { AppError, isUniqueViolation, notFound } from '../errors.ts';
import { newId } from '../lib/ids.ts';

// OWASP's argon2id baseline (19 MiB, 2 passes, 1 lane): about 20-40 ms per hash on one core.
const ARGON2_OPTIONS = { memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

/** A fixed hash to verify against when the email is unknown, so both paths cost the same time. */
let decoyHash: Promise<string> | undefined;
const decoy = () => {
  decoyHash ??= hash('cardlink-decoy-password', ARGON2_OPTIONS);
  return decoyHash;
};

export const normaliseEmail = (email: string) => email.trim().toLowerCase();

/** Signs a cardholder up; the password is kept only as an argon2id hash. */
export async function createUser(db: Executor, input: { email: string; password: string }): Promise<UserRow> {
  const passwordHash = await hash(input.password, ARGON2_OPTIONS);
  try {
    const [row] = await db
      .insert(users)
      .values({ id: newId('usr'), email: normaliseEmail(input.email), passwordHash })
      .returning();
    return row!;
  } catch (error) {
    if (isUniqueViolation(error))
      throw new AppError('conflict', 'An account with this email already exists.');
    throw error;
  }
}

/** The user whose email and password these are, or undefined (same timing either way). */
export async function authenticateUser(
  db: Executor,
  input: { email: string; password: string },
): Promise<UserRow | undefined> {
  const email = normaliseEmail(input.email);
  // Postgres refuses text with a NUL byte: no account has such an email (the sign-in form is not zod-checked).
  const [row] = email.includes('\u0000') ? [] : await db.select().from(users).where(eq(users.email, email));
  if (!row) {
    await verify(await decoy(), input.password).catch(() => false);
    return undefined;
  }
  const ok = await verify(row.passwordHash, input.password).catch(() => false);
  return ok ? row : undefined;
}

/** The user with this id, or `not_found`. */
export async function getUser(db: Executor, id: string): Promise<UserRow> {
  const [row] = await db.select().from(users).where(eq(users.id, id));
  if (!row) throw notFound('user');
  return row;
}
