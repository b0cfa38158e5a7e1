import { beforeAll, describe, expect, it } from 'vitest';
import type { Sql } from '../../src/db/client.ts';
import { createGrantCache } from '../../src/grants/grant-cache.ts';
import { type RewardsScene, rewardsScene } from '../actions/support.ts';
import { usePlatform } from '../helpers/platform.ts';

const platform = usePlatform();

let scene: RewardsScene;

beforeAll(async () => {
  scene = await rewardsScene(platform, { scopes: ['transactions', 'cashback'] });
});

const grantCounter = async () => {
  const [row] = await platform.deps.sql<{ seq: string }[]>`select seq::text from grant_changes where id = 1`;
  return Number(row?.seq ?? 0);
};

/** The platform's pool, counting the rows its queries return. */
function counting() {
  const read = { rows: 0 };
  const conn = (async (strings: TemplateStringsArray, ...values: never[]) => {
    const rows = await platform.deps.sql(strings, ...values);
    read.rows += rows.length;
    return rows;
  }) as unknown as Sql;
  return { conn, read };
}

/** The platform's pool, running no query until `open()`. */
function gated() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  const conn = (async (strings: TemplateStringsArray, ...values: never[]) => {
    await opened;
    return platform.deps.sql(strings, ...values);
  }) as unknown as Sql;
  return { conn, open };
}

describe('the grants cache', () => {
  it('takes only the counter on its first sync, however many grants ever changed', async () => {
    const holders = await scene.cardholders(50);
    const cache = createGrantCache();
    const { conn, read } = counting();
    await cache.syncTo(conn, await grantCounter());
    expect(read.rows).toBe(1);

    const grants = await cache.grantsOf(platform.deps.sql, [holders[0]!.userId]);
    expect(grants.get(holders[0]!.userId)).toEqual([
      { appId: scene.app.id, scopes: new Set(['cashback', 'transactions']) },
    ]);
  });

  it('forgets a revoked grant at the next sync once it holds users', async () => {
    const [holder] = await scene.cardholders(1);
    const cache = createGrantCache();
    await cache.syncTo(platform.deps.sql, await grantCounter());
    expect((await cache.grantsOf(platform.deps.sql, [holder!.userId])).get(holder!.userId)).toHaveLength(1);

    await scene.revoke(holder!.userId);
    await cache.syncTo(platform.deps.sql, await grantCounter());
    expect((await cache.grantsOf(platform.deps.sql, [holder!.userId])).get(holder!.userId)).toEqual([]);
  });

  it('keeps no grant read while its first sync took the counter, when a change came in between', async () => {
    const [holder] = await scene.cardholders(1);
    const cache = createGrantCache();
    const sync = gated();
    // The first sync starts with nothing cached; its read of the counter waits.
    const synced = cache.syncTo(sync.conn, await grantCounter());
    // Meanwhile a batch reads the user's grant, and the grant is revoked before the counter is read.
    expect((await cache.grantsOf(platform.deps.sql, [holder!.userId])).get(holder!.userId)).toHaveLength(1);
    await scene.revoke(holder!.userId);
    sync.open();
    await synced;
    expect((await cache.grantsOf(platform.deps.sql, [holder!.userId])).get(holder!.userId)).toEqual([]);
  });

  it('shares one frozen grant, and one scope set, between users who grant the same', async () => {
    const [a, b] = await scene.cardholders(2);
    const cache = createGrantCache();
    await cache.syncTo(platform.deps.sql, await grantCounter());
    const grants = await cache.grantsOf(platform.deps.sql, [a!.userId, b!.userId]);
    const [ofA] = grants.get(a!.userId)!;
    const [ofB] = grants.get(b!.userId)!;
    expect(ofA).toBe(ofB);
    expect(Object.isFrozen(ofA)).toBe(true);
    expect(Object.isFrozen(ofA!.scopes)).toBe(true);
  });
});
