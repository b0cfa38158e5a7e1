import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { luhnValid, schemeOf } from '../../src/cards/pan.ts';
import { cardIdForApp, cardIdFromApp } from '../../src/cards/pseudonyms.ts';
import { newId } from '../../src/lib/ids.ts';
import { usePlatform } from '../helpers/platform.ts';
import { authorize, CARDS, registerApp, signUp } from '../oauth/support.ts';

const platform = usePlatform();
const run = promisify(execFile);
const nextYear = new Date().getUTCFullYear() + 1;

/** A Luhn-valid 16-digit number: `prefix` (8 digits), `n`, then its check digit. */
const validPan = (prefix: string, n: number) => {
  for (let check = 0; check < 10; check++) {
    const pan = `${prefix}${String(n).padStart(7, '0')}${check}`;
    if (luhnValid(pan)) return pan;
  }
  throw new Error('no check digit');
};

const enroll = (token: string, pan: string, extra: Record<string, unknown> = {}) =>
  platform.request('POST', '/v1/me/cards', {
    token,
    body: { pan, exp_month: 12, exp_year: nextYear, ...extra },
  });

/** Card rows stored for a user (removed ones too), or for everyone: what a refused request must not change. */
const storedCards = async (userId?: string) => {
  const { sql } = platform.deps;
  const [row] = await sql`
    select count(*)::int as n, count(deleted_at)::int as removed from cards
    ${userId ? sql`where user_id = ${userId}` : sql``}`;
  return row;
};

describe('BIN ranges and Luhn', () => {
  it.each([
    ['4111111111111111', 'visa'],
    ['5105105105105100', 'mastercard'],
    ['2221000000000009', 'mastercard'],
    ['2720999999999996', 'mastercard'],
    ['378282246310005', 'amex'],
    ['341111111111111', 'amex'],
    ['6011000990139424', 'discover'],
    ['6445644564456445', 'discover'],
    ['6500000000000002', 'discover'],
    ['6221260000000000', 'discover'],
    ['6229250000000000', 'discover'],
    ['6221250000000000', 'unknown'],
    ['2220990000000000', 'unknown'],
    ['3530111333300000', 'unknown'],
  ])('%s → %s', (pan, scheme) => {
    expect(schemeOf(pan)).toBe(scheme);
  });

  it('checks Luhn', () => {
    expect(luhnValid('4242424242424242')).toBe(true);
    expect(luhnValid('4242424242424241')).toBe(false);
    expect(luhnValid('378282246310005')).toBe(true);
  });
});

describe('enrolling cards', () => {
  it('keeps only BIN, last 4, scheme and expiry, and lists the card', async () => {
    const user = await signUp(platform);
    const res = await enroll(user.token, '4242 4242-4242 4242');
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      object: 'card',
      scheme: 'visa',
      bin: '424242',
      last4: '4242',
      exp_month: 12,
      exp_year: nextYear,
    });
    expect(res.body.id).toMatch(/^crd_/);
    expect(res.text).not.toContain('4242424242424242');
    const list = await platform.request('GET', '/v1/me/cards', { token: user.token });
    expect(list.body.data.map((c: { id: string }) => c.id)).toEqual([res.body.id]);
  });

  it.each([
    ['Luhn-invalid', { pan: '4242424242424241' }, 'pan'],
    ['too short', { pan: '42424242' }, 'pan'],
    ['letters', { pan: '4242abcd42424242' }, 'pan'],
    ['unsupported network (JCB)', { pan: '3530111333300000' }, 'pan'],
    ['expired', { pan: CARDS.mastercard, exp_year: 2020 }, 'exp_year'],
    ['bad month', { pan: CARDS.mastercard, exp_month: 13 }, 'exp_month'],
    ['number as a number', { pan: 4242424242424241 }, 'pan'],
  ])('%s → 422 on the field, never echoing the number', async (_name, body, field) => {
    const user = await signUp(platform);
    const res = await enroll(user.token, (body as { pan: string }).pan, body);
    expect(res.status).toBe(422);
    expect(res.body.code).toBe('validation_failed');
    expect(await storedCards(user.id)).toEqual({ n: 0, removed: 0 });
    expect(res.body.errors.map((e: { path: string }) => e.path)).toContain(field);
    const digits = String((body as { pan: unknown }).pan);
    expect(res.text).not.toContain(digits);
    expect(res.text).not.toContain(digits.slice(0, 12));
  });

  it('a card number sent as a field name is refused without being echoed', async () => {
    const user = await signUp(platform);
    for (const extra of [{ [CARDS.amex]: 1 }, { [CARDS.amex]: '\u0000' }, { card: { [CARDS.amex]: true } }]) {
      const res = await enroll(user.token, CARDS.amex, extra);
      expect(res.status).toBe(422);
      expect(res.body.code).toBe('validation_failed');
      expect(res.text).not.toContain(CARDS.amex);
    }
    expect(await storedCards(user.id)).toEqual({ n: 0, removed: 0 });
    expect(JSON.stringify(platform.logs)).not.toContain(CARDS.amex);
  });

  it('refuses an expiry in the past but accepts the current month', async () => {
    const user = await signUp(platform);
    const now = new Date();
    const current = await enroll(user.token, CARDS.discover2, {
      exp_month: now.getUTCMonth() + 1,
      exp_year: now.getUTCFullYear(),
    });
    expect(current.status).toBe(201);
  });

  it("refuses the user's own card again with 409, and another user's card like any refused number", async () => {
    const alice = await signUp(platform, 'alice');
    const bob = await signUp(platform, 'bob');
    expect((await enroll(alice.token, CARDS.amex)).status).toBe(201);
    const again = await enroll(alice.token, CARDS.amex);
    expect(again.status).toBe(409);
    expect(again.body.code).toBe('conflict');
    expect(await storedCards(alice.id)).toEqual({ n: 1, removed: 0 });
    const other = await enroll(bob.token, '3782 822463 10005');
    const luhnInvalid = await enroll(bob.token, '378282246310006');
    const otherScheme = await enroll(bob.token, '3530111333300000');
    const answer = (res: typeof other) => ({ status: res.status, ...res.body, request_id: undefined });
    expect(answer(other)).toEqual(answer(luhnInvalid));
    expect(answer(other)).toEqual(answer(otherScheme));
    expect(other.status).toBe(422);
    expect(other.body.code).toBe('validation_failed');
    expect(await storedCards(bob.id)).toEqual({ n: 0, removed: 0 });
    expect(other.body.errors).toEqual([
      { path: 'pan', message: expect.stringContaining('cannot be enrolled') },
    ]);
    expect(other.text).not.toContain(alice.email);
    expect(other.text).not.toContain(alice.id);
    expect((await platform.request('GET', '/v1/me/cards', { token: bob.token })).body.data).toEqual([]);
  });

  it('removes a card softly (history keeps it) and allows enrolling it again', async () => {
    const user = await signUp(platform);
    const first = await enroll(user.token, CARDS.mastercard2);
    expect(
      (await platform.request('DELETE', `/v1/me/cards/${first.body.id}`, { token: user.token })).status,
    ).toBe(204);
    expect((await platform.request('GET', '/v1/me/cards', { token: user.token })).body.data).toEqual([]);
    const [row] = await platform.deps.sql`select deleted_at from cards where id = ${first.body.id}`;
    expect(row!.deleted_at).not.toBeNull();
    const again = await enroll(user.token, CARDS.mastercard2);
    expect(again.status).toBe(201);
    expect(again.body.id).not.toBe(first.body.id);
    const removedAgain = await platform.request('DELETE', `/v1/me/cards/${first.body.id}`, {
      token: user.token,
    });
    expect(removedAgain.status).toBe(404);
    expect(removedAgain.body.code).toBe('not_found');
    expect(await storedCards(user.id)).toEqual({ n: 2, removed: 1 });
  });

  it("cannot remove another user's card", async () => {
    const owner = await signUp(platform);
    const other = await signUp(platform);
    const card = await enroll(owner.token, '5200828282828210');
    const refused = await platform.request('DELETE', `/v1/me/cards/${card.body.id}`, { token: other.token });
    expect(refused.status).toBe(404);
    expect(refused.body.code).toBe('not_found');
    expect((await platform.request('GET', '/v1/me/cards', { token: owner.token })).body.data).toHaveLength(1);
    expect(await storedCards(owner.id)).toEqual({ n: 1, removed: 0 });
  });

  it('honours Idempotency-Key without keeping the PAN in the idempotency record', async () => {
    const user = await signUp(platform);
    const headers = { 'idempotency-key': 'enroll-1' };
    const body = { pan: '4000002500003155', exp_month: 1, exp_year: nextYear };
    const first = await platform.request('POST', '/v1/me/cards', { token: user.token, body, headers });
    const second = await platform.request('POST', '/v1/me/cards', { token: user.token, body, headers });
    expect(first.status).toBe(201);
    expect(second.body.id).toBe(first.body.id);
    expect(second.headers.get('idempotent-replayed')).toBe('true');
    const different = await platform.request('POST', '/v1/me/cards', {
      token: user.token,
      body: { ...body, pan: CARDS.visa2 },
      headers,
    });
    expect(different.status).toBe(409);
    expect(different.body.code).toBe('idempotency_key_reused');
    expect(await storedCards(user.id)).toEqual({ n: 1, removed: 0 });
  });

  it('counts only refusals of enrolled numbers (429 with Retry-After, valid cards too), so they cannot probe numbers', async () => {
    const owner = await signUp(platform, 'owner');
    const prober = await signUp(platform, 'prober');
    const limit = platform.config.limits.enrollRefusalsPerUserPerDay;
    const theirs = validPan('40000077', 1);
    const mine = validPan('40000077', 2);
    expect((await enroll(owner.token, theirs)).status).toBe(201);
    // Successful enrollments are not counted against it.
    expect((await enroll(prober.token, mine)).status).toBe(201);
    const refusals: number[] = [];
    const codes: string[] = [];
    for (let i = 0; i < limit; i++) {
      const refused = await enroll(prober.token, i % 2 ? mine : theirs);
      refusals.push(refused.status);
      codes.push(refused.body.code);
    }
    expect(refusals).toEqual(Array.from({ length: limit }, (_, i) => (i % 2 ? 409 : 422)));
    expect(codes).toEqual(
      Array.from({ length: limit }, (_, i) => (i % 2 ? 'conflict' : 'validation_failed')),
    );
    const last = await enroll(prober.token, validPan('40000077', 3));
    expect(last.status).toBe(429);
    expect(last.body.code).toBe('rate_limited');
    expect(Number(last.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await platform.request('GET', '/v1/me/cards', { token: prober.token })).body.data).toHaveLength(
      1,
    );
    expect(await storedCards(prober.id)).toEqual({ n: 1, removed: 0 });
    const other = await signUp(platform);
    expect((await enroll(other.token, validPan('40000077', 4))).status).toBe(201);
  });

  it('does not count typos the user can see for themselves (length, Luhn, scheme, expiry)', async () => {
    const user = await signUp(platform, 'typist');
    const limit = platform.config.limits.enrollRefusalsPerUserPerDay;
    const typos = [
      ...Array.from({ length: limit }, () => ({ pan: '4242424242424241' })),
      { pan: '42424242' },
      { pan: '3530111333300000' },
      { pan: validPan('40000088', 1), exp_year: 2001 },
    ];
    for (const { pan, ...extra } of typos) {
      const refused = await enroll(user.token, pan, extra);
      expect(refused.status).toBe(422);
      expect(refused.body.code).toBe('validation_failed');
    }
    const valid = await enroll(user.token, validPan('40000088', 2));
    expect(valid.status).toBe(201);
    expect((await platform.request('GET', '/v1/me/cards', { token: user.token })).body.data).toHaveLength(1);
  });

  it('bounds enrollment attempts per user, refused or not (429 past 20 an hour)', async () => {
    const user = await signUp(platform, 'many');
    const pans = Array.from({ length: 20 }, (_, n) => {
      for (let check = 0; check < 10; check++) {
        const pan = `4000009876${String(n).padStart(5, '0')}${check}`;
        if (luhnValid(pan)) return pan;
      }
      throw new Error('no check digit');
    });
    for (const pan of pans) expect((await enroll(user.token, pan)).status).toBe(201);
    const last = await enroll(user.token, CARDS.visa2);
    expect(last.status).toBe(429);
    expect(last.body.code).toBe('rate_limited');
    expect(await storedCards(user.id)).toEqual({ n: 20, removed: 0 });
  });

  it('ids and cursors with a NUL byte are a 404 or a 422, never a 500', async () => {
    const user = await signUp(platform);
    const removed = await platform.request('DELETE', '/v1/me/cards/crd_%00', { token: user.token });
    expect([404, 422]).toContain(removed.status);
    expect(removed.body.code).toBe(removed.status === 404 ? 'not_found' : 'validation_failed');
    const listed = await platform.request('GET', '/v1/me/cards?starting_after=crd_%00', {
      token: user.token,
    });
    expect(listed.status).toBe(422);
  });

  it('needs a session', async () => {
    const before = await storedCards();
    const refused = await enroll('ses_nope', CARDS.visa);
    expect(refused.status).toBe(401);
    expect(refused.body.code).toBe('unauthorized');
    expect(await storedCards()).toEqual(before);
  });
});

describe('per-app card ids', () => {
  it('is stable per app, differs between apps, never the platform id, and resolves back only for its app', () => {
    const key = { secretsKey: platform.config.secretsKey };
    const cardId = newId('crd');
    const a = cardIdForApp(key, 'app_a', cardId);
    expect(a).toMatch(/^crd_[0-9a-z]{26}$/);
    expect(cardIdForApp(key, 'app_a', cardId)).toBe(a);
    expect(cardIdForApp(key, 'app_b', cardId)).not.toBe(a);
    expect(a).not.toBe(cardId);
    expect(cardIdFromApp(key, 'app_a', a)).toBe(cardId);
    expect(cardIdFromApp(key, 'app_b', a)).not.toBe(cardId);
    expect(cardIdForApp({ secretsKey: 'another-secrets-key-0123456789abcdef' }, 'app_a', cardId)).not.toBe(a);
  });

  it("an app lists a user's cards as pages under its own ids (limit, starting_after, has_more)", async () => {
    const user = await signUp(platform);
    // Numbers no other test enrolls: 4000 0012 3400 00xN with the Luhn digit found by trying.
    const pans = ['1', '2', '3'].map((n) => {
      for (let check = 0; check < 10; check++) {
        const pan = `40000012340000${n}${check}`;
        if (luhnValid(pan)) return pan;
      }
      throw new Error('no check digit');
    });
    for (const pan of pans) expect((await enroll(user.token, pan)).status).toBe(201);
    const app = await registerApp(platform);
    const token = (await authorize(platform, user, app)).access_token;
    const first = await platform.request('GET', '/v1/cards?limit=2', { token });
    expect(first.status).toBe(200);
    expect(first.body.has_more).toBe(true);
    expect(first.body.data.map((card: { last4: string }) => card.last4)).toEqual([
      pans[2]!.slice(-4),
      pans[1]!.slice(-4),
    ]);
    const rest = await platform.request('GET', `/v1/cards?limit=2&starting_after=${first.body.data[1].id}`, {
      token,
    });
    expect(rest.body).toMatchObject({ has_more: false });
    expect(rest.body.data.map((card: { last4: string }) => card.last4)).toEqual([pans[0]!.slice(-4)]);
    const bogus = await platform.request('GET', '/v1/cards?starting_after=crd_nope', { token });
    expect(bogus.status).toBe(422);
  });

  it('two apps granted by one user see different ids for the same card, each resolvable by its app only', async () => {
    const user = await signUp(platform);
    const card = await enroll(user.token, CARDS.discover);
    const first = await registerApp(platform, { name: 'First' });
    const second = await registerApp(platform, { name: 'Second' });
    const tokenA = (await authorize(platform, user, first)).access_token;
    const tokenB = (await authorize(platform, user, second)).access_token;
    const seenA = await platform.request('GET', '/v1/cards', { token: tokenA });
    const seenB = await platform.request('GET', '/v1/cards', { token: tokenB });
    expect(seenA.status).toBe(200);
    const idA = seenA.body.data[0].id;
    const idB = seenB.body.data[0].id;
    expect(idA).toMatch(/^crd_/);
    expect(idA).not.toBe(idB);
    expect(idA).not.toBe(card.body.id);
    expect(idB).not.toBe(card.body.id);
    expect(seenA.body.data[0]).toMatchObject({ last4: '1117', scheme: 'discover' });

    expect((await platform.request('GET', `/v1/cards/${idA}`, { token: tokenA })).body.id).toBe(idA);
    expect((await platform.request('GET', `/v1/cards/${idB}`, { token: tokenA })).status).toBe(404);
    expect((await platform.request('GET', `/v1/cards/${card.body.id}`, { token: tokenA })).status).toBe(404);

    // The grant.created webhooks carry the same per-app ids.
    const payloads = await platform.deps.sql`
      select app_id, payload from deliveries where user_id = ${user.id} and type = 'grant.created'`;
    const byApp = Object.fromEntries(payloads.map((row) => [row.app_id, row.payload.data.cards[0].id]));
    expect(byApp[first.id]).toBe(idA);
    expect(byApp[second.id]).toBe(idB);
  });
});

describe('the PAN never lands anywhere', () => {
  it('a full pg_dump and every log line contain none of the enrolled numbers', async () => {
    const user = await signUp(platform, 'scan');
    const pans = [
      '4111111111111111',
      '5555555555554444',
      '378734493671000',
      '6011000990139424',
      '2223000048400011',
    ];
    for (const pan of pans) expect((await enroll(user.token, pan)).status).toBe(201);
    // Failures too: duplicates, Luhn errors and idempotent retries.
    expect((await enroll(user.token, pans[0]!)).status).toBe(409);
    expect((await enroll(user.token, '4111111111111112')).status).toBe(422);
    await platform.request('POST', '/v1/me/cards', {
      token: user.token,
      body: { pan: pans[1], exp_month: 3, exp_year: nextYear },
      headers: { 'idempotency-key': 'scan' },
    });
    const app = await registerApp(platform, { name: 'Scanner' });
    await authorize(platform, user, app);

    const { stdout } = await run('pg_dump', ['-h', '127.0.0.1', '-U', 'root', platform.databaseName], {
      maxBuffer: 256 * 1024 * 1024,
    });
    expect(stdout).toContain('COPY public.cards');
    expect(stdout).toContain(user.id);
    // The dump does hold the cards: their keyed fingerprints are there, the numbers are not.
    expect(stdout).toContain(platform.deps.cardKeys.fingerprint(pans[0]!));
    const haystacks = [stdout, platform.logs.join('\n')];
    for (const pan of [...pans, '4111111111111112']) {
      for (const haystack of haystacks) {
        expect(haystack.includes(pan)).toBe(false);
        // Not even as the middle digits (BIN + last 4 are fine; the 6 digits between them never are).
        expect(haystack.includes(pan.slice(6, -4) + pan.slice(-4))).toBe(false);
      }
    }
    expect(platform.logs.length).toBeGreaterThan(10);
  });
});
