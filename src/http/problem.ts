import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { redactCardNumbers } from '../cards/card-numbers.ts';
import type { AppError, ErrorCode, FieldError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { AppEnv } from './env.ts';

const STATUS: Record<ErrorCode, ContentfulStatusCode> = {
  bad_request: 400,
  validation_failed: 422,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  insufficient_balance: 422,
  idempotency_key_reused: 409,
  idempotency_key_in_use: 409,
  signature_invalid: 401,
  rate_limited: 429,
  payload_too_large: 413,
  unsupported_media_type: 415,
  method_not_allowed: 405,
  service_unavailable: 503,
  internal: 500,
};

export const TITLES: Record<ErrorCode, string> = {
  bad_request: 'Bad request',
  validation_failed: 'Validation failed',
  unauthorized: 'Unauthorized',
  forbidden: 'Forbidden',
  not_found: 'Not found',
  conflict: 'Conflict',
  insufficient_balance: 'Insufficient balance',
  idempotency_key_reused: 'Idempotency key reused with a different request',
  idempotency_key_in_use: 'A request with this idempotency key is in progress',
  signature_invalid: 'Signature invalid',
  rate_limited: 'Too many requests',
  payload_too_large: 'Payload too large',
  unsupported_media_type: 'Unsupported media type',
  method_not_allowed: 'Method not allowed',
  service_unavailable: 'Service unavailable',
  internal: 'Internal error',
};

export const statusOf = (code: ErrorCode): ContentfulStatusCode => STATUS[code];

export interface ProblemInput {
  code: ErrorCode;
  detail: string;
  errors?: FieldError[];
  extra?: Record<string, unknown>;
}

/** What an AppError tells the caller. */
export const problemOf = (error: AppError): ProblemInput => ({
  code: error.code,
  detail: error.message,
  errors: error.errors,
  extra: error.extra,
});

/**
 * Logs an error nobody expected, whole stack and request id. Its message may quote a value (Postgres does):
 * redacted like any error text.
 */
export function logUnhandled(
  logger: Logger,
  requestId: string,
  error: unknown,
  context: Record<string, unknown> = {},
): void {
  logger.error(
    {
      request_id: requestId,
      ...context,
      err:
        error instanceof Error
          ? {
              name: error.name,
              message: redactCardNumbers(error.message),
              stack: error.stack && redactCardNumbers(error.stack),
            }
          : { message: redactCardNumbers(String(error)) },
    },
    'unhandled error',
  );
}

/** Logs an error nobody expected and gives the 500 the caller sees, which says nothing of it. */
export function unhandledProblem(logger: Logger, requestId: string, error: unknown): ProblemInput {
  logUnhandled(logger, requestId, error);
  return { code: 'internal', detail: 'Something went wrong on our side; it has been logged.' };
}

/**
 * The RFC 9457 problem+json body for an error, with our stable `code` and the request id. Every text in it
 * that may repeat what the caller sent (a field name, a value quoted by a schema message) passes the card
 * number redactor here, once for every route.
 */
export function problemBody(input: ProblemInput, publicUrl: string, requestId: string | null) {
  const status = statusOf(input.code);
  return {
    type: `${publicUrl}/problems/${input.code}`,
    title: TITLES[input.code],
    status,
    detail: redactCardNumbers(input.detail),
    code: input.code,
    request_id: requestId,
    ...(input.errors
      ? {
          errors: input.errors.map((error) => ({
            path: redactCardNumbers(error.path),
            message: redactCardNumbers(error.message),
          })),
        }
      : {}),
    ...input.extra,
  };
}

/** Writes an RFC 9457 problem+json response with our stable `code` and the request id. */
export function problem(c: Context<AppEnv>, input: ProblemInput, publicUrl: string): Response {
  const body = problemBody(input, publicUrl, c.get('requestId') ?? null);
  // A limit's answer says when to come back in the body and, for clients that read only headers, as Retry-After.
  const retryAfter = input.extra?.retry_after;
  if (typeof retryAfter === 'number') c.header('retry-after', String(retryAfter));
  return c.body(JSON.stringify(body), body.status, { 'content-type': 'application/problem+json' });
}
