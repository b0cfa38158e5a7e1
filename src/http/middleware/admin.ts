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

/** Operator-only: `Authorization: Bearer $ADMIN_TOKEN`. */
export const requireAdmin: MiddlewareHandler<AppEnv> = async (c, next) => {
  const token = presentedToken(c.req.header('authorization'));
  if (!token || !safeEqual(token, c.get('deps').config.adminToken)) {
    c.header('www-authenticate', 'Bearer realm="cardlink-admin", Basic realm="cardlink-admin"');
    throw new AppError(
      'unauthorized',
      'A valid operator token is required (Authorization: Bearer $ADMIN_TOKEN).',
    );
  }
  await next();
};
