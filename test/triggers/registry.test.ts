import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Executor } from '../../src/db/client.ts';
import { createDeps, type OwnedDeps } from '../../src/deps.ts';
import { evaluate } from '../../src/rules/evaluate.ts';
import type { Grant, RuleEvent } from '../../src/rules/event.ts';
import { currentChangeSeq, nextChangeSeq, TRIGGERS_CHANNEL } from '../../src/triggers/changes.ts';
import { createTriggerRegistry } from '../../src/triggers/registry.ts';
import { databaseUrl, dropDatabase, uniqueName, withAdmin } from '../helpers/pg.ts';
import { usePlatform } from '../helpers/platform.ts';
import { appToken, registerApp, type TestApp } from '../oauth/support.ts';
import { coffeeEvent } from '../rules/coffee.ts';

const platform = usePlatform();

const CAFE_CASHBACK = {
  name: 'Cafe cashback',
  match: { mccs: ['5814'] },
  action: { type: 'cashback', percent_bps: 500, max: 1000 },
};

const coffee = (appId: string): { event: RuleEvent; grants: Grant[] } => ({
  event: coffeeEvent({ merchantId: null }),
  grants: [{ appId, scopes: new Set(['transactions', 'cashback']) }],
});

let app: TestApp;
let token: string;
// A second API process over the same database, with its own pool and LISTEN connection.
let other: OwnedDeps;

const createTrigger = async (body: object = CAFE_CASHBACK): Promise<string> => {
  const res = await platform.request('POST', '/v1/triggers', { body, token });
  if (res.status !== 201) throw new Error(`create trigger: ${res.status} ${res.text}`);
  return res.body.id;
};
const counter = () => currentChangeSeq(platform.deps.db);
const firing = (deps: OwnedDeps) => {
  const { event, grants } = coffee(app.id);
  return evaluate(deps.triggerRegistry.current().index, event, grants).map((t) => t.id);
};

beforeAll(async () => {
  app = await registerApp(platform, { name: 'Cafe Rewards', scopes: ['transactions', 'cashback'] });
  token = await appToken(platform, app);
  other = createDeps(platform.config, { logger: platform.deps.logger });
});

afterAll(async () => {
  await other?.close();
});

const listeningBackends = async (database = platform.databaseName) =>
  platform.deps.sql<{ pid: number }[]>`
    select pid from pg_stat_activity
    where datname = ${database} and query ilike ${`listen "${TRIGGERS_CHANNEL}"`}`;

/** Pauses a trigger in `tx` without a NOTIFY; answers the change's counter value. */
async function pauseIn(tx: Executor, id: string): Promise<number> {
  const changeSeq = await nextChangeSeq(tx);
  await tx.execute(
    sql`update triggers set status = 'paused', version = version + 1, change_seq = ${changeSeq} where id = ${id}`,
  );
  return changeSeq;
}

/** Pauses a trigger as a committed change whose NOTIFY never reached anyone; answers the change's counter value. */
const pauseSilently = (id: string) => platform.deps.db.transaction((tx) => pauseIn(tx, id));

/** Runs `body` in a transaction that is rolled back afterwards, whatever it did. */
async function rolledBack(body: (tx: Executor) => Promise<void>): Promise<void> {
  const undo = new Error('rolled back');
  await expect(
    platform.deps.db.transaction(async (tx) => {
      await body(tx);
      throw undo;
    }),
  ).rejects.toBe(undo);
}

/** A registry of its own over the platform's pool, stopped after `body`. */
async function withRegistry(body: (registry: ReturnType<typeof createTriggerRegistry>) => Promise<void>) {
  const registry = createTriggerRegistry(platform.deps);
  try {
    await body(registry);
  } finally {
    await registry.stop();
  }
}

describe('the trigger registry', () => {
  it('opens no LISTEN connection in a process that never uses it', async () => {
    const unused = createDeps(platform.config, { logger: platform.deps.logger });
    try {
      await unused.sql`select 1`;
      await createTrigger({ ...CAFE_CASHBACK, name: 'Unheard' });
      expect(await listeningBackends()).toEqual([]);
    } finally {
      await unused.close();
    }
  });

  it('holds a trigger created through the API once synced to the change counter', async () => {
    const id = await createTrigger();
    await platform.deps.triggerRegistry.syncTo(await counter());
    const { index, seq } = platform.deps.triggerRegistry.current();
    expect(seq).toBe(await counter());
    expect(index.triggers.get(id)).toMatchObject({ id, appId: app.id, status: 'active', version: 1 });
    expect(firing(platform.deps)).toContain(id);
  });

  it('hears a change made by another process through NOTIFY', async () => {
    await other.triggerRegistry.start();
    const id = await createTrigger({ ...CAFE_CASHBACK, name: 'Heard elsewhere' });
    await vi.waitFor(() => expect(other.triggerRegistry.current().index.triggers.has(id)).toBe(true), {
      timeout: 10_000,
    });
    expect(firing(other)).toContain(id);

    const paused = await platform.request('PATCH', `/v1/triggers/${id}`, {
      body: { status: 'paused' },
      token,
    });
    expect(paused.status).toBe(200);
    await vi.waitFor(() => expect(other.triggerRegistry.current().index.triggers.get(id)?.version).toBe(2), {
      timeout: 10_000,
    });
    expect(firing(other)).not.toContain(id);
  });

  it('catches up a change whose notification never came', async () => {
    await other.triggerRegistry.start();
    const id = await createTrigger({ ...CAFE_CASHBACK, name: 'Quietly paused' });
    await other.triggerRegistry.syncTo(await counter());
    expect(firing(other)).toContain(id);

    // A change committed without its NOTIFY, as a listener sees it when its connection drops at that moment.
    const seq = await pauseSilently(id);
    expect(other.triggerRegistry.current().seq).toBeLessThan(seq);

    await other.triggerRegistry.syncTo(seq);
    expect(other.triggerRegistry.current().seq).toBe(seq);
    expect(other.triggerRegistry.current().index.triggers.get(id)).toMatchObject({
      status: 'paused',
      version: 2,
    });
    expect(firing(other)).not.toContain(id);
  });

  it('catches up after its LISTEN connection is cut, with what changed before it listened again', async () => {
    await other.triggerRegistry.start();
    const id = await createTrigger({ ...CAFE_CASHBACK, name: 'Paused while away' });
    await other.triggerRegistry.syncTo(await counter());
    const seq = await pauseSilently(id);
    expect(other.triggerRegistry.current().seq).toBeLessThan(seq);

    const cut = await listeningBackends();
    expect(cut.length).toBeGreaterThan(0);
    await platform.deps
      .sql`select pg_terminate_backend(pid) from unnest(${cut.map((b) => b.pid)}::int[]) as pid`;
    // Nothing announces the pause: only the catch-up postgres.js's re-listen triggers can bring it.
    await vi.waitFor(() => expect(other.triggerRegistry.current().seq).toBeGreaterThanOrEqual(seq), {
      timeout: 10_000,
    });
    expect(other.triggerRegistry.current().index.triggers.get(id)?.status).toBe('paused');

    const resumed = await platform.request('PATCH', `/v1/triggers/${id}`, {
      body: { status: 'active' },
      token,
    });
    expect(resumed.status).toBe(200);
    await vi.waitFor(() => expect(firing(other)).toContain(id), { timeout: 10_000 });
  });

  it('takes paused and archived triggers out of evaluation, and a resumed one back in', async () => {
    const registry = platform.deps.triggerRegistry;
    const pausedId = await createTrigger({ ...CAFE_CASHBACK, name: 'To pause' });
    const archivedId = await createTrigger({ ...CAFE_CASHBACK, name: 'To archive' });
    await registry.syncTo(await counter());
    expect(firing(platform.deps)).toEqual(expect.arrayContaining([pausedId, archivedId]));

    expect(
      (await platform.request('PATCH', `/v1/triggers/${pausedId}`, { body: { status: 'paused' }, token }))
        .status,
    ).toBe(200);
    expect((await platform.request('DELETE', `/v1/triggers/${archivedId}`, { token })).status).toBe(204);
    await registry.syncTo(await counter());
    expect(firing(platform.deps)).not.toContain(pausedId);
    expect(firing(platform.deps)).not.toContain(archivedId);
    // Paused stays known (for explanations); archived leaves the index.
    expect(registry.current().index.triggers.get(pausedId)?.status).toBe('paused');
    expect(registry.current().index.triggers.has(archivedId)).toBe(false);

    expect(
      (await platform.request('PATCH', `/v1/triggers/${pausedId}`, { body: { status: 'active' }, token }))
        .status,
    ).toBe(200);
    await registry.syncTo(await counter());
    expect(firing(platform.deps)).toContain(pausedId);
  });

  it('stops listening when it cannot load, so the next use starts afresh', async () => {
    // An empty database: LISTEN works there, reading the triggers does not.
    const empty = uniqueName('cardlink_empty');
    await withAdmin((admin) => admin.unsafe(`create database "${empty}"`));
    const broken = createDeps(
      { ...platform.config, databaseUrl: databaseUrl(empty) },
      { logger: platform.deps.logger },
    );
    try {
      await expect(broken.triggerRegistry.syncTo(1)).rejects.toThrow(/triggers/);
      expect(await listeningBackends(empty)).toEqual([]);
    } finally {
      await broken.close();
      await dropDatabase(empty);
    }
  });

  it('catches up through the executor it is given: a transaction’s own change is visible to it', async () => {
    const id = await createTrigger({ ...CAFE_CASHBACK, name: 'Seen through the transaction' });
    await withRegistry(async (registry) => {
      await registry.syncTo(await counter());
      await rolledBack(async (tx) => {
        // Uncommitted, so only a read through this transaction's connection can see it.
        const seq = await pauseIn(tx, id);
        await registry.syncTo(seq, tx);
        expect(registry.current().seq).toBe(seq);
        expect(registry.current().index.triggers.get(id)?.status).toBe('paused');
      });
    });
  });

  it('loads on first use through the executor it is given', async () => {
    const id = await createTrigger({ ...CAFE_CASHBACK, name: 'Loaded through the transaction' });
    await withRegistry(async (registry) => {
      await rolledBack(async (tx) => {
        const seq = await pauseIn(tx, id);
        await registry.syncTo(seq, tx);
        expect(registry.current().index.triggers.get(id)?.status).toBe('paused');
      });
    });
  });

  it('refuses to wait for a change that has not committed', async () => {
    await expect(platform.deps.triggerRegistry.syncTo((await counter()) + 1000)).rejects.toThrow(
      /not committed/,
    );
  });
});
