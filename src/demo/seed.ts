/**
 * Seeds the demo's world through the public API only: the operator API for the processor, apps and merchants,
 * each app's own token for its triggers, and for every cardholder what a person does: sign up (or, when the
 * email is taken, sign in), enroll cards, connect apps (`POST /v1/me/grants`, what the consent page calls),
 * sign out. Whatever already exists is found and kept, so running it again creates nothing twice.
 */
import { randomBytes } from 'node:crypto';
import type { ProcessorCredentials } from '../simulator/sign.ts';
import { type ApiClient, ApiError, eachLimit } from './client.ts';
import {
  type AppKey,
  type Cardholder,
  DEMO_MERCHANTS,
  DEMO_PASSWORD,
  type DemoApp,
  displayName,
} from './scene.ts';
import type { AppCredentials, DemoState } from './state.ts';

export interface SeededApp extends AppCredentials {
  key: AppKey;
  name: string;
  /** Its `client_credentials` access token (10 minutes: the demo asks again when it needs one later). */
  token: string;
}

/** What was made now and what was found from an earlier run. */
export interface SeedCounts {
  created: Record<'processors' | 'apps' | 'triggers' | 'merchants' | 'users' | 'cards' | 'grants', number>;
  existing: Record<'processors' | 'apps' | 'triggers' | 'merchants' | 'users' | 'cards' | 'grants', number>;
  /** Cards the platform would not enroll (another user holds the number), skipped. */
  cardsRefused: number;
}

export interface SeededScene {
  processor: ProcessorCredentials;
  apps: SeededApp[];
  merchantIds: Record<string, string>;
  counts: SeedCounts;
}

export interface SeedOptions {
  client: ApiClient;
  adminToken: string;
  state: DemoState;
  apps: DemoApp[];
  holders: Cardholder[];
  /** Where the local app receives each app's webhooks: `${webhookBase}/apps/<key>`. */
  webhookBase: string;
  /** Cardholders seeded at once. */
  concurrency: number;
  /** Told each time a cardholder is done. */
  onCardholder?: (done: number, total: number) => void;
  /** Told of what it does besides cardholders (one line each). */
  log?: (line: string) => void;
  /** Told the apps' credentials as soon as they exist, before any cardholder connects one. */
  onApps?: (apps: SeededApp[]) => void;
}

const zero = () => ({ processors: 0, apps: 0, triggers: 0, merchants: 0, users: 0, cards: 0, grants: 0 });

/**
 * The platform's one refusal of a card number (`pan`: `cannot be enrolled`, e.g. enrolled by someone else):
 * counted, the demo goes on. Any other 422 means the demo sent something wrong, and stops it.
 */
export function refusedPan(body: unknown): boolean {
  const errors = (body as { errors?: { path?: string; message?: string }[] } | null)?.errors ?? [];
  return errors.some((e) => e.path === 'pan' && e.message?.startsWith('cannot be enrolled') === true);
}

interface ProcessorBody {
  id: string;
  status: string;
  api_key: string;
  signing_secret: string;
}
interface AppBody {
  id: string;
  name: string;
  status: string;
  webhook_url: string;
  webhook_status: string;
  client_id: string;
  client_secret: string;
  webhook_secret: string;
}

async function seedProcessor(options: SeedOptions, counts: SeedCounts): Promise<ProcessorCredentials> {
  const { client, adminToken, state } = options;
  const known = state.platform.processor;
  if (known) {
    const found = await client.call<ProcessorBody>('GET', `/v1/processors/${known.id}`, {
      token: adminToken,
      expect: [200, 404],
    });
    if (found.status === 200 && found.body.status === 'active') {
      counts.existing.processors++;
      return known;
    }
  }
  const stripeEndpointSecret = `whsec_${randomBytes(24).toString('base64url')}`;
  const created = await client.call<ProcessorBody>('POST', '/v1/processors', {
    token: adminToken,
    body: { name: 'Demo processor', stripe_endpoint_secret: stripeEndpointSecret },
  });
  const processor = {
    id: created.body.id,
    apiKey: created.body.api_key,
    signingSecret: created.body.signing_secret,
    stripeEndpointSecret,
  };
  state.platform.processor = processor;
  state.save();
  counts.created.processors++;
  return processor;
}

async function seedApp(options: SeedOptions, app: DemoApp, counts: SeedCounts): Promise<SeededApp> {
  const { client, adminToken, state } = options;
  const webhookUrl = `${options.webhookBase}/apps/${app.key}`;
  let credentials = state.platform.apps[app.key];
  if (credentials) {
    const found = await client.call<AppBody>('GET', `/v1/apps/${credentials.id}`, {
      token: adminToken,
      expect: [200, 404],
    });
    if (found.status === 200 && found.body.status === 'active') {
      counts.existing.apps++;
      // The local app listens on a new port each run; an endpoint an earlier run left failing is enabled again.
      if (found.body.webhook_url !== webhookUrl || found.body.webhook_status !== 'enabled')
        await client.call('PATCH', `/v1/apps/${credentials.id}`, {
          token: adminToken,
          body: { webhook_url: webhookUrl, webhook_status: 'enabled' },
        });
    } else credentials = undefined;
  }
  if (!credentials) {
    // An app of this name whose secrets this demo no longer holds (its state file was lost) is disabled, so the
    // platform does not keep two of them acting.
    const named = (await client.all<AppBody>('/v1/apps', { token: adminToken })).filter(
      (a) => a.name === app.name && a.status === 'active',
    );
    for (const old of named) {
      await client.call('PATCH', `/v1/apps/${old.id}`, { token: adminToken, body: { status: 'disabled' } });
      options.log?.(`disabled ${app.name} (${old.id}): its secrets are not in the demo's state file`);
    }
    const created = await client.call<AppBody>('POST', '/v1/apps', {
      token: adminToken,
      body: { name: app.name, webhook_url: webhookUrl, scopes: app.scopes, fee: app.fee },
    });
    credentials = {
      id: created.body.id,
      clientId: created.body.client_id,
      clientSecret: created.body.client_secret,
      webhookSecret: created.body.webhook_secret,
    };
    state.platform.apps[app.key] = credentials;
    state.save();
    counts.created.apps++;
  }
  return { ...credentials, key: app.key, name: app.name, token: await appToken(client, credentials) };
}

/** An app's own access token (`client_credentials`). */
export async function appToken(client: ApiClient, app: AppCredentials): Promise<string> {
  const answer = await client.call<{ access_token: string }>('POST', '/oauth/token', {
    basic: [app.clientId, app.clientSecret],
    form: { grant_type: 'client_credentials' },
  });
  return answer.body.access_token;
}

async function seedMerchants(options: SeedOptions, counts: SeedCounts): Promise<Record<string, string>> {
  const { client, adminToken } = options;
  type MerchantBody = { id: string; name: string; mids: string[] };
  let existing = await client.all<MerchantBody>('/v1/merchants', { token: adminToken });
  const ids: Record<string, string> = {};
  for (const merchant of DEMO_MERCHANTS) {
    const name = displayName(merchant);
    const mids = merchant.locations.map((l) => l.mid);
    const found = existing.find((m) => m.name === name || m.mids.some((mid) => mids.includes(mid)));
    if (found) {
      ids[merchant.key] = found.id;
      counts.existing.merchants++;
      continue;
    }
    const created = await client.call<MerchantBody>('POST', '/v1/merchants', {
      token: adminToken,
      body: { name, mids, mcc: merchant.mcc, country: merchant.country, timezone: merchant.timezone },
      expect: [201, 409],
    });
    if (created.status === 409) {
      // Registered meanwhile (another run at once): read again.
      existing = await client.all<MerchantBody>('/v1/merchants', { token: adminToken });
      const again = existing.find((m) => m.mids.some((mid) => mids.includes(mid)));
      if (!again) throw new ApiError('POST', '/v1/merchants', 409, created.body);
      ids[merchant.key] = again.id;
      counts.existing.merchants++;
    } else {
      ids[merchant.key] = created.body.id;
      counts.created.merchants++;
    }
  }
  return ids;
}

async function seedTriggers(
  options: SeedOptions,
  app: DemoApp,
  seeded: SeededApp,
  merchantIds: Record<string, string>,
  counts: SeedCounts,
): Promise<void> {
  const { client } = options;
  const existing = await client.all<{ id: string; name: string }>('/v1/triggers?status=active', {
    token: seeded.token,
  });
  for (const trigger of app.triggers) {
    if (existing.some((t) => t.name === trigger.name)) {
      counts.existing.triggers++;
      continue;
    }
    await client.call('POST', '/v1/triggers', {
      token: seeded.token,
      body: { name: trigger.name, ...trigger.body(merchantIds) },
    });
    counts.created.triggers++;
  }
}

/**
 * Signs up, or in when the email is taken. The platform limits sign-ups refused for taken emails per address,
 * counting those in progress too: past it (a re-run of a large demo, or many at once) a sign-up is 429 whatever
 * the email, and signing in tells whether the account exists. One that does not yet is tried again a few times,
 * as the count falls when sign-ups in progress end.
 */
async function signUpOrIn(
  client: ApiClient,
  credentials: { email: string; password: string },
): Promise<{ isNew: boolean; token: string }> {
  for (let attempt = 1; ; attempt++) {
    const signup = await client.call('POST', '/v1/users', { body: credentials, expect: [201, 409, 429] });
    const session = await client.call<{ token: string }>('POST', '/v1/sessions', {
      body: credentials,
      ...(signup.status === 429 ? { expect: [200, 401] } : {}),
    });
    if (session.status === 200) return { isNew: signup.status === 201, token: session.body.token };
    if (attempt >= 5) throw new ApiError('POST', '/v1/users', signup.status, signup.body);
    await new Promise((resolve) => setTimeout(resolve, 500 * attempt));
  }
}

/** One cardholder, as a person would: sign up or in, enroll what is missing, connect what is missing, sign out. */
async function seedCardholder(
  options: SeedOptions,
  holder: Cardholder,
  apps: SeededApp[],
  counts: SeedCounts,
): Promise<void> {
  const { client } = options;
  const { isNew, token } = await signUpOrIn(client, { email: holder.email, password: DEMO_PASSWORD });
  counts[isNew ? 'created' : 'existing'].users++;
  try {
    // A new account has no cards and no grants yet: only an existing one is asked what it has.
    const enrolled = isNew
      ? []
      : await client.all<{ id: string; bin: string; last4: string }>('/v1/me/cards', { token });
    for (const card of holder.cards) {
      if (enrolled.some((c) => c.bin === card.pan.slice(0, 6) && c.last4 === card.pan.slice(-4))) {
        counts.existing.cards++;
        continue;
      }
      const answer = await client.call('POST', '/v1/me/cards', {
        token,
        body: { pan: card.pan, exp_month: card.expMonth, exp_year: card.expYear },
        expect: [201, 409, 422],
      });
      if (answer.status === 201) counts.created.cards++;
      else if (answer.status === 409) counts.existing.cards++;
      else if (refusedPan(answer.body)) counts.cardsRefused++;
      else throw new ApiError('POST', '/v1/me/cards', answer.status, answer.body);
    }
    const granted = isNew ? [] : await client.all<{ id: string; app_id: string }>('/v1/me/grants', { token });
    for (const key of holder.apps) {
      const app = apps.find((a) => a.key === key)!;
      if (granted.some((g) => g.app_id === app.id)) {
        counts.existing.grants++;
        continue;
      }
      const scopes = options.apps.find((a) => a.key === key)!.scopes;
      await client.call('POST', '/v1/me/grants', { token, body: { app_id: app.id, scopes } });
      counts.created.grants++;
    }
  } finally {
    await client.call('DELETE', '/v1/sessions/current', { token, expect: [204, 401] });
  }
}

/** Seeds everything; returns the credentials the feed and the local app need, and what it made. */
export async function seedScene(options: SeedOptions): Promise<SeededScene> {
  const counts: SeedCounts = { created: zero(), existing: zero(), cardsRefused: 0 };
  const processor = await seedProcessor(options, counts);
  const apps: SeededApp[] = [];
  for (const app of options.apps) apps.push(await seedApp(options, app, counts));
  options.onApps?.(apps);
  const merchantIds = await seedMerchants(options, counts);
  for (const app of options.apps)
    await seedTriggers(options, app, apps.find((a) => a.key === app.key)!, merchantIds, counts);
  let done = 0;
  await eachLimit(options.holders, options.concurrency, async (holder) => {
    await seedCardholder(options, holder, apps, counts);
    options.onCardholder?.(++done, options.holders.length);
  });
  return { processor, apps, merchantIds, counts };
}
