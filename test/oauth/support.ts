import { createHash, randomBytes } from 'node:crypto';
import type { TestPlatform } from '../helpers/platform.ts';

/** Test cards that pass the Luhn check, one per scheme. */
export const CARDS = {
  visa: '4242424242424242',
  visa2: '4000056655665556',
  mastercard: '5555555555554444',
  mastercard2: '2223003122003222',
  amex: '378282246310005',
  discover: '6011111111111117',
  discover2: '6445644564456445',
} as const;

export const REDIRECT_URI = 'http://127.0.0.1:8123/callback';

let counter = 0;
export const uniqueEmail = (label = 'user') => `${label}-${Date.now()}-${counter++}@example.com`;

export interface TestUser {
  id: string;
  email: string;
  password: string;
  token: string;
}

/** Signs a user up and in through the public API. */
export async function signUp(platform: TestPlatform, label = 'user'): Promise<TestUser> {
  const email = uniqueEmail(label);
  const password = 'correct horse battery staple';
  const created = await platform.request('POST', '/v1/users', { body: { email, password } });
  if (created.status !== 201) throw new Error(`sign-up failed: ${created.status} ${created.text}`);
  const session = await platform.request('POST', '/v1/sessions', { body: { email, password } });
  if (session.status !== 200) throw new Error(`sign-in failed: ${session.status} ${session.text}`);
  return { id: created.body.id, email, password, token: session.body.token };
}

export interface TestApp {
  id: string;
  client_id: string;
  client_secret: string;
  /** The Standard Webhooks secret (`whsec_…`) its webhooks are signed with. */
  webhook_secret: string;
  name: string;
}

/** Registers an app through the operator API. */
export async function registerApp(
  platform: TestPlatform,
  options: { name?: string; scopes?: string[]; redirectUris?: string[]; webhookUrl?: string } = {},
): Promise<TestApp> {
  const res = await platform.admin('POST', '/v1/apps', {
    body: {
      name: options.name ?? 'Coffee Rewards',
      webhook_url: options.webhookUrl ?? 'http://127.0.0.1:9/hooks',
      redirect_uris: options.redirectUris ?? [REDIRECT_URI],
      scopes: options.scopes ?? ['transactions', 'cashback', 'receipts'],
    },
  });
  if (res.status !== 201) throw new Error(`app registration failed: ${res.status} ${res.text}`);
  return res.body;
}

export const pkcePair = () => {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
};

export function authorizeQuery(app: TestApp, params: Record<string, string | undefined>): string {
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries({
    response_type: 'code',
    client_id: app.client_id,
    redirect_uri: REDIRECT_URI,
    ...params,
  })) {
    if (value !== undefined) query.set(name, value);
  }
  return `/oauth/authorize?${query}`;
}

const decode = (value: string) =>
  value
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');

/** The hidden inputs of the first form on an HTML page. */
export function hiddenFields(html: string): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const match of html.matchAll(/<input([^>]*)>/g)) {
    const attributes = Object.fromEntries(
      [...match[1]!.matchAll(/([\w-]+)="([^"]*)"/g)].map((m) => [m[1]!, decode(m[2]!)]),
    );
    if (attributes.type === 'hidden' && attributes.name) fields[attributes.name] = attributes.value ?? '';
  }
  return fields;
}

export const form = (fields: Record<string, string>) => ({
  raw: new URLSearchParams(fields).toString(),
  headers: { 'content-type': 'application/x-www-form-urlencoded' },
});

/**
 * Drives consent in-process as the signed-in user (session cookie): GET the consent page, POST its form with
 * `decision`. Returns the redirect back to the app.
 */
export async function consent(
  platform: TestPlatform,
  user: TestUser,
  app: TestApp,
  options: { scope?: string; decision?: 'approve' | 'deny'; state?: string; challenge?: string } = {},
): Promise<URL> {
  const cookie = `cardlink_session=${user.token}`;
  const page = await platform.request(
    'GET',
    authorizeQuery(app, {
      scope: options.scope ?? 'transactions cashback',
      state: options.state ?? 'st-1',
      code_challenge: options.challenge ?? pkcePair().challenge,
      code_challenge_method: 'S256',
    }),
    { headers: { cookie } },
  );
  if (page.status !== 200) throw new Error(`consent page: ${page.status} ${page.text}`);
  const fields = { ...hiddenFields(page.text), decision: options.decision ?? 'approve' };
  const decided = await platform.request('POST', '/oauth/authorize', {
    ...form(fields),
    headers: { ...form(fields).headers, cookie },
  });
  if (decided.status !== 303) throw new Error(`decision: ${decided.status} ${decided.text}`);
  return new URL(decided.headers.get('location')!);
}

export const basicAuth = (app: TestApp) =>
  `Basic ${Buffer.from(`${encodeURIComponent(app.client_id)}:${encodeURIComponent(app.client_secret)}`).toString('base64')}`;

/** POSTs a form to a token-side endpoint with client_secret_basic. */
export function tokenRequest(
  platform: TestPlatform,
  app: TestApp | undefined,
  path: string,
  fields: Record<string, string>,
) {
  const body = form(fields);
  return platform.request('POST', path, {
    raw: body.raw,
    headers: { ...body.headers, ...(app ? { authorization: basicAuth(app) } : {}) },
  });
}

/** The app's own access token (client_credentials), as it manages its triggers with. */
export async function appToken(platform: TestPlatform, app: TestApp): Promise<string> {
  const res = await tokenRequest(platform, app, '/oauth/token', { grant_type: 'client_credentials' });
  if (res.status !== 200) throw new Error(`token: ${res.status} ${res.text}`);
  return res.body.access_token;
}

/** A full authorization for `user` → tokens for `app`, in-process. */
export async function authorize(
  platform: TestPlatform,
  user: TestUser,
  app: TestApp,
  scope = 'transactions cashback',
): Promise<{ access_token: string; refresh_token: string; scope: string; code: string; verifier: string }> {
  const { verifier, challenge } = pkcePair();
  const back = await consent(platform, user, app, { scope, challenge });
  const code = back.searchParams.get('code');
  if (!code) throw new Error(`no code: ${back}`);
  const res = await tokenRequest(platform, app, '/oauth/token', {
    grant_type: 'authorization_code',
    code,
    redirect_uri: REDIRECT_URI,
    code_verifier: verifier,
  });
  if (res.status !== 200) throw new Error(`token: ${res.status} ${res.text}`);
  return { ...res.body, code, verifier };
}
