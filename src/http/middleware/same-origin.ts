import type { Context } from 'hono';
import type { AppEnv } from '../env.ts';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export const isSafeMethod = (method: string) => SAFE_METHODS.has(method.toUpperCase());

/** The origin of PUBLIC_URL: the only one our pages' forms may come from. */
export const ownOrigin = (c: Context<AppEnv>) => new URL(c.get('deps').config.publicUrl).origin;

/**
 * Why a form was refused. The usual cause is not an attack but a page opened at another address than
 * PUBLIC_URL (127.0.0.1 for localhost, another port), so the answer names the one expected.
 */
export const foreignFormMessage = (c: Context<AppEnv>, form: string) =>
  `This ${form} form was not sent from our page. This site’s address is ${ownOrigin(c)} (PUBLIC_URL): ` +
  'open the page there and try again.';

/**
 * Whether a request may act with the browser's cookies: it comes from our own pages (`Origin` is the origin of
 * PUBLIC_URL), or from no browser at all. A foreign or `null` Origin is refused. Browsers send Origin on every
 * cross-origin POST, PUT, PATCH and DELETE, so a request without it is either not from a browser (curl with a
 * cookie) or from one old enough to omit it; those are refused too when `Sec-Fetch-Site` says another site.
 */
export function fromOwnOrigin(c: Context<AppEnv>): boolean {
  const origin = c.req.header('origin');
  if (origin !== undefined) return origin === ownOrigin(c);
  const site = c.req.header('sec-fetch-site');
  return site === undefined || site === 'same-origin' || site === 'none';
}
