// A rewards scene for the rules engine's tests: a processor, an app with a token, cardholders who grant it.
import { cards, grants, users } from '../../src/db/schema/index.ts';
import { createDeps, type OwnedDeps } from '../../src/deps.ts';
import { nextGrantChangeSeq } from '../../src/grants/changes.ts';
import { grantApp, revokeGrant } from '../../src/grants/grants.ts';
import { createHttpServer } from '../../src/http/server.ts';
import { newId } from '../../src/lib/ids.ts';
import type { TestPlatform } from '../helpers/platform.ts';
import {
  createTestProcessor,
  enrollCard,
  postEvents,
  signedHeaders,
  type TestProcessor,
  testPan,
} from '../ingest/fixtures.ts';
import { appToken, registerApp, type TestApp } from '../oauth/support.ts';

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
  /**
   * Many cardholders granting the app every scope, written in one transaction (users, cards, grants and one
   * grant change) rather than one consent each: what the rules engine reads of a grant, made quickly.
   */
  cardholders(count: number): Promise<Cardholder[]>;
  revoke(userId: string): Promise<void>;
  /** Posts events (200 expected) and returns each event's result. */
  send(
    ...events: Record<string, unknown>[]
  ): Promise<{ event_id: string; status: string; actions: number }[]>;
}

export async function rewardsScene(
  platform: TestPlatform,
  options: { scopes?: string[]; name?: string; webhookUrl?: string } = {},
): Promise<RewardsScene> {
  const processor = await createTestProcessor(platform);
  const appScopes = options.scopes ?? ['transactions', 'cashback', 'loyalty', 'coupons', 'receipts'];
  const app = await registerApp(platform, {
    name: options.name ?? 'Coffee Rewards',
    scopes: appScopes,
    webhookUrl: options.webhookUrl,
  });
  const token = await appToken(platform, app);
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
    async cardholders(count) {
      const made = Array.from({ length: count }, () => ({
        userId: newId('usr'),
        cardId: newId('crd'),
        pan: testPan(panSeed++),
      }));
      await platform.deps.db.transaction(async (tx) => {
        const changeSeq = await nextGrantChangeSeq(tx);
        await tx
          .insert(users)
          .values(made.map((h) => ({ id: h.userId, email: `${h.userId}@example.test`, passwordHash: 'x' })));
        await tx.insert(cards).values(
          made.map((h) => ({
            id: h.cardId,
            userId: h.userId,
            fingerprint: platform.deps.cardKeys.fingerprint(h.pan),
            bin: h.pan.slice(0, 6),
            last4: h.pan.slice(-4),
            scheme: 'visa' as const,
            expMonth: 12,
            expYear: 2030,
          })),
        );
        await tx.insert(grants).values(
          made.map((h) => ({
            id: newId('grt'),
            userId: h.userId,
            appId: app.id,
            scopes: [...appScopes].sort(),
            changeSeq,
          })),
        );
      });
      return made;
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

/** A second API process over the same database: its own deps (pool, caches, trigger registry) and server. */
export interface OtherProcess {
  deps: OwnedDeps;
  /** POST /v1/events to this process, signed as `processor`; answers each event's result (200 expected). */
  send(
    processor: TestProcessor,
    ...events: Record<string, unknown>[]
  ): Promise<{ event_id: string; status: string; actions: number }[]>;
  close(): Promise<void>;
}

export async function otherProcess(platform: TestPlatform): Promise<OtherProcess> {
  const deps = createDeps(platform.config, { logger: platform.deps.logger });
  const { server } = createHttpServer(deps, { hostname: '127.0.0.1' });
  const url = await new Promise<string>((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      resolve(`http://127.0.0.1:${(server.address() as { port: number }).port}`);
    });
  });
  return {
    deps,
    async send(processor, ...events) {
      const raw = JSON.stringify({ events });
      const res = await fetch(`${url}/v1/events`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${processor.apiKey}`,
          'content-type': 'application/json',
          ...signedHeaders(processor, raw),
        },
        body: raw,
      });
      const text = await res.text();
      if (res.status !== 200) throw new Error(`events (other process): ${res.status} ${text}`);
      return JSON.parse(text).results;
    },
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await deps.close();
    },
  };
}

/** Holds `other`'s next ingest transaction open inside reserve (after its events are inserted and its cards locked). */
export async function holdNextIngest(
  other: OtherProcess,
): Promise<{ inside: Promise<void>; release: () => void }> {
  await other.deps.triggerRegistry.catchUp();
  const cache = other.deps.grantCache;
  const original = cache.syncTo;
  let release!: () => void;
  const gate = new Promise<void>((r) => {
    release = r;
  });
  let entered!: () => void;
  const inside = new Promise<void>((r) => {
    entered = r;
  });
  cache.syncTo = async (conn, seq) => {
    cache.syncTo = original;
    entered();
    await gate;
    return original(conn, seq);
  };
  return { inside, release };
}

/** A trigger's firings, in order: the purchase each was for and whether it was given back. */
export const triggerActions = (platform: TestPlatform, triggerId: string) =>
  platform.deps.sql<{ purchase_id: string; given_back: boolean }[]>`
    select purchase_id, given_back_at is not null as given_back from actions where trigger_id = ${triggerId}
    order by id`;

/** A trigger's redemptions counter. */
export const redemptionsOf = async (platform: TestPlatform, triggerId: string) =>
  (
    await platform.deps.sql<{ redemptions: number }[]>`
      select redemptions::int from trigger_counters where trigger_id = ${triggerId}`
  )[0];

/** A trigger body: 10% cashback on purchases at `mid`, within `limits` if given. */
export const cashbackAt = (mid: string, limits?: Record<string, unknown>) => ({
  name: 'Cashback',
  match: { mids: [mid] },
  ...(limits ? { limits } : {}),
  action: { type: 'cashback', percent_bps: 1000 },
});
