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

/** An OAuth error: rendered as `{error, error_description}` (never problem+json) by the OAuth routes. */
export class OAuthError extends Error {
  readonly error: OAuthErrorCode;
  readonly status: 400 | 401 | 429 | 500;
  /** Seconds to wait, when the answer is 429 (too many failed client authentications). */
  readonly retryAfter?: number;

  constructor(error: OAuthErrorCode, description: string, options: { retryAfter?: number } = {}) {
    super(description);
    this.name = 'OAuthError';
    this.error = error;
    if (options.retryAfter !== undefined) {
      this.status = 429;
      this.retryAfter = options.retryAfter;
    } else this.status = error === 'invalid_client' ? 401 : error === 'server_error' ? 500 : 400;
  }
}
