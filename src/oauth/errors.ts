/** RFC 6749 §5.2 (and RFC 7009/7662) error codes the token-side endpoints answer with. */
export type OAuthErrorCode =
  | 'invalid_request'
  | 'invalid_client'
  | 'invalid_grant'
  | 'unauthorized_client'
  | 'unsupported_grant_type'
  | 'invalid_scope'
  | 'unsupported_token_type'
  | 'server_error';

/** An OAuth error: its RFC 6749 code and description; src/http decides how it is answered. */
export class OAuthError extends Error {
  readonly error: OAuthErrorCode;
  /** Seconds to wait before trying again, when the refusal is a limit (too many failed client authentications). */
  readonly retryAfter?: number;

  constructor(error: OAuthErrorCode, description: string, options: { retryAfter?: number } = {}) {
    super(description);
    this.name = 'OAuthError';
    this.error = error;
    if (options.retryAfter !== undefined) this.retryAfter = options.retryAfter;
  }
}
