// A cardholder runs their whole relationship with cardlink from a browser (Debian's Chromium, at phone width):
// sign up, add a card, approve an app's consent request, see what a purchase earned and why not more, disconnect
// the app, sign out and in. Each page is screenshotted at phone and desktop width (test/screenshots/, git-ignored)
// and checked with axe-core for serious or critical accessibility violations.
import { mkdir, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import * as oauth from 'oauth4webapi';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { verifyAsApp } from '../deliveries/support.ts';
import { type OpenBrowser, openBrowser } from '../helpers/chromium.ts';
import { usePlatform } from '../helpers/platform.ts';
import { freePort } from '../helpers/redis-server.ts';
import { useWebhookSink } from '../helpers/webhook-sink.ts';
import { createTestProcessor, postEvents, type TestProcessor } from '../ingest/fixtures.ts';
import { appToken, CARDS, registerApp, type TestApp, uniqueEmail } from '../oauth/support.ts';

// The browser must open the pages at PUBLIC_URL (forms are accepted from that origin only), so the server's port
// is chosen before the platform starts and the platform listens on it.
let port = 0;
beforeAll(async () => {
  port = await freePort();
});
const platform = usePlatform({ workers: true, env: () => ({ PUBLIC_URL: `http://127.0.0.1:${port}` }) });
const sink = useWebhookSink();

const SCREENSHOTS = join(import.meta.dirname, '..', 'screenshots');
const SIZES = {
  phone: { width: 390, height: 844 },
  desktop: { width: 1280, height: 800 },
} as const;
const PASSWORD = 'a long and memorable passphrase';
const APP_NAME = 'Latte Loyalty';
const SCOPES = 'transactions receipts loyalty cashback coupons';

let base: string;
let browser: OpenBrowser;
let page: Page;
let axeSource: string;
let processor: TestProcessor;
let app: TestApp;
/** What the page's Content-Security-Policy made Chromium refuse (it says so on the console). */
const refused: string[] = [];

beforeAll(async () => {
  base = await platform.listen(port);
  axeSource = await readFile(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
  await mkdir(SCREENSHOTS, { recursive: true });
  processor = await createTestProcessor(platform);
  app = await registerApp(platform, {
    name: APP_NAME,
    scopes: SCOPES.split(' '),
    redirectUris: [`${sink.url}/callback`],
    webhookUrl: `${sink.url}/hooks`,
  });
  const token = await appToken(platform, app);
  const coffee = { mccs: ['5814'] };
  for (const trigger of [
    { name: 'Receipts for every coffee', match: coffee, action: { type: 'receipt' } },
    { name: '5% back on coffee', match: coffee, action: { type: 'cashback', percent_bps: 500 } },
    {
      name: 'Fifth coffee on us',
      match: { ...coffee, nth_purchase: { n: 5 } },
      action: { type: 'coupon', code_prefix: 'FREE' },
    },
    {
      name: 'Morning double points',
      match: { ...coffee, local_time: { from: '07:00', to: '11:00' } },
      action: { type: 'points', fixed: 50 },
    },
  ]) {
    const created = await platform.request('POST', '/v1/triggers', { token, body: trigger });
    expect(created.status).toBe(201);
  }
  browser = await openBrowser({ viewport: SIZES.phone });
  page = await browser.context.newPage();
  page.on('console', (message) => {
    if (/Content Security Policy/i.test(message.text())) refused.push(message.text());
  });
});

afterAll(async () => {
  await browser?.close();
});

/** Screenshots of the page as it is, at phone and desktop width, then back to the phone. */
async function screenshots(name: string) {
  for (const [size, viewport] of Object.entries(SIZES)) {
    await page.setViewportSize(viewport);
    await page.screenshot({ path: join(SCREENSHOTS, `${name}-${size}.png`), fullPage: true });
  }
  await page.setViewportSize(SIZES.phone);
}

interface AxeResults {
  passes: unknown[];
  violations: { id: string; impact: string | null; help: string; nodes: { target: unknown[] }[] }[];
}

/**
 * axe-core run in the page. It is evaluated over the DevTools protocol, which the page's policy (no script at
 * all) does not apply to; the check must have run (rules passed), and nothing serious or critical may fail.
 */
async function accessible(name: string) {
  await page.evaluate(axeSource);
  const results = (await page.evaluate('axe.run(document)')) as AxeResults;
  expect(results.passes.length, `${name}: axe ran`).toBeGreaterThan(10);
  const serious = results.violations
    .filter((violation) => violation.impact === 'serious' || violation.impact === 'critical')
    .map((violation) => ({
      id: violation.id,
      help: violation.help,
      nodes: violation.nodes.map((n) => n.target),
    }));
  expect({ page: name, serious }).toEqual({ page: name, serious: [] });
}

/** Screenshots and the accessibility check of the page now shown. */
async function record(name: string) {
  await accessible(name);
  await screenshots(name);
}

/** The app's webhooks received so far, verified with its secret as the app would. */
const webhooks = () =>
  sink.requests.filter((r) => r.path === 'hooks').map((r) => verifyAsApp(app.webhook_secret, r));

/** The ids of the deliveries recorded for an app. */
async function deliveriesOf(appId: string) {
  const rows = await platform.deps.sql<{ id: string }[]>`
    select id from deliveries where app_id = ${appId} order by id`;
  return rows.map((row) => row.id);
}

/** A purchase yesterday at 14:30 where the card was used (outside the morning offer's hours). */
function coffeePurchase(id: string, amount: number) {
  const day = new Date(Date.now() - 24 * 60 * 60 * 1000).toISOString().slice(0, 10);
  return {
    id,
    type: 'authorization',
    occurred_at: `${day}T14:30:00-08:00`,
    card: { pan: CARDS.visa },
    amount,
    currency: 'USD',
    merchant: { mid: '000123', name: 'BLUE BOTTLE COFFEE', mcc: '5814', city: 'Oakland', country: 'US' },
    entry_mode: 'contactless',
  };
}

const section = (name: string) => page.getByRole('region', { name });

describe('the cardholder pages in Chromium', () => {
  it('sign up → add a card → approve an app → a purchase earns → disconnect the app → nothing more', async () => {
    const email = uniqueEmail('browser');

    // Sign up: the browser lands on the account page, which tells a newcomer what to do.
    await page.goto(`${base}/signup`);
    await record('signup');
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.waitForURL(`${base}/account`);
    await expect.poll(() => page.getByText('You have not added a card yet').count()).toBe(1);
    await record('account-empty');

    // A mistyped number: the page says why, the number field is empty and the number is nowhere in it.
    await page.getByLabel('Card number').fill('4242 4242 4242 4241');
    await page.getByLabel('Expiry date').fill('08/30');
    await page.getByRole('button', { name: 'Add card' }).click();
    await expect.poll(() => page.getByText('The card number cannot be enrolled').count()).toBe(1);
    expect(await page.getByLabel('Card number').inputValue()).toBe('');
    expect(await page.getByLabel('Expiry date').inputValue()).toBe('08/30');
    expect((await page.content()).replace(/[^0-9]/g, '')).not.toContain('4242424242424241');
    await record('account-card-error');

    await page.getByLabel('Card number').fill('4242 4242 4242 4242');
    await page.getByRole('button', { name: 'Add card' }).click();
    await page.waitForURL(`${base}/account?notice=card_added#cards`);
    await expect
      .poll(() => section('Your cards').getByRole('listitem').filter({ hasText: 'Visa ending 4242' }).count())
      .toBe(1);

    // The app asks for consent (authorization code + PKCE); the cardholder approves in the browser.
    const issuer = new URL(base);
    const insecure = { [oauth.allowInsecureRequests]: true } as const;
    const as = await oauth.processDiscoveryResponse(
      issuer,
      await oauth.discoveryRequest(issuer, { ...insecure, algorithm: 'oauth2' }),
    );
    const client: oauth.Client = { client_id: app.client_id };
    const verifier = oauth.generateRandomCodeVerifier();
    const state = oauth.generateRandomState();
    const authorize = new URL(as.authorization_endpoint!);
    authorize.search = new URLSearchParams({
      client_id: app.client_id,
      redirect_uri: `${sink.url}/callback`,
      response_type: 'code',
      scope: SCOPES,
      state,
      code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
    }).toString();
    await page.goto(authorize.toString());
    await expect
      .poll(() => page.getByRole('heading', { name: `${APP_NAME} wants to connect to your cards` }).count())
      .toBe(1);
    expect(await page.getByText('Earn cashback on your purchases').count()).toBe(1);
    await record('consent');
    await page.getByRole('button', { name: 'Allow' }).click();
    const callback = await vi.waitFor(
      () => {
        const request = sink.requests.find((r) => r.path.startsWith('callback?'));
        if (!request) throw new Error('the app was not called back yet');
        return request;
      },
      { timeout: 10_000 },
    );
    const params = oauth.validateAuthResponse(as, client, new URL(`${sink.url}/${callback.path}`), state);
    const tokens = await oauth.processAuthorizationCodeResponse(
      as,
      client,
      await oauth.authorizationCodeGrantRequest(
        as,
        client,
        oauth.ClientSecretBasic(app.client_secret),
        params,
        `${sink.url}/callback`,
        verifier,
        insecure,
      ),
    );
    expect(tokens.scope).toBe(SCOPES);
    await vi.waitFor(() => expect(webhooks().map((w) => w.type)).toContain('grant.created'), {
      timeout: 10_000,
    });

    // A purchase with the card: a receipt and pending cashback, and why the other offers gave nothing.
    const first = await postEvents(platform, processor, coffeePurchase(`auth-${Date.now()}-1`, 475));
    expect(first.body.results).toEqual([expect.objectContaining({ status: 'accepted', actions: 2 })]);
    await expect
      .poll(
        async () => {
          await page.goto(`${base}/account`);
          return {
            receipt: await section('Rewards').getByText('BLUE BOTTLE COFFEE').count(),
            pending: await section('Rewards').getByText('$0.23').count(),
          };
        },
        { timeout: 20_000 },
      )
      .toEqual({ receipt: 1, pending: 1 });
    const activity = section('Recent activity');
    for (const line of [
      '$0.23 cashback',
      'Receipt saved',
      'Nothing from “Fifth coffee on us” of Latte Loyalty: 1 of 5 stamps',
      'Nothing from “Morning double points” of Latte Loyalty: only between 07:00 and 11:00',
    ])
      expect(await activity.getByText(line).count(), line).toBe(1);
    await record('account-rewards');
    // What the purchase gave the app arrived before it is disconnected.
    await vi.waitFor(
      () =>
        expect(webhooks().map((w) => w.type)).toEqual(
          expect.arrayContaining(['receipt.created', 'cashback.pending']),
        ),
      { timeout: 10_000 },
    );

    // Disconnect the app, after looking at what it may do and its history.
    await page.getByRole('link', { name: `Review or disconnect ${APP_NAME}` }).click();
    await page.waitForURL(`${base}/account/apps/${app.id}`);
    expect(await page.getByText('Connected on the consent page').count()).toBe(1);
    await record('app');
    await page.getByRole('button', { name: `Disconnect ${APP_NAME}` }).click();
    await page.waitForURL(`${base}/account?notice=app_disconnected#apps`);
    expect(await page.getByText('The app is disconnected').count()).toBe(1);
    expect(await section('Connected apps').getByText('No app is connected yet').count()).toBe(1);
    const revoked = await vi.waitFor(
      () => {
        const found = webhooks().find((w) => w.type === 'grant.revoked');
        if (!found) throw new Error('no grant.revoked yet');
        return found;
      },
      { timeout: 10_000 },
    );
    expect(revoked.data).toMatchObject({ scopes: SCOPES.split(' ') });
    // What the app was sent up to its revocation (webhook-ids: a retry of one of them is not something new).
    const webhookIds = () =>
      new Set(sink.requests.filter((r) => r.path === 'hooks').map((r) => r.headers['webhook-id']));
    const sentBefore = webhookIds();
    const recordedBefore = await deliveriesOf(app.id);
    expect(recordedBefore).toHaveLength(sentBefore.size);
    const cards = await fetch(`${base}/v1/cards`, {
      headers: { authorization: `Bearer ${tokens.access_token}` },
    });
    expect(cards.status).toBe(401);

    // A later purchase gives the app nothing: no action, no webhook.
    const later = await postEvents(platform, processor, coffeePurchase(`auth-${Date.now()}-2`, 525));
    expect(later.body.results).toEqual([expect.objectContaining({ status: 'accepted', actions: 0 })]);
    await expect
      .poll(async () => {
        await page.goto(`${base}/account`);
        return section('Recent activity').getByText('$5.25').count();
      })
      .toBe(1);
    const [actionsOfApp] = await platform.deps.sql<{ n: number }[]>`
      select count(*)::int as n from actions where app_id = ${app.id}`;
    expect(actionsOfApp!.n).toBe(2);
    expect(webhookIds()).toEqual(sentBefore);
    expect(await deliveriesOf(app.id)).toEqual(recordedBefore);

    // An unknown page, removing the card with its confirmation, then signing out and in again.
    await page.goto(`${base}/account/cards/crd_unknown/remove`);
    await record('not-found');
    await page.goto(`${base}/account`);
    await page.getByRole('link', { name: 'Remove Visa ending 4242' }).click();
    await expect.poll(() => page.getByRole('heading', { name: 'Remove Visa ending 4242?' }).count()).toBe(1);
    await record('remove-card');
    await page.getByRole('button', { name: 'Remove Visa ending 4242' }).click();
    await page.waitForURL(`${base}/account?notice=card_removed#cards`);
    expect(await section('Your cards').getByText('You have not added a card yet').count()).toBe(1);

    await page.goto(`${base}/logout`);
    await record('logout');
    await page.getByRole('main').getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(`${base}/login?notice=signed_out`);
    expect(await page.getByText('You are signed out.').count()).toBe(1);
    await record('login');
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${base}/account`);
    expect(await section('Recent activity').getByText('$4.75').count()).toBe(1);

    expect(browser.outside()).toEqual([]);
    expect(refused).toEqual([]);
  }, 180_000);
});
