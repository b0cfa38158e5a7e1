import { z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { redactCardNumbers } from '../cards/card-numbers.ts';
import type { OAuthError, OAuthErrorCode } from '../oauth/errors.ts';
import type { AppEnv } from './env.ts';

/** RFC 6749 §5.2: 400, except 401 when client authentication failed. */
const STATUS: Record<OAuthErrorCode, 400 | 401 | 500> = {
  invalid_request: 400,
  invalid_client: 401,
  invalid_grant: 400,
  unauthorized_client: 400,
  unsupported_grant_type: 400,
  invalid_scope: 400,
  unsupported_token_type: 400,
  server_error: 500,
};

/** The HTTP status of an OAuth error; a refusal with a wait (too many failed client authentications) is 429. */
export const oauthStatusOf = (error: OAuthError): 400 | 401 | 429 | 500 =>
  error.retryAfter !== undefined ? 429 : STATUS[error.error];

/** Answers an OAuth error as RFC 6749 §5.2 JSON (never problem+json), with the headers its status calls for. */
export function oauthProblem(c: Context<AppEnv>, error: OAuthError): Response {
  if (error.error === 'invalid_client') c.header('www-authenticate', 'Basic realm="cardlink-oauth"');
  if (error.retryAfter !== undefined) c.header('retry-after', String(error.retryAfter));
  // The description may quote what the client sent (a repeated parameter's name): never a card number.
  return c.json(
    { error: error.error, error_description: redactCardNumbers(error.message) },
    oauthStatusOf(error),
  );
}

const OAuthErrorBody = z
  .object({
    error: z.string().openapi({ example: 'invalid_grant' }),
    error_description: z.string(),
  })
  .openapi('OAuthError', { description: 'RFC 6749 §5.2 error (never problem+json on these endpoints)' });

/** An OpenAPI response answered with an OAuth error. */
export const oauthErrorResponse = (description: string) => ({
  description,
  content: { 'application/json': { schema: OAuthErrorBody } },
});
