import { describe, expect, it } from 'vitest';
import { usePlatform } from '../helpers/platform.ts';
import { form, hiddenFields, signUp } from '../oauth/support.ts';

const platform = usePlatform({ env: { PUBLIC_URL: 'https://cardlink.test' } });
const OWN = { origin: 'https://cardlink.test' };
const sessionsOf = async (userId: string) =>
  (await platform.deps.sql`select count(*)::int as n from sessions where user_id = ${userId}`)[0]!.n;

describe('the sign-in form served over https', () => {
  it('keeps its nonce in a __Host- cookie, which no sibling subdomain can set', async () => {
    const user = await signUp(platform);
    const page = await platform.request('GET', '/login');
    const setCookie = page.headers.get('set-cookie')!;
    const attributes = setCookie.split(';').map((part) => part.trim());
    expect(attributes[0]).toMatch(/^__Host-cardlink_login_csrf=/);
    expect(attributes).toContain('Secure');
    expect(attributes).toContain('Path=/');
    expect(attributes.some((part) => /^domain=/i.test(part))).toBe(false);
    const issued = attributes[0]!;
    const body = form({ ...hiddenFields(page.text), email: user.email, password: user.password });

    // The same value under the plain name is what a sibling subdomain could plant: it is not read.
    const plain = issued.replace(/^__Host-/, '');
    const planted = await platform.request('POST', '/login', {
      raw: body.raw,
      headers: { ...body.headers, ...OWN, cookie: plain },
    });
    expect(planted.status).toBe(400);
    expect(planted.text).toContain('The form expired');
    expect(planted.headers.get('set-cookie') ?? '').not.toContain('cardlink_session=');
    expect(await sessionsOf(user.id)).toBe(1);

    const signedIn = await platform.request('POST', '/login', {
      raw: body.raw,
      headers: { ...body.headers, ...OWN, cookie: issued },
    });
    expect(signedIn.status).toBe(303);
    expect(signedIn.headers.get('set-cookie')).toMatch(/(^|, )__Host-cardlink_session=[^;]+;[^,]*Secure/);
  });

  it('keeps the session in a __Host- cookie too, and signing in again ends the session the browser held', async () => {
    const user = await signUp(platform);
    const signIn = async (cookies: string[]) => {
      const page = await platform.request('GET', '/login');
      const nonce = page.headers.get('set-cookie')!.split(';')[0]!;
      const body = form({ ...hiddenFields(page.text), email: user.email, password: user.password });
      const res = await platform.request('POST', '/login', {
        raw: body.raw,
        headers: { ...body.headers, ...OWN, cookie: [nonce, ...cookies].join('; ') },
      });
      expect(res.status).toBe(303);
      return /(?:^|, )__Host-cardlink_session=([^;]+)/.exec(res.headers.get('set-cookie')!)![1]!;
    };
    const me = (cookie: string) => platform.request('GET', '/v1/me', { headers: { cookie } });

    const first = await signIn([]);
    expect((await me(`__Host-cardlink_session=${first}`)).status).toBe(200);
    // The plain name is what a sibling subdomain could plant: over https it is not read.
    expect((await me(`cardlink_session=${first}`)).status).toBe(401);

    const second = await signIn([`__Host-cardlink_session=${first}`]);
    expect((await me(`__Host-cardlink_session=${second}`)).status).toBe(200);
    expect((await me(`__Host-cardlink_session=${first}`)).status).toBe(401);
  });
});
