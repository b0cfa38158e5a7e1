import type { MiddlewareHandler } from 'hono';
import { AppError } from '../../errors.ts';
import { safeEqual } from '../../lib/secrets.ts';
import type { AppEnv } from '../env.ts';

/** Reads a bearer token, or the password of Basic auth (so a browser can open the dashboard). */
function presentedToken(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const [scheme, value] = header.split(' ', 2);
  if (!value) return undefined;
  if (scheme?.toLowerCase() === 'bearer') return value.trim();
  if (scheme?.toLowerCase() === 'basic') {
    const decoded = Buffer.from(value, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    return colon >= 0 ? decoded.slice(colon + 1) : undefined;
  }
  return undefined;
}

/** Refuses requests without the operator token, naming `challenge` in one `WWW-Authenticate` header. */
function adminOnly(challenge: string): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const token = presentedToken(c.req.header('authorization'));
    if (!token || !safeEqual(token, c.get('deps').config.adminToken)) {
      c.header('www-authenticate', challenge);
      throw new AppError(
        'unauthorized',
        'A valid operator token is required (Authorization: Bearer $ADMIN_TOKEN).',
      );
    }
    await next();
  };
}

/** Operator-only: `Authorization: Bearer $ADMIN_TOKEN`. */
export const requireAdmin = adminOnly('Bearer realm="cardlink-admin"');

/**
 * Operator-only pages (the queue dashboard): the token as Bearer or as the Basic-auth password. The
 * challenge is Basic alone: Chromium reads one challenge per header and showed no sign-in prompt when
 * Bearer came first in the same header.
 */
export const requireAdminInBrowser = adminOnly('Basic realm="cardlink-admin", charset="UTF-8"');
