import { z } from '@hono/zod-openapi';
import { grantApp } from '../../grants/grants.ts';
import {
  AUTHORIZE_PARAM_NAMES,
  type AuthorizeParams,
  checkAuthorizeRequest,
  issueAuthorizationCode,
  redirectTo,
  type ValidAuthorizeRequest,
} from '../../oauth/authorize.ts';
import { type ConsentBinding, consentCsrfToken, redeemConsentCsrf } from '../../sessions/csrf.ts';
import { render } from '../../web/render.tsx';
import { CONSENT_POLICY } from '../content-security.ts';
import { foreignFormMessage, fromOwnOrigin } from '../middleware/same-origin.ts';
import { optionalUser } from '../middleware/user-auth.ts';
import { form } from '../oauth-endpoint.ts';
import { createRouter } from '../router.ts';
import { headerFor, pageHeaders } from '../web-page.ts';

/** The authorization endpoint: the consent page and the user's decision. */
export const oauthAuthorizeRouter = createRouter();

const authorizeQuery = z.object({
  response_type: z.string().optional().openapi({ example: 'code' }),
  client_id: z.string().optional(),
  redirect_uri: z
    .string()
    .optional()
    .openapi({ description: 'Must exactly match a registered redirect URI' }),
  scope: z
    .string()
    .optional()
    .openapi({ description: 'Space-separated scopes, among those the app registered' }),
  state: z.string().optional(),
  code_challenge: z
    .string()
    .optional()
    .openapi({ description: 'BASE64URL(SHA-256(code_verifier)); required' }),
  code_challenge_method: z.string().optional().openapi({ example: 'S256', description: 'Only S256' }),
});

const pickParams = (source: Record<string, unknown>): AuthorizeParams => {
  const params: AuthorizeParams = {};
  for (const name of AUTHORIZE_PARAM_NAMES) {
    const value = source[name];
    if (typeof value === 'string') params[name] = value;
  }
  return params;
};

const consentBinding = (sessionToken: string, request: ValidAuthorizeRequest): ConsentBinding => ({
  sessionToken,
  clientId: request.app.clientId,
  redirectUri: request.redirectUri,
  scopes: request.scopes,
  codeChallenge: request.codeChallenge,
  state: request.state,
});

const authorizeUrl = (params: AuthorizeParams) => {
  const query = new URLSearchParams(params as Record<string, string>);
  return `/oauth/authorize?${query}`;
};

oauthAuthorizeRouter.openAPIRegistry.registerPath({
  method: 'get',
  path: '/oauth/authorize',
  tags: ['OAuth 2.0'],
  summary: 'Authorization endpoint (consent page)',
  description:
    'Without a session → 302 to `/login?next=…`. With one → an HTML consent page naming the app and each scope ' +
    'in plain words, whose form POSTs back here. An unknown client or a redirect_uri that does not exactly match a ' +
    'registered one → an HTML error page (never a redirect). Other errors redirect to the app with `error`, ' +
    '`error_description`, `state` and `iss`: `unsupported_response_type`, `invalid_request` (PKCE S256 missing, ' +
    'or `plain`), `invalid_scope` (a scope the app did not register).',
  request: { query: authorizeQuery },
  responses: {
    200: { description: 'The consent page', content: { 'text/html': { schema: z.string() } } },
    302: { description: 'To the sign-in page, or back to the app with an error' },
    400: {
      description: 'Error page: unknown client or unregistered redirect URI',
      content: { 'text/html': { schema: z.string() } },
    },
  },
});
oauthAuthorizeRouter.get('/oauth/authorize', async (c) => {
  pageHeaders(c, CONSENT_POLICY);
  const deps = c.get('deps');
  const params = pickParams(c.req.query());
  const check = await checkAuthorizeRequest(deps.db, params, deps.config.publicUrl);
  if (check.kind === 'page') return c.html(render.error({ title: check.title, message: check.message }), 400);
  if (check.kind === 'redirect') return c.redirect(check.url, 302);
  const signedIn = await optionalUser(c);
  if (!signedIn) return c.redirect(`/login?next=${encodeURIComponent(authorizeUrl(params))}`, 302);
  const { request } = check;
  return c.html(
    render.consent({
      appName: request.app.name,
      email: signedIn.user.email,
      scopes: request.scopes,
      hidden: {
        response_type: 'code',
        client_id: request.app.clientId,
        ...(request.redirectUriGiven ? { redirect_uri: request.redirectUri } : {}),
        scope: request.scopes.join(' '),
        code_challenge: request.codeChallenge,
        code_challenge_method: 'S256',
        ...(request.state !== undefined ? { state: request.state } : {}),
      },
      csrf: consentCsrfToken(deps.config.secretsKey, consentBinding(signedIn.sessionToken, request)),
      header: headerFor(c, signedIn),
    }),
  );
});

oauthAuthorizeRouter.openAPIRegistry.registerPath({
  method: 'post',
  path: '/oauth/authorize',
  tags: ['OAuth 2.0'],
  summary: 'The consent decision (form post from the consent page)',
  description:
    'The authorization parameters again, `decision` (`approve` or `deny`) and the page’s `csrf` token (single ' +
    'use, valid an hour, bound to the session and to the client, redirect URI, scopes, PKCE challenge and state ' +
    'the page was shown for). A foreign or `null` `Origin` → 403. Approve creates or extends the grant (recorded in the consent history, `grant.created` ' +
    'webhook) and 303-redirects with a single-use `code` (valid 120 s); deny redirects with `error=access_denied`.',
  request: {
    body: form(authorizeQuery.extend({ decision: z.enum(['approve', 'deny']), csrf: z.string() })),
  },
  responses: {
    303: { description: 'Back to the app with `code` or `error`, and `state` and `iss`' },
    400: { description: 'Error page' },
    403: { description: 'Error page: the form’s CSRF token is wrong or used, or another site sent it' },
  },
});
oauthAuthorizeRouter.post('/oauth/authorize', async (c) => {
  pageHeaders(c, CONSENT_POLICY);
  const deps = c.get('deps');
  if (!fromOwnOrigin(c)) {
    return c.html(render.error({ title: 'Form refused', message: foreignFormMessage(c, 'consent') }), 403);
  }
  const body = await c.req.parseBody().catch(() => ({}) as Record<string, unknown>);
  const params = pickParams(body);
  const check = await checkAuthorizeRequest(deps.db, params, deps.config.publicUrl);
  if (check.kind === 'page') return c.html(render.error({ title: check.title, message: check.message }), 400);
  if (check.kind === 'redirect') return c.redirect(check.url, 303);
  const signedIn = await optionalUser(c);
  if (!signedIn) return c.redirect(`/login?next=${encodeURIComponent(authorizeUrl(params))}`, 303);
  const { request } = check;
  // Checked before the token is redeemed: a form sent without a choice must stay usable.
  const decision = body.decision;
  if (decision !== 'approve' && decision !== 'deny') {
    return c.html(render.error({ title: 'No decision', message: 'Choose Allow or Deny.' }), 400);
  }
  const csrf = typeof body.csrf === 'string' ? body.csrf : '';
  if (!(await redeemConsentCsrf(deps, consentBinding(signedIn.sessionToken, request), csrf))) {
    return c.html(
      render.error({
        title: 'Form expired',
        message:
          'This consent form is not valid for this request or was already used. Start again from the app.',
      }),
      403,
    );
  }
  const issuer = deps.config.publicUrl;
  if (decision === 'deny') {
    return c.redirect(
      redirectTo(
        request.redirectUri,
        { error: 'access_denied', error_description: 'The user denied access.' },
        request.state,
        issuer,
      ),
      303,
    );
  }
  const { grant } = await grantApp(deps, {
    userId: signedIn.user.id,
    appId: request.app.id,
    scopes: request.scopes,
    mode: 'add',
    source: 'oauth',
  });
  const code = await issueAuthorizationCode(deps.db, {
    request,
    userId: signedIn.user.id,
    grantId: grant.id,
  });
  return c.redirect(redirectTo(request.redirectUri, { code }, request.state, issuer), 303);
});
