import { OpenAPIHono } from '@hono/zod-openapi';
import type { ZodError } from 'zod';
import { AppError, type FieldError } from '../errors.ts';
import type { AppEnv } from './env.ts';

/** Zod issues as `{ path, message }`, the path naming where in the request the field is. */
export function fieldErrors(error: ZodError, target: string): FieldError[] {
  return error.issues.map((issue) => {
    const path = issue.path.map(String).join('.');
    return {
      path: target === 'json' ? path || '(body)' : `${target}.${path || '(all)'}`,
      message: issue.message,
    };
  });
}

/** An OpenAPIHono whose validation failures become 422 problem responses listing each field. */
export function createRouter(): OpenAPIHono<AppEnv> {
  return new OpenAPIHono<AppEnv>({
    defaultHook: (result) => {
      if (!result.success) {
        throw new AppError('validation_failed', 'The request has invalid fields.', {
          errors: fieldErrors(result.error, result.target),
        });
      }
    },
  });
}
