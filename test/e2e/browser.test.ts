import { afterEach, describe, expect, it } from 'vitest';
import { DOCS_SCRIPT_PATH } from '../../src/http/routes/docs.ts';
import { type OpenBrowser, openBrowser } from '../helpers/chromium.ts';
import { ADMIN_TOKEN, usePlatform } from '../helpers/platform.ts';

const platform = usePlatform();
const opened: OpenBrowser[] = [];

afterEach(async () => {
  for (const browser of opened.splice(0)) await browser.close();
});

async function browse(options: Parameters<typeof openBrowser>[0] = {}) {
  const browser = await openBrowser(options);
  opened.push(browser);
  const page = await browser.context.newPage();
  // What the page's Content-Security-Policy made Chromium refuse (it says so on the console).
  const refused: string[] = [];
  page.on('console', (message) => {
    if (/Content Security Policy/i.test(message.text())) refused.push(message.text());
  });
  return { browser, page, refused, base: await platform.listen() };
}

const policyOf = (response: { headers: () => Record<string, string> } | null) =>
  response?.headers()['content-security-policy'] ?? '';

describe('what a browser meets', () => {
  it('the queue dashboard asks for Basic auth with a single challenge', async () => {
    const { page, base } = await browse();
    // With no credentials to give, Chromium may end the navigation (ERR_INVALID_AUTH_CREDENTIALS) once it
    // has seen the 401, so the answer is read from the response event.
    const answered = page.waitForEvent('response');
    await page.goto(`${base}/admin/queues`).catch(() => undefined);
    const response = await answered;
    expect(response.status()).toBe(401);
    const challenges = (await response.headersArray()).filter(
      (header) => header.name.toLowerCase() === 'www-authenticate',
    );
    expect(challenges.map((header) => header.value)).toEqual([
      'Basic realm="cardlink-admin", charset="UTF-8"',
    ]);
  });

  it('the queue dashboard opens with the admin token as the Basic-auth password, loading nothing from outside', async () => {
    const { browser, page, refused, base } = await browse({
      httpCredentials: { username: 'operator', password: ADMIN_TOKEN },
    });
    // The address with a trailing slash, as people type it, leads to the dashboard.
    const response = await page.goto(`${base}/admin/queues/`);
    expect(response?.status()).toBe(200);
    expect(page.url()).toBe(`${base}/admin/queues`);
    expect(policyOf(response)).toContain("default-src 'self'");
    await expect.poll(() => page.getByText('maintenance').count(), { timeout: 15_000 }).toBeGreaterThan(0);
    expect(browser.requested.some((url) => url.includes('/admin/queues/static/'))).toBe(true);
    await page.waitForLoadState('networkidle');
    expect(browser.outside()).toEqual([]);
    expect(refused).toEqual([]);
  });

  it('/docs renders the reference from cardlink alone', async () => {
    const { browser, page, refused, base } = await browse();
    const response = await page.goto(`${base}/docs`);
    expect(response?.status()).toBe(200);
    expect(policyOf(response)).toContain("default-src 'self'");
    expect(policyOf(response)).toMatch(/script-src 'self' 'sha256-[A-Za-z0-9+/=]+'(;|$)/);
    await expect
      .poll(() => page.getByText('Liveness: the process is up').count(), { timeout: 20_000 })
      .toBeGreaterThan(0);
    expect(browser.requested).toContain(`${base}${DOCS_SCRIPT_PATH}`);
    const script = await fetch(`${base}${DOCS_SCRIPT_PATH}`);
    expect(script.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(script.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    await script.arrayBuffer();
    await page.waitForLoadState('networkidle');
    expect(browser.outside()).toEqual([]);
    expect(refused).toEqual([]);
  });

  it("the cardholder's sign-in page loads nothing from outside", async () => {
    const { browser, page, refused, base } = await browse();
    const response = await page.goto(`${base}/login`);
    expect(response?.status()).toBe(200);
    expect(policyOf(response)).toContain("default-src 'none'");
    expect(policyOf(response)).not.toContain('unsafe-inline');
    await page.waitForLoadState('networkidle');
    // Styled by the pages' one sheet, served by cardlink (the policy allows styles from this origin only).
    const background = await page.evaluate('getComputedStyle(document.body).backgroundColor');
    expect(background).toBe('rgb(246, 247, 249)');
    expect(browser.outside()).toEqual([]);
    expect(refused).toEqual([]);
  });
});
