import type { z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { sessionFormToken } from '../sessions/csrf.ts';
import type { SignedInHeader } from '../web/layout.tsx';
import { PAGE_POLICY } from './content-security.ts';
import type { AppEnv, SignedIn } from './env.ts';

// What every cardholder page's route shares: its headers, its cookies' flags, its header bar, its form fields.

/**
 * A page is never stored by a cache (it shows a session's data and forms' tokens) nor shown in a frame. Its
 * address never leaves the site as a Referer (the consent page's holds the app's request), but `same-origin`
 * rather than `no-referrer`: under `no-referrer` browsers send `Origin: null` with the page's own forms, which
 * the same-origin check must refuse.
 */
export function pageHeaders(c: Context<AppEnv>, policy = PAGE_POLICY) {
  c.header('cache-control', 'no-store');
  c.header('x-frame-options', 'DENY');
  c.header('x-content-type-options', 'nosniff');
  c.header('referrer-policy', 'same-origin');
  c.header('content-security-policy', policy);
}

/** Cookies are Secure when the site is served over https (PUBLIC_URL); plain http is local development. */
export const secureCookies = (c: Context<AppEnv>) => c.get('deps').config.publicUrl.startsWith('https:');

/** The header bar of a signed-in page: who is signed in, and the sign-out form's token. */
export const headerFor = (c: Context<AppEnv>, signedIn: SignedIn): SignedInHeader => ({
  email: signedIn.user.email,
  logoutCsrf: sessionFormToken(c.get('deps').config.secretsKey, signedIn.sessionToken, 'logout'),
});

/**
 * A posted form's text fields, each cut to `max` characters (no field of these forms is longer). A body that is
 * not a form reads as empty: the page then says what is missing.
 */
export async function formFields(
  c: Context<AppEnv>,
): Promise<(name: string, max?: number) => string | undefined> {
  const body = await c.req.parseBody().catch(() => ({}) as Record<string, unknown>);
  return (name, max = 1024) => {
    const value = body[name];
    return typeof value === 'string' ? value.slice(0, max) : undefined;
  };
}

/** A page form's body, as the OpenAPI document describes it. */
export const formBody = (schema: z.ZodType) => ({
  content: { 'application/x-www-form-urlencoded': { schema } },
});
