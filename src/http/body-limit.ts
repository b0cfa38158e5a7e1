import type { MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { AppError } from '../errors.ts';
import type { AppEnv } from './env.ts';

/** Requests larger than this are refused with 413 before they are read whole. */
export const MAX_BODY_BYTES = 1024 * 1024;

/** The refusal of a body over MAX_BODY_BYTES. */
export const tooLarge = () => new AppError('payload_too_large', `The body exceeds ${MAX_BODY_BYTES} bytes.`);

/**
 * The body's size when its headers settle it: a Content-Length of digits and no Transfer-Encoding.
 * Undefined otherwise (chunked, or a length that is not a number): only reading the body tells.
 */
export function declaredLength(
  contentLength: string | undefined,
  transferEncoding: string | undefined,
): number | undefined {
  if (contentLength === undefined || transferEncoding !== undefined) return undefined;
  return /^[0-9]+$/.test(contentLength) ? Number(contentLength) : undefined;
}

const streamedBodyLimit = bodyLimit({
  maxSize: MAX_BODY_BYTES,
  onError: () => {
    throw tooLarge();
  },
});

/** Refuses a body over MAX_BODY_BYTES with 413 `payload_too_large`. */
export const limitBody: MiddlewareHandler<AppEnv> = (c, next) => {
  // Decided from the headers when they suffice: hono's bodyLimit reads `c.req.raw.body`, which makes
  // @hono/node-server build a full web Request per request (a large share of CPU at high request rates).
  if (c.req.method === 'GET' || c.req.method === 'HEAD') return next();
  const length = declaredLength(c.req.header('content-length'), c.req.header('transfer-encoding'));
  if (length === undefined) return streamedBodyLimit(c, next);
  if (length > MAX_BODY_BYTES) throw tooLarge();
  return next();
};
