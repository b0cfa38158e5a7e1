import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { grantApp } from '../../src/grants/grants.ts';
import { TRIGGERS_CHANNEL } from '../../src/triggers/changes.ts';
import { usePlatform } from '../helpers/platform.ts';
import { authorization } from '../ingest/fixtures.ts';
import { signUp } from '../oauth/support.ts';
import {
  type Cardholder,
  type OtherProcess,
  otherProcess,
  type RewardsScene,
  rewardsScene,
} from './support.ts';

// Process A is the platform (changes go through its API); process B is a second API process on the same
// database that ingests. Every check sends B's event right after A answered: nothing waits for a notification.
const platform = usePlatform();
let scene: RewardsScene;
let b: OtherProcess;
/** A third process that never hears a notification: only the change counters can tell it what changed. */
let deaf: OtherProcess;

let midSeed = 100;
const merchant = () => {
  const mid = `H${midSeed++}`;
  return { mid, name: 'BLUE BOTTLE COFFEE', mcc: '5814', city: 'Oakland', country: 'US' };
};
type Merchant = ReturnType<typeof merchant>;

const cashback = (at: Merchant) => ({
  name: 'Coffee cashback',
  match: { mids: [at.mid] },
  action: { type: 'cashback', percent_bps: 1000 },
});

let ingestingProcess: () => OtherProcess = () => b;

/** The actions one purchase ingested through B caused. */
const firedOnB = async (holder: Cardholder, at: Merchant, extra: Record<string, unknown> = {}) =>
  (
    await ingestingProcess().send(scene.processor, authorization({ pan: holder.pan, merchant: at, ...extra }))
  )[0]!.actions;

const listeners = () =>
  platform.deps.sql<{ pid: number }[]>`
    select pid from pg_stat_activity
    where datname = ${platform.databaseName} and query ilike ${`listen "${TRIGGERS_CHANNEL}"`}`;

beforeAll(async () => {
  scene = await rewardsScene(platform);
  b = await otherProcess(platform);
  deaf = await otherProcess(platform);
  // Its LISTEN "succeeds" and nothing ever arrives, as when notifications are lost for good.
  deaf.deps.sql.listen = (async (_channel: string, _onNotify: unknown, onListen?: () => void) => {
    onListen?.();
    return { state: {}, unlisten: async () => {} };
  }) as unknown as typeof deaf.deps.sql.listen;
});

afterAll(async () => {
  await b?.close();
  await deaf?.close();
});

/** Trigger and grant changes through A, each seen by B's very next event. */
function changesSeenByB() {
  it('a trigger created through A fires for the next event through B', async () => {
    const holder = await scene.cardholder();
    const at = merchant();
    // B has loaded its index and cached the holder's grants before the trigger exists.
    expect(await firedOnB(holder, at)).toBe(0);
    await scene.createTrigger(cashback(at));
    expect(await firedOnB(holder, at)).toBe(1);
  });

  it('a patch through A holds for the next event through B', async () => {
    const holder = await scene.cardholder();
    const at = merchant();
    const trigger = await scene.createTrigger(cashback(at));
    expect(await firedOnB(holder, at, { amount: 475 })).toBe(1);
    await scene.patchTrigger(trigger.id, { match: { mids: [at.mid], amount_max: 400 } });
    expect(await firedOnB(holder, at, { amount: 475 })).toBe(0);
    expect(await firedOnB(holder, at, { amount: 400 })).toBe(1);
  });

  it('a trigger paused through A does not fire through B, and fires again once resumed', async () => {
    const holder = await scene.cardholder();
    const at = merchant();
    const trigger = await scene.createTrigger(cashback(at));
    expect(await firedOnB(holder, at)).toBe(1);
    await scene.patchTrigger(trigger.id, { status: 'paused' });
    expect(await firedOnB(holder, at)).toBe(0);
    await scene.patchTrigger(trigger.id, { status: 'active' });
    expect(await firedOnB(holder, at)).toBe(1);
  });

  it('a trigger archived through A never fires through B again', async () => {
    const holder = await scene.cardholder();
    const at = merchant();
    const trigger = await scene.createTrigger(cashback(at));
    expect(await firedOnB(holder, at)).toBe(1);
    const archived = await platform.request('DELETE', `/v1/triggers/${trigger.id}`, { token: scene.token });
    expect(archived.status).toBe(204);
    expect(await firedOnB(holder, at)).toBe(0);
    const revived = await platform.request('PATCH', `/v1/triggers/${trigger.id}`, {
      body: { status: 'active' },
      token: scene.token,
    });
    expect(revived.status).not.toBe(200);
    expect(await firedOnB(holder, at)).toBe(0);
  });

  it('a scope taken away through A holds for the next event through B', async () => {
    const holder = await scene.cardholder();
    const at = merchant();
    await scene.createTrigger(cashback(at));
    expect(await firedOnB(holder, at)).toBe(1);
    await grantApp(
      { db: platform.deps.db, config: platform.deps.config },
      {
        userId: holder.userId,
        appId: scene.app.id,
        scopes: ['transactions'],
        mode: 'replace',
        source: 'api',
      },
    );
    expect(await firedOnB(holder, at)).toBe(0);
  });

  it('an app disabled through A fires nothing for the next event through B, and fires again once enabled', async () => {
    const own = await rewardsScene(platform, { name: 'Soon disabled' });
    const holder = await own.cardholder();
    const at = merchant();
    await own.createTrigger(cashback(at));
    const sendOnB = async () =>
      (await ingestingProcess().send(own.processor, authorization({ pan: holder.pan, merchant: at })))[0]!
        .actions;
    expect(await sendOnB()).toBe(1);
    const setStatus = (status: string) =>
      platform.admin('PATCH', `/v1/apps/${own.app.id}`, { body: { status } });
    expect((await setStatus('disabled')).status).toBe(200);
    expect(await sendOnB()).toBe(0);
    expect((await setStatus('active')).status).toBe(200);
    expect(await sendOnB()).toBe(1);
  });

  it('a grant revoked through A fires nothing for the next event through B', async () => {
    const holder = await scene.cardholder();
    const at = merchant();
    await scene.createTrigger(cashback(at));
    expect(await firedOnB(holder, at)).toBe(1);
    await scene.revoke(holder.userId);
    expect(await firedOnB(holder, at)).toBe(0);
  });
}

describe('hot reload across two API processes', () => {
  changesSeenByB();

  it('a grant revoked with DELETE /v1/me/grants/{app_id} fires nothing for the next event through B', async () => {
    const user = await signUp(platform, 'revoker');
    const pan = '4242424242424242';
    const card = await platform.request('POST', '/v1/me/cards', {
      token: user.token,
      body: { pan, exp_month: 5, exp_year: new Date().getUTCFullYear() + 1 },
    });
    expect(card.status).toBe(201);
    const granted = await platform.request('POST', '/v1/me/grants', {
      token: user.token,
      body: { app_id: scene.app.id, scopes: ['transactions', 'cashback'] },
    });
    expect(granted.status).toBe(201);
    const at = merchant();
    await scene.createTrigger(cashback(at));
    const holder = { userId: user.id, cardId: card.body.id, pan };
    expect(await firedOnB(holder, at)).toBe(1);
    const revoked = await platform.request('DELETE', `/v1/me/grants/${scene.app.id}`, { token: user.token });
    expect(revoked.status).toBe(204);
    expect(await firedOnB(holder, at)).toBe(0);
  });
});

describe("hot reload once B's LISTEN connection is cut", () => {
  beforeAll(async () => {
    // Both processes listen once they have ingested or changed a trigger (the tests above); cut every listener.
    const cut = await listeners();
    expect(cut.length).toBeGreaterThan(0);
    await platform.deps
      .sql`select pg_terminate_backend(pid) from unnest(${cut.map((l) => l.pid)}::int[]) as pid`;
  });

  changesSeenByB();
});

describe('hot reload in a process that never hears a notification', () => {
  beforeAll(() => {
    ingestingProcess = () => deaf;
  });

  changesSeenByB();
});
