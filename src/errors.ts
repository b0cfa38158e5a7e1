/** Stable, machine-readable error codes; src/http alone maps them to HTTP statuses. */
export type ErrorCode =
  | 'bad_request'
  | 'validation_failed'
  | 'unauthorized'
  | 'forbidden'
  | 'not_found'
  | 'conflict'
  | 'insufficient_balance'
  | 'idempotency_key_reused'
  | 'idempotency_key_in_use'
  | 'signature_invalid'
  | 'rate_limited'
  | 'payload_too_large'
  | 'unsupported_media_type'
  | 'method_not_allowed'
  | 'service_unavailable'
  | 'internal';

export interface FieldError {
  path: string;
  message: string;
}

/** The one error type the platform throws on purpose. */
export class AppError extends Error {
  readonly code: ErrorCode;
  readonly errors?: FieldError[];
  readonly extra?: Record<string, unknown>;

  constructor(
    code: ErrorCode,
    message: string,
    options: { errors?: FieldError[]; extra?: Record<string, unknown>; cause?: unknown } = {},
  ) {
    super(message, { cause: options.cause });
    this.name = 'AppError';
    this.code = code;
    if (options.errors) this.errors = options.errors;
    if (options.extra) this.extra = options.extra;
  }
}

export const notFound = (what: string) => new AppError('not_found', `No such ${what}.`);

/** A validation failure on named fields, reported like a schema failure. */
export const invalidFields = (errors: FieldError[]) =>
  new AppError('validation_failed', 'The request has invalid fields.', { errors });

/** Postgres SQLSTATE of an error thrown by postgres.js, if any. */
export function pgErrorCode(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; current && depth < 4; depth++) {
    if (typeof current === 'object' && 'code' in current && typeof current.code === 'string') {
      if (/^[0-9A-Z]{5}$/.test(current.code)) return current.code;
    }
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

export const isUniqueViolation = (error: unknown) => pgErrorCode(error) === '23505';
