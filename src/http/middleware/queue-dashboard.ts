import type { MiddlewareHandler } from 'hono';
import { AppError } from '../../errors.ts';
import type { AppEnv } from '../env.ts';
import { JSON_MEDIA_TYPE } from '../json-depth.ts';
import { fromOwnOrigin, isSafeMethod, ownOrigin } from './same-origin.ts';

/**
 * Changes through the queue dashboard's API must come from its own page. Browsers re-send cached Basic
 * credentials to any site's request, like a cookie, so a foreign `Origin` is refused (403); and a body must be
 * declared JSON (415), which no cross-site form or no-cors fetch can do without a CORS preflight. The
 * dashboard's own page sends JSON, or no body at all (its retry and clean buttons).
 */
export const dashboardChangesFromOwnPage: MiddlewareHandler<AppEnv> = async (c, next) => {
  if (isSafeMethod(c.req.method)) return next();
  if (!fromOwnOrigin(c)) {
    throw new AppError(
      'forbidden',
      `Cross-site request refused: changes to the queues must come from the dashboard at ${ownOrigin(c)} (PUBLIC_URL).`,
    );
  }
  const type = c.req.header('content-type');
  const declaredJson = type !== undefined && JSON_MEDIA_TYPE.test(type);
  if (!declaredJson && (type !== undefined || (await c.req.arrayBuffer()).byteLength > 0)) {
    throw new AppError('unsupported_media_type', 'The body must be sent as application/json.');
  }
  return next();
};
