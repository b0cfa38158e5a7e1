// A rewards scene for the rules engine's tests: a processor, an app with a token, cardholders who grant it.
import { grantApp, revokeGrant } from '../../src/grants/grants.ts';
import type { TestPlatform } from '../helpers/platform.ts';
import {
  createTestProcessor,
  enrollCard,
  postEvents,
  type TestProcessor,
  testPan,
} from '../ingest/fixtures.ts';
import { registerApp, type TestApp, tokenRequest } from '../oauth/support.ts';

let panSeed = 5_000;

export interface Cardholder {
  userId: string;
  cardId: string;
  pan: string;
}

export interface RewardsScene {
  processor: TestProcessor;
  app: TestApp;
  token: string;
  /** Creates a trigger through the API (201 expected) and returns its body. */
  createTrigger(body: Record<string, unknown>): Promise<any>;
  patchTrigger(id: string, body: Record<string, unknown>): Promise<any>;
  /** A new user with an enrolled card, granting the app these scopes (none: no grant). */
  cardholder(scopes?: string[]): Promise<Cardholder>;
  revoke(userId: string): Promise<void>;
  /** Posts events (200 expected) and returns each event's result. */
  send(
    ...events: Record<string, unknown>[]
  ): Promise<{ event_id: string; status: string; actions: number }[]>;
}

export async function rewardsScene(
  platform: TestPlatform,
  options: { scopes?: string[]; name?: string } = {},
): Promise<RewardsScene> {
  const processor = await createTestProcessor(platform);
  const app = await registerApp(platform, {
    name: options.name ?? 'Coffee Rewards',
    scopes: options.scopes ?? ['transactions', 'cashback', 'loyalty', 'coupons', 'receipts'],
  });
  const tokenRes = await tokenRequest(platform, app, '/oauth/token', { grant_type: 'client_credentials' });
  if (tokenRes.status !== 200) throw new Error(`token: ${tokenRes.status} ${tokenRes.text}`);
  const token: string = tokenRes.body.access_token;
  const grantDeps = { db: platform.deps.db, config: platform.deps.config };
  return {
    processor,
    app,
    token,
    async createTrigger(body) {
      const res = await platform.request('POST', '/v1/triggers', { body, token });
      if (res.status !== 201) throw new Error(`trigger: ${res.status} ${res.text}`);
      return res.body;
    },
    async patchTrigger(id, body) {
      const res = await platform.request('PATCH', `/v1/triggers/${id}`, { body, token });
      if (res.status !== 200) throw new Error(`patch: ${res.status} ${res.text}`);
      return res.body;
    },
    async cardholder(scopes = ['transactions', 'cashback', 'loyalty', 'coupons', 'receipts']) {
      const pan = testPan(panSeed++);
      const { userId, cardId } = await enrollCard(platform, pan);
      if (scopes.length > 0)
        await grantApp(grantDeps, { userId, appId: app.id, scopes, mode: 'replace', source: 'api' });
      return { userId, cardId, pan };
    },
    async revoke(userId) {
      await revokeGrant(grantDeps, { userId, appId: app.id, source: 'api' });
    },
    async send(...events) {
      const res = await postEvents(platform, processor, { events });
      if (res.status !== 200) throw new Error(`events: ${res.status} ${res.text}`);
      return res.body.results;
    },
  };
}
