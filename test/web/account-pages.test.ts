// The rules the cardholder's pages keep, checked over HTTP without a browser: every form refuses a stale token
// or another site, nothing is cached, the policy allows no inline code, a card number never comes back, and
// removing a card or disconnecting an app takes a confirmation and goes through the API's own verbs.
import { describe, expect, it } from 'vitest';
import { coupons, receipts } from '../../src/db/schema/index.ts';
import { newId } from '../../src/lib/ids.ts';
import { STYLESHEET_PATH } from '../../src/web/stylesheet.ts';
import { type ApiResponse, usePlatform } from '../helpers/platform.ts';
import { authorization, createTestProcessor, postEvents } from '../ingest/fixtures.ts';
import {
  CARDS,
  consent,
  form,
  hiddenFields,
  registerApp,
  signUp,
  type TestUser,
  uniqueEmail,
} from '../oauth/support.ts';

const platform = usePlatform();
const OWN_ORIGIN = 'http://cardlink.test';
const FOREIGN_ORIGIN = 'https://evil.example';
const NEXT_YEAR = String((new Date().getUTCFullYear() + 1) % 100).padStart(2, '0');

const digitsOf = (text: string) => text.replace(/[^0-9]/g, '');
/** Everything a browser is given: headers and body. */
const seen = (res: ApiResponse) => `${[...res.headers.entries()].flat().join(' ')} ${res.text}`;

/** The hidden fields of the form on the page that posts to `action`. */
function formOn(html: string, action: string): Record<string, string> {
  const escaped = action.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const match = new RegExp(`<form[^>]*action="${escaped}"[^>]*>([\\s\\S]*?)</form>`).exec(html);
  if (!match) throw new Error(`no form posting to ${action}`);
  return hiddenFields(match[1]!);
}

const cookieOf = (user: TestUser) => `cardlink_session=${user.token}`;

const get = (path: string, user?: TestUser) =>
  platform.request('GET', path, { headers: user ? { cookie: cookieOf(user) } : {} });

function post(
  path: string,
  fields: Record<string, string>,
  options: { user?: TestUser; cookie?: string; origin?: string } = {},
) {
  const body = form(fields);
  const cookie = options.cookie ?? (options.user ? cookieOf(options.user) : undefined);
  return platform.request('POST', path, {
    raw: body.raw,
    headers: {
      ...body.headers,
      origin: options.origin ?? OWN_ORIGIN,
      ...(cookie ? { cookie } : {}),
    },
  });
}

const myCards = async (user: TestUser) =>
  (await platform.request('GET', '/v1/me/cards', { token: user.token })).body.data as {
    id: string;
    last4: string;
  }[];

/** Adds a card through the account page's form; returns the answer. */
async function addCard(user: TestUser, pan: string, expiry = `08/${NEXT_YEAR}`) {
  const page = await get('/account', user);
  return post('/account/cards', { ...formOn(page.text, '/account/cards#add-card'), pan, expiry }, { user });
}

describe('signed out', () => {
  it('the account pages send to sign-in, which comes back to them', async () => {
    const account = await get('/account');
    expect(account.status).toBe(302);
    expect(account.headers.get('location')).toBe('/login?next=%2Faccount');
    const app = await get('/account/apps/app_123');
    expect(app.headers.get('location')).toBe('/login?next=%2Faccount%2Fapps%2Fapp_123');
    const posted = await post('/account/cards', { pan: CARDS.visa, expiry: '08/30' });
    expect(posted.status).toBe(303);
    expect(posted.headers.get('location')).toBe('/login?next=%2Faccount');
    expect(digitsOf(seen(posted))).not.toContain(CARDS.visa);
  });
});

describe('what every page sends', () => {
  it('no caching, no framing, and a policy with no inline code; forms post only here except consent', async () => {
    const user = await signUp(platform, 'headers');
    const app = await registerApp(platform, { name: 'Header App' });
    await consent(platform, user, app, { scope: 'transactions' });
    await addCard(user, CARDS.discover2);
    const [card] = await myCards(user);
    const pages = {
      login: await get('/login'),
      signup: await get('/signup'),
      account: await get('/account', user),
      logout: await get('/logout', user),
      removeCard: await get(`/account/cards/${card!.id}/remove`, user),
      app: await get(`/account/apps/${app.id}`, user),
      notFound: await get('/account/cards/crd_unknown/remove', user),
    };
    for (const [name, res] of Object.entries(pages)) {
      const policy = res.headers.get('content-security-policy') ?? '';
      expect({ name, type: res.headers.get('content-type') }).toEqual({
        name,
        type: 'text/html; charset=UTF-8',
      });
      expect({ name, cache: res.headers.get('cache-control') }).toEqual({ name, cache: 'no-store' });
      expect({ name, policy }).toEqual({
        name,
        policy:
          "default-src 'none'; style-src 'self'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'",
      });
      expect(res.headers.get('x-frame-options')).toBe('DENY');
      expect(res.text).toContain(`<link rel="stylesheet" href="${STYLESHEET_PATH}"/>`);
      expect(res.text).not.toMatch(/<style|<script| style=/);
    }
    expect(pages.notFound.status).toBe(404);

    const consentPage = await get(
      `/oauth/authorize?response_type=code&client_id=${app.client_id}&redirect_uri=${encodeURIComponent('http://127.0.0.1:8123/callback')}&scope=transactions&code_challenge=${'a'.repeat(43)}&code_challenge_method=S256`,
      user,
    );
    expect(consentPage.status).toBe(200);
    expect(consentPage.headers.get('cache-control')).toBe('no-store');
    expect(consentPage.headers.get('content-security-policy')).toBe(
      "default-src 'none'; style-src 'self'; base-uri 'none'; frame-ancestors 'none'",
    );
    expect(consentPage.text).toContain(`href="${STYLESHEET_PATH}"`);

    const sheet = await get(STYLESHEET_PATH);
    expect(sheet.status).toBe(200);
    expect(sheet.headers.get('content-type')).toBe('text/css; charset=utf-8');
    expect(sheet.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(sheet.text).toContain('main {');
  });
});

describe('sign-up', () => {
  const userCount = async () =>
    (await platform.deps.sql`select count(*)::int as n from users`)[0]!.n as number;

  async function signupForm() {
    const page = await get('/signup');
    expect(page.status).toBe(200);
    return { fields: formOn(page.text, '/signup'), cookie: page.headers.get('set-cookie')!.split(';')[0]! };
  }

  it('creates the account, signs in and lands on the account page, which tells a newcomer what to do', async () => {
    const { fields, cookie } = await signupForm();
    const email = uniqueEmail('signup');
    const res = await post('/signup', { ...fields, email, password: 'correct horse battery' }, { cookie });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/account');
    const session = /cardlink_session=([^;]+)/.exec(res.headers.get('set-cookie') ?? '')![1]!;
    expect(res.headers.get('set-cookie')).toMatch(/HttpOnly/);
    expect(res.headers.get('set-cookie')).toMatch(/SameSite=Lax/);
    const account = await platform.request('GET', '/account', {
      headers: { cookie: `cardlink_session=${session}` },
    });
    expect(account.status).toBe(200);
    expect(account.text).toContain(email);
    expect(account.text).toContain('You have not added a card yet');
    expect(account.text).toContain('No app is connected yet');
    expect(account.text).toContain('No purchases yet');
  });

  it('says so, with Retry-After, once this address has had too many sign-ups for registered emails', async () => {
    const limiter = platform.deps.limiters.signupRefusals;
    // In-process requests have no socket: their address is 'unknown'. Its refusals are used up here.
    for (let i = 0; i < platform.config.limits.signupRefusalsPerIpPerHour; i++)
      await limiter.consume('unknown');
    try {
      const { fields, cookie } = await signupForm();
      const before = await userCount();
      const refused = await post(
        '/signup',
        { ...fields, email: uniqueEmail(), password: 'a perfectly good password' },
        { cookie },
      );
      expect(refused.status).toBe(429);
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(refused.text).toContain('Too many sign-ups for emails that already have an account');
      expect(await userCount()).toBe(before);
    } finally {
      await limiter.reset('unknown');
    }
  });

  it('refuses a stale form, another site, bad fields and a taken email, creating nothing', async () => {
    const taken = await signUp(platform, 'taken');
    const { fields, cookie } = await signupForm();
    const before = await userCount();
    const password = 'a perfectly good password';

    const noCookie = await post('/signup', { ...fields, email: uniqueEmail(), password });
    expect(noCookie.status).toBe(400);
    expect(noCookie.text).toContain('The form expired');

    const foreign = await post(
      '/signup',
      { ...fields, email: uniqueEmail(), password },
      { cookie, origin: FOREIGN_ORIGIN },
    );
    expect(foreign.status).toBe(403);

    const short = await post(
      '/signup',
      { ...fields, email: uniqueEmail(), password: 'short9876' },
      { cookie },
    );
    expect(short.status).toBe(422);
    expect(short.text).toContain('The password must be at least 10 characters.');
    expect(short.text).not.toContain('short9876');

    const notEmail = await post('/signup', { ...fields, email: 'not an email', password }, { cookie });
    expect(notEmail.status).toBe(422);
    expect(notEmail.text).toContain('Enter an email address');

    const duplicate = await post(
      '/signup',
      { ...fields, email: taken.email.toUpperCase(), password },
      { cookie },
    );
    expect(duplicate.status).toBe(409);
    expect(duplicate.text).toContain('An account with this email already exists');
    expect(duplicate.text).not.toContain(password);

    for (const res of [noCookie, foreign, short, notEmail, duplicate])
      expect(res.headers.get('set-cookie') ?? '').not.toContain('cardlink_session=');
    expect(await userCount()).toBe(before);
  });
});

describe('adding a card', () => {
  it.each([
    [
      'a number that fails the Luhn check',
      '4242424242424241',
      `08/${NEXT_YEAR}`,
      'The card number cannot be enrolled',
    ],
    [
      'a number with spaces that fails the Luhn check',
      '4242 4242 4242 4241',
      `08/${NEXT_YEAR}`,
      'cannot be enrolled',
    ],
    ['an expired card', CARDS.mastercard2, '01/20', 'the card has expired'],
    ['an impossible expiry', CARDS.mastercard2, '13/40', 'Enter the expiry date as MM/YY'],
  ])(
    '%s: the page says why, with the number field empty and the number nowhere',
    async (_case, pan, expiry, why) => {
      const user = await signUp(platform, 'bad-card');
      const logsBefore = platform.logs.length;
      const res = await addCard(user, pan, expiry);
      expect(res.status).toBe(422);
      expect(res.text).toContain(why);
      expect(res.text).toMatch(/<input id="pan" name="pan" [^>]*value=""/);
      expect(res.text).toContain(`value="${expiry}"`);
      expect(digitsOf(seen(res))).not.toContain(digitsOf(pan));
      expect(digitsOf(platform.logs.slice(logsBefore).join('\n'))).not.toContain(digitsOf(pan));
      expect(await myCards(user)).toEqual([]);
    },
  );

  it('a card number typed into the expiry field is not written back either', async () => {
    const user = await signUp(platform, 'swapped-fields');
    const res = await addCard(user, '', CARDS.visa);
    expect(res.status).toBe(422);
    expect(res.text).toContain('Enter the expiry date as MM/YY');
    expect(res.text).toMatch(/<input id="expiry" name="expiry" [^>]*value=""/);
    expect(digitsOf(seen(res))).not.toContain(digitsOf(CARDS.visa));
  });

  it('a card someone else added gets the same answer as a wrong number, and still no number', async () => {
    const owner = await signUp(platform, 'owner');
    expect((await addCard(owner, CARDS.discover)).status).toBe(303);
    const other = await signUp(platform, 'other');
    const res = await addCard(other, CARDS.discover);
    expect(res.status).toBe(422);
    expect(res.text).toContain('The card number cannot be enrolled');
    expect(digitsOf(seen(res))).not.toContain(CARDS.discover);
  });

  it('adds it, shows it by scheme and last 4, and says so; the same card again is refused', async () => {
    const user = await signUp(platform, 'good-card');
    const logsBefore = platform.logs.length;
    const added = await addCard(user, '4242 4242 4242 4242', `8/20${NEXT_YEAR}`);
    expect(added.status).toBe(303);
    expect(added.headers.get('location')).toBe('/account?notice=card_added#cards');
    const account = await get('/account?notice=card_added', user);
    expect(account.text).toContain('Visa ending 4242');
    expect(account.text).toContain(`expires 08/${NEXT_YEAR}`);
    expect(account.text).toContain('Your card is added.');
    expect(digitsOf(account.text)).not.toContain(CARDS.visa);
    expect(await myCards(user)).toEqual([expect.objectContaining({ last4: '4242' })]);

    const again = await addCard(user, CARDS.visa);
    expect(again.status).toBe(409);
    expect(again.text).toContain('You already added this card.');
    expect(digitsOf(seen(again))).not.toContain(CARDS.visa);
    expect(digitsOf(platform.logs.slice(logsBefore).join('\n'))).not.toContain(CARDS.visa);
  });

  it('a notice is chosen by code: any other text in the link shows nothing', async () => {
    const user = await signUp(platform, 'notice');
    const page = await get(`/account?notice=${encodeURIComponent('<b>You won</b>')}`, user);
    expect(page.status).toBe(200);
    expect(page.text).not.toContain('You won');
  });
});

describe('recent activity', () => {
  it('lists purchases newest first, says why nothing was earned, and pages back to older ones', async () => {
    const user = await signUp(platform, 'activity');
    expect((await addCard(user, CARDS.mastercard2)).status).toBe(303);
    const processor = await createTestProcessor(platform);
    // 25 purchases of 1.01 … 1.25 EUR, sent in order: the newest is the last.
    const events = Array.from({ length: 25 }, (_, i) =>
      authorization({
        pan: CARDS.mastercard2,
        amount: 101 + i,
        currency: 'EUR',
        id: `activity-${Date.now()}-${i}`,
      }),
    );
    for (const event of events) expect((await postEvents(platform, processor, event)).status).toBe(200);

    const first = await get('/account', user);
    expect(first.text).toContain('€1.25');
    expect(first.text).not.toContain('€1.05');
    expect(first.text).toContain(
      'Nothing earned: connect an app to earn rewards on purchases like this one.',
    );
    expect(first.text).toContain('Mastercard ending 3222');
    const older = /href="(\/account\?activity_after=evt_[0-9A-Za-z]+)#activity"/.exec(first.text);
    expect(older).not.toBeNull();
    const second = await get(older![1]!, user);
    expect(second.status).toBe(200);
    expect(second.text).toContain('€1.05');
    expect(second.text).toContain('€1.01');
    expect(second.text).not.toContain('€1.06');
    expect(second.text).not.toContain('Older activity');
    // A cursor that is not one of my events shows the newest instead of failing.
    const foreign = await get('/account?activity_after=evt_0000000000000000000000000', user);
    expect(foreign.status).toBe(200);
    expect(foreign.text).toContain('€1.25');
  });
});

describe('receipts and coupons', () => {
  it('show the newest ten of each, each list paging back on its own', async () => {
    const user = await signUp(platform, 'effects');
    // Twelve of each, as dispatch writes them (amounts 1.01 … 1.12 USD; codes OLD01 … OLD12), oldest first.
    const receiptRows = Array.from({ length: 12 }, (_, i) => ({
      id: newId('rcp'),
      actionId: newId('act'),
      appId: 'app_pages',
      userId: user.id,
      cardId: 'crd_pages',
      eventId: newId('evt'),
      merchant: {
        name: `SHOP ${i + 1}`,
        mid: 'M1',
        merchant_id: null,
        mcc: '5814',
        city: 'Oakland',
        region: 'CA',
        postal_code: null,
        country: 'US',
      },
      amount: 101 + i,
      currency: 'USD',
      occurredAt: new Date(),
      localTime: '2026-11-23T08:15:02',
      cardLast4: '4242',
      cardScheme: 'visa',
    }));
    const couponRows = Array.from({ length: 12 }, (_, i) => ({
      id: newId('cpn'),
      actionId: newId('act'),
      appId: 'app_pages',
      userId: user.id,
      code: `OLD${String(i + 1).padStart(2, '0')}-${user.id}`,
    }));
    await platform.deps.db.insert(receipts).values(receiptRows);
    await platform.deps.db.insert(coupons).values(couponRows);

    const first = await get('/account', user);
    expect(first.text).toContain('$1.12');
    expect(first.text).toContain('$1.03');
    expect(first.text).not.toContain('$1.02');
    expect(first.text).toContain('OLD12-');
    expect(first.text).not.toContain('OLD02-');
    const older = /href="(\/account\?receipts_after=rcp_[0-9A-Za-z]+)#receipts"/.exec(first.text);
    expect(older).not.toBeNull();
    const second = await get(older![1]!, user);
    expect(second.text).toContain('$1.02');
    expect(second.text).toContain('$1.01');
    expect(second.text).not.toContain('$1.03');
    expect(second.text).not.toContain('Older receipts');
    // The coupons stay where they were, and page back on their own, keeping the receipts' place.
    expect(second.text).toContain('OLD12-');
    const olderCoupons = /href="(\/account\?[^"]*coupons_after=cpn_[0-9A-Za-z]+)#coupons"/.exec(second.text);
    expect(olderCoupons).not.toBeNull();
    const third = await get(olderCoupons![1]!.replaceAll('&amp;', '&'), user);
    expect(third.text).toContain('OLD01-');
    expect(third.text).not.toContain('OLD03-');
    expect(third.text).toContain('$1.01');
    expect(third.text).not.toContain('$1.12');
    // A cursor of another kind is not a place in the list: the newest show.
    const odd = await get('/account?receipts_after=evt_0000000000000000000000000', user);
    expect(odd.text).toContain('$1.12');
  });
});

describe('form tokens', () => {
  it('are bound to the session and to what the form does; another site is refused even with one', async () => {
    const user = await signUp(platform, 'csrf');
    const other = await signUp(platform, 'csrf-other');
    const own = formOn((await get('/account', user)).text, '/account/cards#add-card');
    const others = formOn((await get('/account', other)).text, '/account/cards#add-card');
    const logout = formOn((await get('/account', user)).text, '/logout');
    const fields = { pan: CARDS.amex, expiry: `08/${NEXT_YEAR}` };

    const refused = {
      none: await post('/account/cards', fields, { user }),
      forged: await post(
        '/account/cards',
        { ...fields, csrf: `${Math.floor(Date.now() / 1000)}.${'A'.repeat(43)}` },
        { user },
      ),
      anotherSession: await post('/account/cards', { ...fields, ...others }, { user }),
      anotherPurpose: await post('/account/cards', { ...fields, ...logout }, { user }),
      anotherSite: await post('/account/cards', { ...fields, ...own }, { user, origin: FOREIGN_ORIGIN }),
    };
    for (const [name, res] of Object.entries(refused)) {
      expect({ name, status: res.status }).toEqual({ name, status: 403 });
      expect(digitsOf(seen(res))).not.toContain(CARDS.amex);
    }
    expect(refused.none.text).toContain('The form expired; please try again.');
    expect(refused.anotherSite.text).toContain('was not sent from our page');
    expect(await myCards(user)).toEqual([]);
    expect((await post('/account/cards', { ...fields, ...own }, { user })).status).toBe(303);
  });
});

describe('removing a card', () => {
  it('asks first; the confirmation removes only the card it was shown for', async () => {
    const user = await signUp(platform, 'remove');
    await addCard(user, CARDS.visa2);
    await addCard(user, CARDS.mastercard);
    const cards = await myCards(user);
    const visa = cards.find((card) => card.last4 === '5556')!;
    const mastercard = cards.find((card) => card.last4 === '4444')!;

    const account = await get('/account', user);
    expect(account.text).toContain(`href="/account/cards/${visa.id}/remove"`);
    const confirm = await get(`/account/cards/${visa.id}/remove`, user);
    expect(confirm.status).toBe(200);
    expect(confirm.text).toContain('Remove Visa ending 5556?');
    expect(await myCards(user)).toHaveLength(2);

    const visaToken = formOn(confirm.text, `/account/cards/${visa.id}/remove`);
    const crossed = await post(`/account/cards/${mastercard.id}/remove`, visaToken, { user });
    expect(crossed.status).toBe(403);
    expect(crossed.text).toContain('The form expired');
    const foreign = await post(`/account/cards/${visa.id}/remove`, visaToken, {
      user,
      origin: FOREIGN_ORIGIN,
    });
    expect(foreign.status).toBe(403);
    expect(await myCards(user)).toHaveLength(2);

    const removed = await post(`/account/cards/${visa.id}/remove`, visaToken, { user });
    expect(removed.status).toBe(303);
    expect(removed.headers.get('location')).toBe('/account?notice=card_removed#cards');
    expect((await myCards(user)).map((card) => card.id)).toEqual([mastercard.id]);
    expect((await post(`/account/cards/${visa.id}/remove`, visaToken, { user })).status).toBe(404);

    const stranger = await signUp(platform, 'stranger');
    expect((await get(`/account/cards/${mastercard.id}/remove`, stranger)).status).toBe(404);
  });
});

describe('disconnecting an app', () => {
  it('shows what it may do and its history, asks first, and revokes through the grant verb', async () => {
    const user = await signUp(platform, 'disconnect');
    const app = await registerApp(platform, { name: 'Latte Loyalty', scopes: ['transactions', 'cashback'] });
    await consent(platform, user, app, { scope: 'transactions cashback' });

    const account = await get('/account', user);
    expect(account.text).toContain('Latte Loyalty');
    expect(account.text).toContain('Earn cashback on your purchases');
    const page = await get(`/account/apps/${app.id}`, user);
    expect(page.status).toBe(200);
    expect(page.text).toContain('Connected on the consent page, for purchase notices and cashback');
    expect(page.text).toContain('Disconnect Latte Loyalty');

    const token = formOn(page.text, `/account/apps/${app.id}/disconnect`);
    const stale = await post(`/account/apps/${app.id}/disconnect`, {}, { user });
    expect(stale.status).toBe(403);
    const foreign = await post(`/account/apps/${app.id}/disconnect`, token, { user, origin: FOREIGN_ORIGIN });
    expect(foreign.status).toBe(403);
    expect((await platform.request('GET', '/v1/me/grants', { token: user.token })).body.data).toHaveLength(1);

    const done = await post(`/account/apps/${app.id}/disconnect`, token, { user });
    expect(done.status).toBe(303);
    expect(done.headers.get('location')).toBe('/account?notice=app_disconnected#apps');
    expect((await platform.request('GET', '/v1/me/grants', { token: user.token })).body.data).toEqual([]);
    const history = await platform.request('GET', '/v1/me/grants/history', { token: user.token });
    expect(history.body.data[0]).toMatchObject({ action: 'revoked', source: 'account_page', app_id: app.id });
    const revoked = await platform.deps.sql`
      select count(*)::int as n from deliveries where app_id = ${app.id} and type = 'grant.revoked'`;
    expect(revoked[0]!.n).toBe(1);

    expect((await get(`/account/apps/${app.id}`, user)).status).toBe(404);
    expect((await post(`/account/apps/${app.id}/disconnect`, token, { user })).status).toBe(404);
    // The history stays on the account page after the app is gone from it.
    const after = await get('/account', user);
    expect(after.text).toContain('No app is connected yet');
    expect(after.text).toMatch(/Latte Loyalty:\s*Disconnected on your account page/);
    expect(after.text).toMatch(/Latte Loyalty:\s*Connected on the consent page/);
  });
});

describe('signing out', () => {
  it('asks first, needs the session’s token, then ends the session', async () => {
    const user = await signUp(platform, 'logout');
    const confirm = await get('/logout', user);
    expect(confirm.status).toBe(200);
    expect(confirm.text).toContain('Sign out of cardlink?');
    expect((await post('/logout', {}, { user })).status).toBe(403);
    expect((await platform.request('GET', '/v1/me', { token: user.token })).status).toBe(200);

    const res = await post('/logout', formOn(confirm.text, '/logout'), { user });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/login?notice=signed_out');
    expect(res.headers.get('set-cookie')).toMatch(/cardlink_session=;/);
    expect((await platform.request('GET', '/v1/me', { token: user.token })).status).toBe(401);
    expect((await get('/login?notice=signed_out')).text).toContain('You are signed out.');
    expect((await get('/logout')).headers.get('location')).toBe('/login');
  });
});
