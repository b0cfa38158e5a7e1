import { z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import type { AppRow } from '../db/schema/index.ts';
import { authenticateClientFrom, type ClientAuthMethod } from '../oauth/clients.ts';
import { OAuthError } from '../oauth/errors.ts';
import { clientAddress } from './client-address.ts';
import type { AppEnv } from './env.ts';
import { oauthErrorResponse, oauthProblem } from './oauth-problem.ts';
import { logUnhandled } from './problem.ts';

/** An OpenAPI request body sent as a form, as the OAuth endpoints take them. */
export const form = (schema: z.ZodType) => ({
  required: true,
  content: { 'application/x-www-form-urlencoded': { schema } },
});

/** `client_secret_post` credentials, documented on every client-authenticated endpoint. */
export const ClientAuthFields = {
  client_id: z.string().optional().openapi({ description: 'With client_secret_post' }),
  client_secret: z.string().optional().openapi({ description: 'With client_secret_post' }),
};

/** The answers of a client-authenticated endpoint when client authentication fails. */
export const clientAuthFailures = {
  401: oauthErrorResponse('invalid_client'),
  429: oauthErrorResponse(
    '`invalid_client` after too many failed client authentications from this address (`Retry-After`): ' +
      'a secret is then checked only if it worked within `AUTH_KNOWN_CREDENTIAL_DAYS`',
  ),
};

function noStore(c: Context<AppEnv>) {
  c.header('cache-control', 'no-store');
  c.header('pragma', 'no-cache');
}

/** Reads a form body into strings (repeated or file fields are refused as malformed). */
async function readForm(c: Context<AppEnv>): Promise<Record<string, string>> {
  const type = c.req.header('content-type') ?? '';
  if (!type.toLowerCase().startsWith('application/x-www-form-urlencoded')) {
    throw new OAuthError('invalid_request', 'Send the parameters as application/x-www-form-urlencoded.');
  }
  const params = new URLSearchParams(await c.req.text());
  const fields: Record<string, string> = {};
  for (const [name, value] of params) {
    if (name in fields) throw new OAuthError('invalid_request', `Parameter "${name}" is repeated.`);
    fields[name] = value;
  }
  return fields;
}

/**
 * Runs a token-side endpoint: OAuth errors become RFC 6749 §5.2 JSON (401 + WWW-Authenticate for client
 * authentication failures); anything unexpected is logged and answered `server_error`, never problem+json.
 */
export async function oauthEndpoint(
  c: Context<AppEnv>,
  run: (fields: Record<string, string>, client: () => Promise<AppRow>) => Promise<Response>,
): Promise<Response> {
  noStore(c);
  let method: ClientAuthMethod | undefined;
  try {
    const fields = await readForm(c);
    const client = async () => {
      const authenticated = await authenticateClientFrom(c.get('deps'), clientAddress(c), {
        authorization: c.req.header('authorization'),
        clientId: fields.client_id,
        clientSecret: fields.client_secret,
      });
      method = authenticated.method;
      return authenticated.app;
    };
    return await run(fields, client);
  } catch (error) {
    if (error instanceof OAuthError) return oauthProblem(c, error);
    logUnhandled(c.get('deps').logger, c.get('requestId'), error, { client_auth_method: method });
    return oauthProblem(
      c,
      new OAuthError('server_error', 'Something went wrong on our side; it has been logged.'),
    );
  }
}
