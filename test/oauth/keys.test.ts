import { drizzle } from 'drizzle-orm/postgres-js';
import { SignJWT } from 'jose';
import postgres from 'postgres';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import * as schema from '../../src/db/schema/index.ts';
import { checkAccessToken } from '../../src/oauth/access-tokens.ts';
import {
  createKeyCache,
  type KeyDeps,
  rotateSigningKey,
  signingKey,
  UNKNOWN_KID_RELOAD_MS,
  verificationKey,
} from '../../src/oauth/keys.ts';
import { usePlatform } from '../helpers/platform.ts';

const platform = usePlatform();

/**
 * This test's own process view: a real pool on the test database whose queries on signing_keys are counted
 * (postgres.js `debug`), with its own key cache. `platform.deps` plays another process sharing the database.
 */
let signingKeyQueries = 0;
let sql: postgres.Sql;
let deps: KeyDeps & { config: { publicUrl: string } };

beforeAll(() => {
  sql = postgres(platform.config.databaseUrl, {
    max: 4,
    onnotice: () => {},
    debug: (_connection, query) => {
      if (query.includes('"signing_keys"')) signingKeyQueries++;
    },
  });
  deps = {
    db: drizzle(sql, { schema, casing: 'snake_case' }),
    secretBox: platform.deps.secretBox,
    signingKeyCache: createKeyCache(),
    config: { publicUrl: platform.config.publicUrl },
  };
});
afterAll(async () => {
  await sql?.end({ timeout: 5 });
});
afterEach(() => {
  vi.useRealTimers();
});

/** A clock only moving forward across the tests of this file (Date only: timers and I/O stay real). */
let clock = Date.now();
const later = (ms: number) => {
  clock = Math.max(clock, Date.now()) + ms;
  vi.useFakeTimers({ toFake: ['Date'], now: clock });
};

async function tokenWithKid(kid: string) {
  const { key } = await signingKey(platform.deps);
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ client_id: 'cli_x', scope: 'transactions' })
    .setProtectedHeader({ alg: 'ES256', kid, typ: 'at+jwt' })
    .setIssuer(platform.config.publicUrl)
    .setAudience(platform.config.publicUrl)
    .setSubject('cli_x')
    .setIssuedAt(now)
    .setExpirationTime(now + 60)
    .setJti(`at_${kid}`)
    .sign(key);
}

describe('verification keys under tokens naming unknown kids', () => {
  it('a flood of junk kids reloads the keys at most once per window and keeps the good keys cached', async () => {
    later(0);
    const good = await signingKey(platform.deps);
    expect(await verificationKey(deps, good.kid)).toBeDefined();

    // Past the window of that first load: the flood may cost one reload, no more.
    later(UNKNOWN_KID_RELOAD_MS + 1);
    signingKeyQueries = 0;
    const junk = await Promise.all(Array.from({ length: 20 }, (_, i) => tokenWithKid(`junk-${i}`)));
    const refused = await Promise.all(junk.map((token) => checkAccessToken(deps, token)));
    for (const token of junk.slice(0, 10)) refused.push(await checkAccessToken(deps, token));
    expect(refused.every((result) => !result.ok && result.reason === 'invalid')).toBe(true);
    expect(signingKeyQueries).toBeLessThanOrEqual(1);

    // The good key is still cached: no reload, and its tokens still verify.
    signingKeyQueries = 0;
    expect(await verificationKey(deps, good.kid)).toBeDefined();
    expect(signingKeyQueries).toBe(0);
  });

  it("another process's rotation is picked up: at once when no reload was recent, else once the window passes", async () => {
    later(UNKNOWN_KID_RELOAD_MS + 1);
    const first = await rotateSigningKey(platform.deps);
    signingKeyQueries = 0;
    expect(await verificationKey(deps, first.kid)).toBeDefined();
    expect(signingKeyQueries).toBe(1);

    // A junk kid right after; then another rotation inside the window is seen as soon as the window ends.
    expect(await verificationKey(deps, 'junk-after-rotation')).toBeUndefined();
    const second = await rotateSigningKey(platform.deps);
    expect(await verificationKey(deps, second.kid)).toBeUndefined();
    later(UNKNOWN_KID_RELOAD_MS + 1);
    expect(await verificationKey(deps, second.kid)).toBeDefined();
    // The retired key still verifies its live tokens.
    expect(await verificationKey(deps, first.kid)).toBeDefined();

    // A rotation by this process itself is seen at once, even right after a junk kid's reload.
    expect(await verificationKey(deps, 'junk-before-own-rotation')).toBeUndefined();
    const own = await rotateSigningKey(deps);
    expect(await verificationKey(deps, own.kid)).toBeDefined();
    expect(await verificationKey(deps, second.kid)).toBeDefined();
  });
});
