import { OpenAPIHono } from '@hono/zod-openapi';
import type { ZodError } from 'zod';
import { AppError, type FieldError } from '../errors.ts';
import type { AppEnv } from './env.ts';
import { requireAdmin } from './middleware/admin.ts';

/** Zod issues as `{ path, message }`, the path naming where in the request the field is. */
export function fieldErrors(error: ZodError, target: string): FieldError[] {
  return error.issues.map((issue) => ({
    path: joinPath(target, issue.path.map(String)),
    message: issue.message,
  }));
}

/** The path of the first string holding a NUL character, which Postgres cannot store or compare. */
export function pathOfNul(value: unknown, path: string[] = []): string[] | undefined {
  if (typeof value === 'string') return value.includes('\u0000') ? path : undefined;
  if (value === null || typeof value !== 'object') return undefined;
  for (const [key, item] of Object.entries(value)) {
    const found = pathOfNul(item, [...path, key]);
    if (found) return found;
  }
  return undefined;
}

const joinPath = (target: string, path: string[]) =>
  target === 'json' || target === 'form'
    ? path.join('.') || '(body)'
    : `${target}.${path.join('.') || '(all)'}`;

/**
 * An OpenAPIHono whose validation failures become 422 problem responses listing each field. Every validated
 * value is also refused when a string in it holds a NUL character: Postgres rejects those in text, so they
 * would otherwise surface as a 500 from whichever query first touched them.
 */
export function createRouter(): OpenAPIHono<AppEnv> {
  return new OpenAPIHono<AppEnv>({
    defaultHook: (result) => {
      if (!result.success) {
        throw new AppError('validation_failed', 'The request has invalid fields.', {
          errors: fieldErrors(result.error, result.target),
        });
      }
      const nul = pathOfNul(result.data);
      if (nul) {
        throw new AppError('validation_failed', 'The request has invalid fields.', {
          errors: [{ path: joinPath(result.target, nul), message: 'must not contain NUL characters' }],
        });
      }
    },
  });
}

/** A router whose every route at or below `basePath` is for the operator only. */
export function createOperatorRouter(basePath: string): OpenAPIHono<AppEnv> {
  const router = createRouter();
  router.use(basePath, requireAdmin);
  router.use(`${basePath}/*`, requireAdmin);
  return router;
}
