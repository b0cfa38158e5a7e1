import { describe, expect, test } from 'vitest';
import { ingestEvents } from '../../src/ingest/ingest.ts';
import { linkOrphanEvents } from '../../src/ingest/maintenance.ts';
import { usePlatform } from '../helpers/platform.ts';
import {
  authorization,
  createTestProcessor,
  enrollCard,
  follower,
  postEvents,
  type TestProcessor,
  testPan,
} from './fixtures.ts';

const platform = usePlatform();

interface Row {
  id: string;
  type: string;
  authorization_id: string | null;
  cleared_amount: string;
  refunded_amount: string;
  reversed_amount: string;
}

async function eventRow(id: string): Promise<Row> {
  const [row] = await platform.deps.sql<Row[]>`
    select id, type, authorization_id, cleared_amount, refunded_amount, reversed_amount from events where id = ${id}`;
  if (!row) throw new Error(`no event ${id}`);
  return row;
}

async function send(processor: TestProcessor, events: unknown[]): Promise<string[]> {
  const res = await postEvents(platform, processor, { events });
  expect(res.status).toBe(200);
  for (const result of res.body.results) expect(result.status, JSON.stringify(result)).toBe('accepted');
  return res.body.results.map((r: { event_id: string }) => r.event_id);
}

const totals = (row: Row) => ({
  cleared: Number(row.cleared_amount),
  refunded: Number(row.refunded_amount),
  reversed: Number(row.reversed_amount),
});

describe('lifecycle linking', () => {
  test('partial clearings and a partial refund link by original_id and keep running totals', async () => {
    const processor = await createTestProcessor(platform);
    const pan = testPan(300);
    await enrollCard(platform, pan);
    const auth = authorization({ pan, amount: 10_000 });
    const [authId] = await send(processor, [auth]);
    const [c1, c2] = await send(processor, [
      follower('clearing', { pan, amount: 6_000, original_id: auth.id, auth_code: null }),
      follower('clearing', { pan, amount: 3_000, original_id: auth.id, auth_code: null }),
    ]);
    const [r1] = await send(processor, [follower('refund', { pan, amount: 2_500, original_id: auth.id })]);
    for (const id of [c1!, c2!, r1!]) expect((await eventRow(id)).authorization_id).toBe(authId);
    expect(totals(await eventRow(authId!))).toEqual({ cleared: 9_000, refunded: 2_500, reversed: 0 });
  });

  test('without original_id, followers match by card, MID and auth code (or amount) within the window', async () => {
    const processor = await createTestProcessor(platform);
    const pan = testPan(301);
    await enrollCard(platform, pan);
    const authA = authorization({
      pan,
      amount: 1_000,
      auth_code: 'AAA111',
      occurred_at: '2026-10-01T10:00:00Z',
    });
    const authB = authorization({
      pan,
      amount: 2_000,
      auth_code: 'BBB222',
      occurred_at: '2026-10-02T10:00:00Z',
    });
    const noCode = authorization({ pan, amount: 777, auth_code: null, occurred_at: '2026-10-03T10:00:00Z' });
    const [aId, bId, nId] = await send(processor, [authA, authB, noCode]);
    const [clearB, reverseA, clearN, otherMid, tooLate] = await send(processor, [
      follower('clearing', { pan, amount: 2_000, auth_code: 'BBB222', occurred_at: '2026-10-04T10:00:00Z' }),
      follower('reversal', { pan, amount: 1_000, auth_code: 'AAA111', occurred_at: '2026-10-01T11:00:00Z' }),
      follower('clearing', { pan, amount: 777, auth_code: null, occurred_at: '2026-10-05T10:00:00Z' }),
      follower('clearing', {
        pan,
        amount: 2_000,
        auth_code: 'BBB222',
        merchant: { mid: 'ELSEWHERE' },
        occurred_at: '2026-10-04T10:00:00Z',
      }),
      follower('clearing', { pan, amount: 1_000, auth_code: 'AAA111', occurred_at: '2026-11-15T10:00:00Z' }),
    ]);
    expect((await eventRow(clearB!)).authorization_id).toBe(bId);
    expect((await eventRow(reverseA!)).authorization_id).toBe(aId);
    expect((await eventRow(clearN!)).authorization_id).toBe(nId);
    expect((await eventRow(otherMid!)).authorization_id).toBeNull();
    expect((await eventRow(tooLate!)).authorization_id).toBeNull();
    expect(totals(await eventRow(aId!))).toEqual({ cleared: 0, refunded: 0, reversed: 1_000 });
    expect(totals(await eventRow(bId!))).toEqual({ cleared: 2_000, refunded: 0, reversed: 0 });
    expect(totals(await eventRow(nId!))).toEqual({ cleared: 777, refunded: 0, reversed: 0 });
  });

  test('two like authorizations without auth code: each matched clearing settles a different one', async () => {
    const processor = await createTestProcessor(platform);
    const pan = testPan(307);
    await enrollCard(platform, pan);
    // Two coffees of the same price at one shop, on a feed without auth codes.
    const first = authorization({ pan, amount: 475, auth_code: null, occurred_at: '2026-11-10T08:00:00Z' });
    const second = authorization({ pan, amount: 475, auth_code: null, occurred_at: '2026-11-10T09:00:00Z' });
    const [firstId, secondId] = await send(processor, [first, second]);
    const [c1] = await send(processor, [
      follower('clearing', { pan, amount: 475, auth_code: null, occurred_at: '2026-11-11T08:00:00Z' }),
    ]);
    const [c2] = await send(processor, [
      follower('clearing', { pan, amount: 475, auth_code: null, occurred_at: '2026-11-11T08:00:01Z' }),
    ]);
    const linked = [(await eventRow(c1!)).authorization_id, (await eventRow(c2!)).authorization_id];
    expect(linked.sort()).toEqual([firstId, secondId].sort());
    expect(totals(await eventRow(firstId!)).cleared).toBe(475);
    expect(totals(await eventRow(secondId!)).cleared).toBe(475);
  });

  test('two like clearings in one batch settle two like authorizations, one each', async () => {
    const processor = await createTestProcessor(platform);
    const pan = testPan(309);
    await enrollCard(platform, pan);
    const first = authorization({ pan, amount: 475, auth_code: null, occurred_at: '2026-11-12T08:00:00Z' });
    const second = authorization({ pan, amount: 475, auth_code: null, occurred_at: '2026-11-12T09:00:00Z' });
    const [firstId, secondId] = await send(processor, [first, second]);
    const [c1, c2] = await send(processor, [
      follower('clearing', { pan, amount: 475, auth_code: null, occurred_at: '2026-11-13T08:00:00Z' }),
      follower('clearing', { pan, amount: 475, auth_code: null, occurred_at: '2026-11-13T08:00:01Z' }),
    ]);
    const linked = [(await eventRow(c1!)).authorization_id, (await eventRow(c2!)).authorization_id];
    expect(linked.sort()).toEqual([firstId, secondId].sort());
    expect(totals(await eventRow(firstId!)).cleared).toBe(475);
    expect(totals(await eventRow(secondId!)).cleared).toBe(475);
  });

  test('a clearing that arrives before its authorization is stored and linked when the authorization comes', async () => {
    const processor = await createTestProcessor(platform);
    const pan = testPan(302);
    await enrollCard(platform, pan);
    const auth = authorization({ pan, amount: 5_000, auth_code: 'ZZZ999' });
    const [byId] = await send(processor, [
      follower('clearing', { pan, amount: 4_000, original_id: auth.id }),
    ]);
    const [byMatch] = await send(processor, [
      follower('refund', { pan, amount: 1_000, auth_code: 'ZZZ999' }),
    ]);
    expect((await eventRow(byId!)).authorization_id).toBeNull();
    expect((await eventRow(byMatch!)).authorization_id).toBeNull();

    const [authId] = await send(processor, [auth]);
    expect((await eventRow(byId!)).authorization_id).toBe(authId);
    expect((await eventRow(byMatch!)).authorization_id).toBe(authId);
    expect(totals(await eventRow(authId!))).toEqual({ cleared: 4_000, refunded: 1_000, reversed: 0 });

    // A resend of the authorization changes nothing.
    const again = await postEvents(platform, processor, auth);
    expect(again.body.results[0].status).toBe('duplicate');
    expect(totals(await eventRow(authId!))).toEqual({ cleared: 4_000, refunded: 1_000, reversed: 0 });
  });

  test('an authorization and its followers in one batch, in any order, link once', async () => {
    const processor = await createTestProcessor(platform);
    const pan = testPan(303);
    await enrollCard(platform, pan);
    const auth = authorization({ pan, amount: 3_000 });
    const [reversal, authId, clearing] = await send(processor, [
      follower('reversal', { pan, amount: 500, original_id: auth.id }),
      auth,
      follower('clearing', { pan, amount: 2_500, original_id: auth.id }),
    ]);
    expect((await eventRow(reversal!)).authorization_id).toBe(authId);
    expect((await eventRow(clearing!)).authorization_id).toBe(authId);
    expect(totals(await eventRow(authId!))).toEqual({ cleared: 2_500, refunded: 0, reversed: 500 });
  });

  test("a follower whose original_id names another card's authorization is not linked to it by id", async () => {
    const processor = await createTestProcessor(platform);
    const panA = testPan(320);
    const panB = testPan(321);
    await enrollCard(platform, panA);
    await enrollCard(platform, panB);
    const authA = authorization({ pan: panA, amount: 1_200, auth_code: 'CRD111' });
    const authB = authorization({ pan: panB, amount: 1_200, auth_code: 'CRD222' });
    const [aId, bId] = await send(processor, [authA, authB]);
    // Card B's clearing names card A's authorization: it must fall back to card matching (card B's own).
    const [wrong] = await send(processor, [
      follower('clearing', { pan: panB, amount: 1_200, auth_code: 'CRD222', original_id: authA.id }),
    ]);
    expect((await eventRow(wrong!)).authorization_id).toBe(bId);
    expect(totals(await eventRow(aId!)).cleared).toBe(0);
    expect(totals(await eventRow(bId!)).cleared).toBe(1_200);
    // With nothing on its own card to match, it stays unlinked rather than settling another card's.
    const [stray] = await send(processor, [
      follower('reversal', { pan: panB, amount: 50, auth_code: 'NOPE00', original_id: authA.id }),
    ]);
    expect((await eventRow(stray!)).authorization_id).toBeNull();
    expect(totals(await eventRow(aId!)).reversed).toBe(0);
  });

  test('a follower arriving before an authorization of another card is not adopted by it', async () => {
    const processor = await createTestProcessor(platform);
    const panA = testPan(322);
    const panB = testPan(323);
    await enrollCard(platform, panA);
    await enrollCard(platform, panB);
    const authA = authorization({ pan: panA, amount: 900, auth_code: 'EAR111' });
    const [early] = await send(processor, [
      follower('clearing', { pan: panB, amount: 900, original_id: authA.id }),
    ]);
    const [aId] = await send(processor, [authA]);
    expect((await eventRow(early!)).authorization_id).toBeNull();
    expect(totals(await eventRow(aId!)).cleared).toBe(0);
  });

  test("a refund whose original_id names a clearing links to that clearing's authorization", async () => {
    const processor = await createTestProcessor(platform);
    const pan = testPan(324);
    await enrollCard(platform, pan);
    const auth = authorization({ pan, amount: 4_000, auth_code: 'REF111' });
    const [authId] = await send(processor, [auth]);
    const clearing = follower('clearing', { pan, amount: 4_000, original_id: auth.id });
    await send(processor, [clearing]);
    const [refund] = await send(processor, [
      follower('refund', { pan, amount: 1_500, auth_code: null, original_id: clearing.id }),
    ]);
    expect((await eventRow(refund!)).authorization_id).toBe(authId);
    expect(totals(await eventRow(authId!))).toEqual({ cleared: 4_000, refunded: 1_500, reversed: 0 });
  });

  test('two like clearings that arrive before two like authorizations (one batch) settle one each', async () => {
    const processor = await createTestProcessor(platform);
    const pan = testPan(325);
    await enrollCard(platform, pan);
    const [c1] = await send(processor, [
      follower('clearing', { pan, amount: 475, auth_code: null, occurred_at: '2026-11-14T08:00:00Z' }),
    ]);
    const [c2] = await send(processor, [
      follower('clearing', { pan, amount: 475, auth_code: null, occurred_at: '2026-11-14T08:00:01Z' }),
    ]);
    const [firstId, secondId] = await send(processor, [
      authorization({ pan, amount: 475, auth_code: null, occurred_at: '2026-11-13T08:00:00Z' }),
      authorization({ pan, amount: 475, auth_code: null, occurred_at: '2026-11-13T09:00:00Z' }),
    ]);
    const linked = [(await eventRow(c1!)).authorization_id, (await eventRow(c2!)).authorization_id];
    expect(linked.sort()).toEqual([firstId, secondId].sort());
    expect(totals(await eventRow(firstId!)).cleared).toBe(475);
    expect(totals(await eventRow(secondId!)).cleared).toBe(475);
  });

  test('a refund naming a clearing that arrives later links when that clearing comes and links', async () => {
    const processor = await createTestProcessor(platform);
    const pan = testPan(326);
    await enrollCard(platform, pan);
    const auth = authorization({ pan, amount: 3_000, auth_code: 'LTR111' });
    const [authId] = await send(processor, [auth]);
    const clearing = follower('clearing', { pan, amount: 3_000, original_id: auth.id });
    const [refund] = await send(processor, [
      follower('refund', { pan, amount: 700, auth_code: 'NOMTCH', original_id: clearing.id }),
    ]);
    expect((await eventRow(refund!)).authorization_id).toBeNull();
    await send(processor, [clearing]);
    expect((await eventRow(refund!)).authorization_id).toBe(authId);
    expect(totals(await eventRow(authId!))).toEqual({ cleared: 3_000, refunded: 700, reversed: 0 });
  });

  test('an early follower naming an authorization of another card falls back to card matching when it comes', async () => {
    const processor = await createTestProcessor(platform);
    const panA = testPan(327);
    const panB = testPan(328);
    await enrollCard(platform, panA);
    await enrollCard(platform, panB);
    const authB = authorization({ pan: panB, amount: 650, auth_code: 'OWN222' });
    const [bId] = await send(processor, [authB]);
    const authA = authorization({ pan: panA, amount: 650, auth_code: 'OTH111' });
    const [early] = await send(processor, [
      follower('clearing', { pan: panB, amount: 650, auth_code: 'OWN222', original_id: authA.id }),
    ]);
    // Its original_id names nothing stored yet: it waits (no card matching while its authorization may come).
    expect((await eventRow(early!)).authorization_id).toBeNull();
    const [aId] = await send(processor, [authA]);
    expect((await eventRow(early!)).authorization_id).toBe(bId);
    expect(totals(await eventRow(aId!)).cleared).toBe(0);
    expect(totals(await eventRow(bId!)).cleared).toBe(650);
  });

  test('running totals beyond bigint saturate instead of failing the request (500)', async () => {
    const processor = await createTestProcessor(platform);
    const pan = testPan(308);
    await enrollCard(platform, pan);
    const huge = Number.MAX_SAFE_INTEGER;
    const auth = authorization({ pan, amount: huge });
    const [authId] = await send(processor, [auth]);
    // 2 × 1000 refunds of 2^53 - 1 add up to more than 2^63 - 1.
    for (let round = 0; round < 2; round++) {
      await send(
        processor,
        Array.from({ length: 1000 }, () => follower('refund', { pan, amount: huge, original_id: auth.id })),
      );
    }
    expect((await eventRow(authId!)).refunded_amount).toBe('9223372036854775807');
  });

  test('concurrent followers of one authorization all count (no lost update)', async () => {
    const processor = await createTestProcessor(platform);
    const pan = testPan(304);
    await enrollCard(platform, pan);
    const auth = authorization({ pan, amount: 100_000 });
    const [authId] = await send(processor, [auth]);
    await Promise.all(
      Array.from({ length: 20 }, () =>
        ingestEvents(platform.deps, { id: processor.id }, [
          follower('clearing', { pan, amount: 100, original_id: auth.id }),
        ]),
      ),
    );
    expect(totals(await eventRow(authId!))).toEqual({ cleared: 2_000, refunded: 0, reversed: 0 });
  });

  test('when linking earlier followers fails after an authorization is committed, the push still succeeds and the sweep links them', async () => {
    const processor = await createTestProcessor(platform);
    const pan = testPan(340);
    await enrollCard(platform, pan);
    const auth = authorization({ pan, amount: 700 });
    const [clearing] = await send(processor, [
      follower('clearing', { pan, amount: 700, original_id: auth.id }),
    ]);
    // Every update of an event fails while this trigger exists: the linking after the commit cannot happen.
    const sql = platform.deps.sql;
    await sql.unsafe(`
      create function refuse_link() returns trigger language plpgsql as $$
        begin raise exception 'linking refused by the test' using errcode = 'P0001'; end $$;
      create trigger refuse_link before update on events for each row execute function refuse_link();`);
    try {
      const [authId] = await send(processor, [auth]);
      expect((await eventRow(clearing!)).authorization_id).toBeNull();
      expect(platform.logs.some((line) => line.includes('the orphan sweep will link them'))).toBe(true);
      // Resent, it is a duplicate of the committed one.
      const again = await postEvents(platform, processor, auth);
      expect(again.body.results[0]).toMatchObject({ status: 'duplicate', event_id: authId });
      await sql.unsafe('drop trigger refuse_link on events; drop function refuse_link()');
      expect(await linkOrphanEvents(sql, platform.deps.actionsHook)).toBeGreaterThanOrEqual(1);
      expect((await eventRow(clearing!)).authorization_id).toBe(authId);
      expect(totals(await eventRow(authId!))).toEqual({ cleared: 700, refunded: 0, reversed: 0 });
    } finally {
      await sql.unsafe('drop trigger if exists refuse_link on events; drop function if exists refuse_link()');
    }
  });

  test('the orphan sweep links followers whose authorization was committed beside them', async () => {
    const processor = await createTestProcessor(platform);
    const pan = testPan(305);
    await enrollCard(platform, pan);
    const auth = authorization({ pan, amount: 900 });
    const [authId] = await send(processor, [auth]);
    const [clearing] = await send(processor, [
      follower('clearing', { pan, amount: 900, original_id: auth.id }),
    ]);
    // Simulate the race the sweep exists for: unlink as if the two had committed concurrently.
    await platform.deps
      .sql`update events set authorization_id = null, authorization_received_at = null where id = ${clearing!}`;
    await platform.deps.sql`update events set cleared_amount = 0 where id = ${authId!}`;
    expect(await linkOrphanEvents(platform.deps.sql, platform.deps.actionsHook)).toBeGreaterThanOrEqual(1);
    expect((await eventRow(clearing!)).authorization_id).toBe(authId);
    expect(totals(await eventRow(authId!))).toEqual({ cleared: 900, refunded: 0, reversed: 0 });
  });

  test('followers that never find an authorization do not starve the orphan sweep', async () => {
    const processor = await createTestProcessor(platform);
    const pan = testPan(306);
    await enrollCard(platform, pan);
    // Refunds and force-posted clearings whose authorization never comes stay unlinked for the whole window:
    // more of them than one sweep page, received before the follower the sweep should link.
    await send(
      processor,
      Array.from({ length: 6 }, (_, i) =>
        follower('refund', { pan, amount: 100 + i, original_id: `never-sent-${i}`, auth_code: null }),
      ),
    );
    const auth = authorization({ pan, amount: 700 });
    const [authId] = await send(processor, [auth]);
    const [clearing] = await send(processor, [
      follower('clearing', { pan, amount: 700, original_id: auth.id }),
    ]);
    await platform.deps
      .sql`update events set authorization_id = null, authorization_received_at = null where id = ${clearing!}`;
    await platform.deps.sql`update events set cleared_amount = 0 where id = ${authId!}`;
    await linkOrphanEvents(platform.deps.sql, platform.deps.actionsHook, 5);
    expect((await eventRow(clearing!)).authorization_id).toBe(authId);
    expect(totals(await eventRow(authId!))).toEqual({ cleared: 700, refunded: 0, reversed: 0 });
  });
});
