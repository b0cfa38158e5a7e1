import { z } from '@hono/zod-openapi';
import type { UserRow } from '../db/schema/index.ts';
import { Timestamp } from './schemas.ts';

// A cardholder as the API shows them, shared by the user and session routes.

export const Email = z
  .email({ message: 'must be an email address' })
  .max(254)
  .openapi({ example: 'ada@example.com' });

/** A new password: the API's sign-up and the sign-up page check it alike. */
export const Password = z
  .string()
  .min(10, 'must be at least 10 characters')
  .max(256, 'must be at most 256 characters')
  .openapi({ format: 'password' });

export const User = z
  .object({
    id: z.string().openapi({ example: 'usr_01jh…' }),
    object: z.literal('user'),
    email: z.string(),
    created_at: Timestamp,
  })
  .openapi('User');

export const presentUser = (row: UserRow): z.infer<typeof User> => ({
  id: row.id,
  object: 'user',
  email: row.email,
  created_at: row.createdAt.toISOString(),
});
