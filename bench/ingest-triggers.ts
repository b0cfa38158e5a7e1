/**
 * The trigger world `npm run bench -- ingest` loads for its "with triggers" phases: 1,000 apps of 100 triggers
 * each, every bench cardholder granting 1 to 10 of them, and a MID chooser that sends about 30% of purchases to
 * a merchant one of the cardholder's apps has a trigger for. Written in bulk SQL into the real tables, then the
 * change counters are bumped so the running server's registry and grants cache catch up on its next batch.
 * It can be loaded in steps (the first 1, then 10, … triggers of every app) for the sweep of throughput against
 * the number of triggers: the apps, grants and share of purchases at a trigger's MID are the same at each step.
 */
import postgres from 'postgres';
import { mulberry32 } from './rules-world.ts';

export const APP_COUNT = 1_000;
export const TRIGGERS_PER_APP = 100;
export const MID_COUNT = 10_000;
/** Purchases sent to a MID one of the cardholder's apps names (the rest: any of the MIDs). */
export const AT_GRANTED_MERCHANTS = 0.3;

export const benchMid = (i: number) => `M${String(i).padStart(6, '0')}`;

export interface TriggerWorld {
  /** The MID of purchase `n` by cardholder `user`, among the first `perApp` triggers of the user's apps. */
  midFor(user: number, n: number, perApp?: number): string;
  summary: Record<string, unknown>;
}

/** The same MIDs every run, without the world loaded (the phases without triggers send the same purchases). */
export function worldMids(users: number, seed = 17) {
  const random = mulberry32(seed);
  const int = (n: number) => Math.floor(random() * n);
  /** MIDs each app's triggers name. */
  const midsOfApp: number[][] = Array.from({ length: APP_COUNT }, () =>
    Array.from({ length: TRIGGERS_PER_APP }, () => int(MID_COUNT)),
  );
  const appsOfUser: number[][] = [];
  for (let u = 0; u < users; u++) {
    const granted = new Set<number>();
    const want = 1 + int(10);
    while (granted.size < want) granted.add(int(APP_COUNT));
    appsOfUser.push([...granted]);
  }
  /** `perApp`: the triggers of each app loaded so far (a step of the sweep), the MIDs a purchase may aim at. */
  const midFor = (user: number, n: number, perApp = TRIGGERS_PER_APP) => {
    // A hash of n, not the PRNG: the chooser must give the same MID for the same purchase in any order.
    const h = Math.imul(n ^ (n >>> 13), 0x5bd1e995) >>> 0;
    if ((h % 1000) / 1000 < AT_GRANTED_MERCHANTS) {
      const apps = appsOfUser[user]!;
      const app = apps[(h >>> 10) % apps.length]!;
      return benchMid(midsOfApp[app]![(h >>> 4) % perApp]!);
    }
    return benchMid((h >>> 8) % MID_COUNT);
  };
  return { midsOfApp, appsOfUser, midFor };
}

/**
 * Inserts triggers `from` to `to` (exclusive) of every app, with their version rows, and bumps the trigger change
 * counter; with `from` 0 the apps and grants too (and the grant change counter). Triggers:
 * 84.5% name one MID, 15% an MCC (5812, restaurants: the bench's purchases are at coffee shops, 5814) with an
 * amount range, and a few (0.5%) no key, with an amount floor (85 to 90 USD: about 7% of the purchases are that
 * large, and most cardholders' apps have one such trigger between them).
 * Actions: cashback (half with a budget), points, receipts, webhooks.
 */
export async function seedTriggerWorld(
  databaseUrl: string,
  users: number,
  userId: (index: number) => string,
  { from = 0, to = TRIGGERS_PER_APP }: { from?: number; to?: number } = {},
): Promise<TriggerWorld> {
  const world = worldMids(users);
  const sql = postgres(databaseUrl, { max: 1, onnotice: () => {} });
  const appId = (a: number) => `app_bench${String(a).padStart(5, '0')}`;
  try {
    const [counter] = await sql<{ seq: string }[]>`
      insert into trigger_changes (id, seq) values (1, 1)
      on conflict (id) do update set seq = trigger_changes.seq + 1 returning seq::text`;
    const seq = counter!.seq;
    const grants = world.appsOfUser.flatMap((apps, u) =>
      apps.map((a) => [userId(u), appId(a)] as [string, string]),
    );
    if (from === 0) await seedAppsAndGrants(sql, grants);
    const triggers = worldTriggers(world.midsOfApp, appId).flatMap((ofApp) => ofApp.slice(from, to));
    for (let at = 0; at < triggers.length; at += 20_000) {
      const chunk = JSON.stringify(triggers.slice(at, at + 20_000));
      await sql`
        insert into triggers (id, app_id, name, version, match, limits, action, change_seq)
        select t->>0, t->>1, 'Bench trigger', 1, t->2, t->3, t->4, ${seq}::bigint
        from jsonb_array_elements(${chunk}::text::jsonb) t`;
      await sql`
        insert into trigger_versions (trigger_id, version, name, status, match, limits, action)
        select t->>0, 1, 'Bench trigger', 'active', t->2, t->3, t->4
        from jsonb_array_elements(${chunk}::text::jsonb) t`;
    }
    await sql`analyze`;
    return {
      midFor: world.midFor,
      summary: {
        apps: APP_COUNT,
        triggers: APP_COUNT * to,
        mix: 'per app: 84.5% name one MID, 15% MCC 5812 with an amount range, 0.5% no key with amount ≥ 85-90 USD',
        grants: grants.length,
        apps_per_cardholder: '1 to 10',
        mids: MID_COUNT,
        purchases_at_a_granted_apps_mid: AT_GRANTED_MERCHANTS,
      },
    };
  } finally {
    await sql.end({ timeout: 5 });
  }
}

async function seedAppsAndGrants(sql: postgres.Sql, grants: [string, string][]): Promise<void> {
  const [grantCounter] = await sql<{ seq: string }[]>`
    insert into grant_changes (id, seq) values (1, 1)
    on conflict (id) do update set seq = grant_changes.seq + 1 returning seq::text`;
  const grantSeq = grantCounter!.seq;
  await sql`
    insert into apps (id, name, webhook_url, redirect_uris, scopes, client_id, client_secret_hash,
      webhook_secret_sealed)
    select 'app_bench' || lpad(a::text, 5, '0'), 'Bench app ' || a, 'https://example.test/hooks', '{}',
      '{transactions,receipts,loyalty,cashback,coupons,social}', 'cli_bench' || a, 'x', 'x'
    from generate_series(0, ${APP_COUNT - 1}) a`;
  for (let at = 0; at < grants.length; at += 50_000) {
    const chunk = grants.slice(at, at + 50_000);
    await sql`
      insert into grants (id, user_id, app_id, scopes, change_seq)
      select 'grt_bench' || (${at}::int + ordinality), g->>0, g->>1,
        '{transactions,receipts,loyalty,cashback,coupons,social}', ${grantSeq}::bigint
      from jsonb_array_elements(${JSON.stringify(chunk)}::text::jsonb) with ordinality as x(g, ordinality)`;
  }
}

/** Every app's TRIGGERS_PER_APP triggers as rows to insert, the same on every run whatever is loaded of them. */
function worldTriggers(midsOfApp: number[][], appId: (a: number) => string): unknown[][][] {
  const random = mulberry32(29);
  const int = (n: number) => Math.floor(random() * n);
  const triggers: unknown[][][] = [];
  for (let a = 0; a < APP_COUNT; a++) {
    const ofApp: unknown[][] = [];
    for (let t = 0; t < TRIGGERS_PER_APP; t++) {
      const roll = random();
      const match =
        roll < 0.845
          ? { mids: [benchMid(midsOfApp[a]![t]!)] }
          : roll < 0.995
            ? { mccs: ['5812'], amount_min: 2_000 + int(3_000), amount_max: 9_000 }
            : { amount_min: 8_500 + int(500) };
      const kind = random();
      const action =
        kind < 0.4
          ? { type: 'cashback', percent_bps: 500, fixed: 0, max: 1_000, available_after_days: 0 }
          : kind < 0.7
            ? { type: 'points', fixed: 0, per_unit: 10, available_after_days: 0 }
            : kind < 0.85
              ? { type: 'receipt' }
              : { type: 'webhook' };
      const limits =
        action.type === 'cashback' && random() < 0.5 ? { budget: { amount: 1e9, currency: 'USD' } } : {};
      ofApp.push([`trg_bench${a}_${t}`, appId(a), match, limits, action]);
    }
    triggers.push(ofApp);
  }
  return triggers;
}
