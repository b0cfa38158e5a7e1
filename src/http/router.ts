import { OpenAPIHono } from '@hono/zod-openapi';
import type { Context } from 'hono';
import type { ZodError } from 'zod';
import type { Deps } from '../deps.ts';
import { type FieldError, invalidFields } from '../errors.ts';
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
 * A check of one string field of a JSON body that needs I/O (a DNS look-up …): its message, or undefined
 * when the value passes. Routes list them in `validationHook` so they run beside the schema.
 */
export type FieldCheck = (deps: Deps, value: string) => Promise<string | undefined>;

type ValidationResult = { target: string } & (
  | { success: true; data: unknown }
  | { success: false; error: ZodError; data?: unknown }
);

/**
 * How every route validates: zod's issues become a 422 listing each field; a string holding a NUL is
 * refused too (Postgres rejects those in text, so it would otherwise surface as a 500 from whichever query
 * first touched it). `fieldChecks` run on the body at the same time, on each named field whose own schema
 * passed, so a body with several problems gets all of them in one answer, however each is found.
 */
export function validationHook(fieldChecks: Record<string, FieldCheck> = {}) {
  const hook = async (result: ValidationResult, c: Context<AppEnv>): Promise<undefined> => {
    const errors = result.success ? [] : fieldErrors(result.error, result.target);
    const nul = result.success ? pathOfNul(result.data) : undefined;
    if (nul) errors.push({ path: joinPath(result.target, nul), message: 'must not contain NUL characters' });
    const body = result.data;
    if (result.target === 'json' && typeof body === 'object' && body !== null && !Array.isArray(body)) {
      const refused = new Set(errors.map((e) => e.path));
      const checked = Object.entries(fieldChecks).map(async ([field, check]) => {
        const value = (body as Record<string, unknown>)[field];
        if (typeof value !== 'string' || refused.has(field)) return undefined;
        const message = await check(c.get('deps'), value);
        return message === undefined ? undefined : { path: field, message };
      });
      for (const error of await Promise.all(checked)) if (error) errors.push(error);
    }
    if (errors.length > 0) throw invalidFields(errors);
    return undefined;
  };
  // zod-openapi awaits a route's hook, but types an async hook as one that must resolve to a response.
  return hook as unknown as <T>(
    result: { target: string } & ({ success: true; data: T } | { success: false; error: ZodError }),
    c: Context<AppEnv>,
  ) => undefined;
}

/** An OpenAPIHono whose routes validate with `validationHook` unless they pass their own hook. */
export function createRouter(): OpenAPIHono<AppEnv> {
  return new OpenAPIHono<AppEnv>({ defaultHook: validationHook() });
}

/** A router whose every route at or below `basePath` is for the operator only. */
export function createOperatorRouter(basePath: string): OpenAPIHono<AppEnv> {
  const router = createRouter();
  router.use(basePath, requireAdmin);
  router.use(`${basePath}/*`, requireAdmin);
  return router;
}
