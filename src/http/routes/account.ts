import { z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { enrollCard, liveCardsOf, removeCard } from '../../cards/cards.ts';
import { underEnrollmentLimits } from '../../cards/enroll-limiter.ts';
import { listCoupons, listReceipts } from '../../effects/reads.ts';
import { AppError } from '../../errors.ts';
import { consentHistory, listGrants, revokeGrant } from '../../grants/grants.ts';
import { userBalances } from '../../ledger/balances.ts';
import { sessionFormToken, sessionFormTokenValid } from '../../sessions/csrf.ts';
import { listActivity } from '../../users/activity.ts';
import type { AddCardForm } from '../../web/account-page.tsx';
import { render } from '../../web/render.tsx';
import type { AppEnv, SignedIn } from '../env.ts';
import { foreignFormMessage, fromOwnOrigin } from '../middleware/same-origin.ts';
import { optionalUser } from '../middleware/user-auth.ts';
import { createRouter } from '../router.ts';
import { formBody, formFields, headerFor, pageHeaders } from '../web-page.ts';

// The cardholder's account page and the forms on it: cards, connected apps, rewards and activity. Each form
// posts here with a token bound to the session and to what it does, then redirects (303) back to a page.

/** The only notices the account page shows: chosen by code, so a link cannot make the page say anything else. */
const NOTICES: Record<string, string> = {
  card_added: 'Your card is added. Purchases with it can now earn rewards from the apps you connect.',
  card_removed: 'The card is removed: its purchases earn nothing from now on.',
  app_disconnected: 'The app is disconnected: it gets nothing more from your purchases.',
};

const RECENT_RECEIPTS = 10;
const RECENT_COUPONS = 10;
const ACTIVITY_PAGE = 20;
/** Enough for every app a person connects; the page lists them all. */
const GRANTS_SHOWN = 500;
const HISTORY_SHOWN = 100;
const RECENT_CONSENTS = 10;

const EXPIRED_FORM = 'The form expired; please try again.';

const token = (c: Context<AppEnv>, signedIn: SignedIn, purpose: string) =>
  sessionFormToken(c.get('deps').config.secretsKey, signedIn.sessionToken, purpose);

const tokenValid = (c: Context<AppEnv>, signedIn: SignedIn, purpose: string, csrf: string | undefined) =>
  !!csrf && sessionFormTokenValid(c.get('deps').config.secretsKey, signedIn.sessionToken, purpose, csrf);

/** The signed-in cardholder, or the way to the sign-in page (coming back here afterwards). */
async function cardholder(c: Context<AppEnv>): Promise<SignedIn | Response> {
  const signedIn = await optionalUser(c);
  if (signedIn) return signedIn;
  const url = new URL(c.req.url);
  const back = c.req.method === 'GET' ? `${url.pathname}${url.search}` : '/account';
  return c.redirect(`/login?next=${encodeURIComponent(back)}`, c.req.method === 'GET' ? 302 : 303);
}

const refusedForeign = (c: Context<AppEnv>) =>
  c.html(render.error({ title: 'Form refused', message: foreignFormMessage(c, 'account') }), 403);

const notFoundPage = (c: Context<AppEnv>, signedIn: SignedIn, message: string) =>
  c.html(
    render.error({
      title: 'Not found',
      message,
      next: { href: '/account', label: 'Back to your account' },
      header: headerFor(c, signedIn),
    }),
    404,
  );

// Where each list on the page starts: the id of the last item shown before. Anything else shows the newest.
const CURSORS = {
  activity_after: /^evt_[0-9A-Za-z]{1,60}$/,
  receipts_after: /^rcp_[0-9A-Za-z]{1,60}$/,
  coupons_after: /^cpn_[0-9A-Za-z]{1,60}$/,
} as const;
type Cursors = { -readonly [name in keyof typeof CURSORS]?: string };

/** The page's cursors from its query, each only if it has its list's form. */
function cursorsOf(query: (name: string) => string | undefined): Cursors {
  const cursors: Cursors = {};
  for (const [name, form] of Object.entries(CURSORS) as [keyof Cursors, RegExp][]) {
    const value = query(name);
    if (value && form.test(value)) cursors[name] = value;
  }
  return cursors;
}

/** The link to the next page of one list, keeping the page where the others are. */
function olderLink(cursors: Cursors, name: keyof Cursors, last: { id: string } | undefined, anchor: string) {
  if (!last) return undefined;
  const query = new URLSearchParams({ ...cursors, [name]: last.id });
  return `/account?${query}#${anchor}`;
}

/** The account page, with the add-card form as given (after an error) or fresh. */
async function accountPage(
  c: Context<AppEnv>,
  signedIn: SignedIn,
  options: { addCard?: Partial<AddCardForm>; notice?: string; cursors?: Cursors } = {},
) {
  const deps = c.get('deps');
  const userId = signedIn.user.id;
  const cursors = options.cursors ?? {};
  const activityPage = { limit: ACTIVITY_PAGE, startingAfter: cursors.activity_after };
  const [cards, grants, consents, balances, receipts, coupons, activity] = await Promise.all([
    liveCardsOf(deps.db, userId),
    listGrants(deps.db, userId, { limit: GRANTS_SHOWN }),
    consentHistory(deps.db, userId, { limit: RECENT_CONSENTS }),
    userBalances(deps.db, userId),
    listReceipts(deps.db, { userId }, { limit: RECENT_RECEIPTS, startingAfter: cursors.receipts_after }),
    listCoupons(deps.db, { userId }, { limit: RECENT_COUPONS, startingAfter: cursors.coupons_after }),
    // A cursor that is not one of the user's events (edited by hand) shows the newest instead.
    listActivity(deps, userId, activityPage).catch((error: unknown) => {
      if (error instanceof AppError && error.code === 'validation_failed')
        return listActivity(deps, userId, { limit: ACTIVITY_PAGE });
      throw error;
    }),
  ]);
  return render.account({
    header: headerFor(c, signedIn),
    notice: options.notice,
    cards,
    addCard: { csrf: token(c, signedIn, 'add-card'), ...options.addCard },
    apps: grants.data,
    consents: consents.data,
    balances,
    receipts: receipts.data,
    olderReceipts: receipts.hasMore
      ? olderLink(cursors, 'receipts_after', receipts.data.at(-1), 'receipts')
      : undefined,
    coupons: coupons.data,
    olderCoupons: coupons.hasMore
      ? olderLink(cursors, 'coupons_after', coupons.data.at(-1), 'coupons')
      : undefined,
    activity: activity.data,
    olderActivity: activity.hasMore
      ? olderLink(cursors, 'activity_after', activity.data.at(-1), 'activity')
      : undefined,
  });
}

/** "MM/YY", "MM/YYYY", "MMYY" or "M/YY" → month and four-digit year; undefined for anything else. */
export function parseExpiry(text: string): { expMonth: number; expYear: number } | undefined {
  const match = /^\s*(\d{1,2})\s*[/\-.]?\s*(\d{2}|\d{4})\s*$/.exec(text);
  if (!match) return undefined;
  const expMonth = Number(match[1]);
  const year = Number(match[2]);
  if (expMonth < 1 || expMonth > 12) return undefined;
  return { expMonth, expYear: year < 100 ? 2000 + year : year };
}

/**
 * What went wrong adding a card, in the page's words, and its status. Never mentions the number itself: the
 * enrollment verb's messages name the field, never its value.
 */
function addCardProblem(error: AppError): { form: Partial<AddCardForm>; status: 409 | 422 | 429 } {
  if (error.code === 'conflict') return { form: { error: 'You already added this card.' }, status: 409 };
  if (error.code === 'rate_limited')
    return {
      form: { error: 'Too many attempts to add a card. Please wait a while before trying again.' },
      status: 429,
    };
  const fieldErrors: NonNullable<AddCardForm['fieldErrors']> = {};
  for (const field of error.errors ?? []) {
    if (field.path === 'pan') fieldErrors.pan = `The card number ${field.message}.`;
    else fieldErrors.expiry = `The expiry date: ${field.message}.`;
  }
  return { form: { error: 'The card could not be added.', fieldErrors }, status: 422 };
}

const html = { 'text/html': { schema: z.string() } };
const tags = ['Web pages'];

export const accountRouter = createRouter();

accountRouter.openAPIRegistry.registerPath({
  method: 'get',
  path: '/account',
  tags,
  summary: 'The account page (HTML)',
  description:
    'The signed-in cardholder’s cards (with a form adding one), connected apps with their scopes in plain ' +
    'words, balances per app (pending, available, paid out), recent receipts and coupons, and recent activity: ' +
    'what each purchase earned and, where nothing, why. `activity_after` (an event id), `receipts_after` and ' +
    '`coupons_after` (a receipt or coupon id) show each list from after that item. ' +
    'Not signed in → 302 to `/login?next=/account`.',
  request: {
    query: z.object({
      activity_after: z.string().optional(),
      receipts_after: z.string().optional(),
      coupons_after: z.string().optional(),
      notice: z.string().optional(),
    }),
  },
  responses: {
    200: { description: 'The account page', content: html },
    302: { description: 'Not signed in: to the sign-in page' },
  },
});
accountRouter.get('/account', async (c) => {
  pageHeaders(c);
  const signedIn = await cardholder(c);
  if (signedIn instanceof Response) return signedIn;
  return c.html(
    await accountPage(c, signedIn, {
      notice: NOTICES[c.req.query('notice') ?? ''],
      cursors: cursorsOf((name) => c.req.query(name)),
    }),
  );
});

accountRouter.openAPIRegistry.registerPath({
  method: 'post',
  path: '/account/cards',
  tags,
  summary: 'Add a card from the account page (HTML form)',
  description:
    'Form fields `pan`, `expiry` (`MM/YY`) and `csrf` (the form’s token, bound to the session). The card is ' +
    'enrolled by the same verb, under the same limits, as `POST /v1/me/cards`; success → 303 to `/account`. ' +
    'Otherwise the page is shown again with the card number field empty (the number is never written back): ' +
    '422 naming the field, 409 for a card already added, 429 past the limits, 403 for a stale form or a foreign ' +
    '`Origin` (nothing is enrolled).',
  request: {
    body: formBody(z.object({ pan: z.string(), expiry: z.string(), csrf: z.string() })),
  },
  responses: {
    303: { description: 'Added; to `/account`' },
    403: { description: 'Sent from another site, or a stale form (HTML)' },
    409: { description: 'Already added (HTML)' },
    422: { description: 'A field is missing or refused (HTML)' },
    429: { description: 'Too many attempts (HTML, with Retry-After)' },
  },
});
accountRouter.post('/account/cards', async (c) => {
  pageHeaders(c);
  const signedIn = await cardholder(c);
  if (signedIn instanceof Response) return signedIn;
  if (!fromOwnOrigin(c)) return refusedForeign(c);
  const deps = c.get('deps');
  const field = await formFields(c);
  const typedExpiry = field('expiry', 64) ?? '';
  // Echoed only when it looks like an expiry: a card number typed into this field is never written back.
  const expiryText = /^[0-9 ./-]{0,9}$/.test(typedExpiry) ? typedExpiry : '';
  const again = (form: Partial<AddCardForm>, status: 403 | 409 | 422 | 429) =>
    accountPage(c, signedIn, { addCard: { expiry: expiryText, ...form } }).then((page) =>
      c.html(page, status),
    );
  if (!tokenValid(c, signedIn, 'add-card', field('csrf'))) return again({ error: EXPIRED_FORM }, 403);

  const pan = field('pan', 64)?.trim() ?? '';
  const expiry = parseExpiry(typedExpiry);
  if (!pan || !expiry) {
    return again(
      {
        error: 'The card could not be added.',
        fieldErrors: {
          pan: pan ? undefined : 'Enter the card number.',
          expiry: expiry ? undefined : 'Enter the expiry date as MM/YY, such as 08/29.',
        },
      },
      422,
    );
  }
  try {
    const userId = signedIn.user.id;
    await underEnrollmentLimits(deps, userId, () => enrollCard(deps, userId, { pan, ...expiry }));
  } catch (error) {
    if (!(error instanceof AppError)) throw error;
    if (error.code === 'rate_limited') c.header('retry-after', String(error.extra?.retry_after ?? 60));
    if (!['validation_failed', 'conflict', 'rate_limited'].includes(error.code)) throw error;
    const problem = addCardProblem(error);
    return again(problem.form, problem.status);
  }
  return c.redirect('/account?notice=card_added#cards', 303);
});

const cardParam = z.object({
  id: z.string().openapi({ param: { name: 'id', in: 'path' }, example: 'crd_01jh…' }),
});

accountRouter.openAPIRegistry.registerPath({
  method: 'get',
  path: '/account/cards/{id}/remove',
  tags,
  summary: 'Confirm removing a card (HTML)',
  description: 'Asks to confirm; its form posts to the same path. Not one of my live cards → 404 page.',
  request: { params: cardParam },
  responses: {
    200: { description: 'The confirmation page', content: html },
    404: { description: 'No such card (HTML)' },
  },
});
accountRouter.get('/account/cards/:id/remove', async (c) => {
  pageHeaders(c);
  const signedIn = await cardholder(c);
  if (signedIn instanceof Response) return signedIn;
  const id = c.req.param('id');
  const card = (await liveCardsOf(c.get('deps').db, signedIn.user.id)).find((row) => row.id === id);
  if (!card) return notFoundPage(c, signedIn, 'This card is not on your account (any more).');
  return c.html(
    render.removeCard({
      header: headerFor(c, signedIn),
      card,
      csrf: token(c, signedIn, `remove-card:${id}`),
    }),
  );
});

accountRouter.openAPIRegistry.registerPath({
  method: 'post',
  path: '/account/cards/{id}/remove',
  tags,
  summary: 'Remove a card (HTML form)',
  description:
    'Form field `csrf` (the confirmation page’s token, bound to the session and this card). Removes the card ' +
    'as `DELETE /v1/me/cards/{id}` does; → 303 to `/account`. A stale form or foreign `Origin` → 403, nothing ' +
    'removed; not one of my live cards → 404.',
  request: { params: cardParam, body: formBody(z.object({ csrf: z.string() })) },
  responses: {
    303: { description: 'Removed; to `/account`' },
    403: { description: 'Sent from another site, or a stale form (HTML)' },
    404: { description: 'No such card (HTML)' },
  },
});
accountRouter.post('/account/cards/:id/remove', async (c) => {
  pageHeaders(c);
  const signedIn = await cardholder(c);
  if (signedIn instanceof Response) return signedIn;
  if (!fromOwnOrigin(c)) return refusedForeign(c);
  const deps = c.get('deps');
  const id = c.req.param('id');
  const field = await formFields(c);
  const card = (await liveCardsOf(deps.db, signedIn.user.id)).find((row) => row.id === id);
  if (!card) return notFoundPage(c, signedIn, 'This card is not on your account (any more).');
  const purpose = `remove-card:${id}`;
  if (!tokenValid(c, signedIn, purpose, field('csrf'))) {
    const header = headerFor(c, signedIn);
    return c.html(
      render.removeCard({ header, card, csrf: token(c, signedIn, purpose), error: EXPIRED_FORM }),
      403,
    );
  }
  try {
    await removeCard(deps.db, signedIn.user.id, id);
  } catch (error) {
    // Removed meanwhile (another tab): the page says so rather than failing.
    if (error instanceof AppError && error.code === 'not_found')
      return notFoundPage(c, signedIn, 'This card is not on your account (any more).');
    throw error;
  }
  return c.redirect('/account?notice=card_removed#cards', 303);
});

const appParam = z.object({
  app_id: z.string().openapi({ param: { name: 'app_id', in: 'path' }, example: 'app_01jh…' }),
});

/** The user's live grant to an app, with the app; undefined when they do not connect it. */
async function connectedApp(c: Context<AppEnv>, signedIn: SignedIn, appId: string) {
  const grants = await listGrants(c.get('deps').db, signedIn.user.id, { limit: 1 }, appId);
  return grants.data[0];
}

async function appPage(c: Context<AppEnv>, signedIn: SignedIn, appId: string, error?: string) {
  const connected = await connectedApp(c, signedIn, appId);
  if (!connected) return undefined;
  const history = await consentHistory(c.get('deps').db, signedIn.user.id, { limit: HISTORY_SHOWN }, appId);
  return render.app({
    header: headerFor(c, signedIn),
    app: connected.app,
    grant: connected.grant,
    history: history.data.map((row) => row.event),
    csrf: token(c, signedIn, `disconnect:${appId}`),
    error,
  });
}

const NOT_CONNECTED = 'You do not connect this app (any more).';

accountRouter.openAPIRegistry.registerPath({
  method: 'get',
  path: '/account/apps/{app_id}',
  tags,
  summary: 'A connected app: what it may do, its consent history, and disconnecting it (HTML)',
  description:
    'The app’s scopes in plain words, since when, every consent decision about it, and the form that ' +
    'disconnects it (the confirmation step). Not connected → 404 page.',
  request: { params: appParam },
  responses: {
    200: { description: 'The app page', content: html },
    404: { description: 'Not connected (HTML)' },
  },
});
accountRouter.get('/account/apps/:app_id', async (c) => {
  pageHeaders(c);
  const signedIn = await cardholder(c);
  if (signedIn instanceof Response) return signedIn;
  const page = await appPage(c, signedIn, c.req.param('app_id'));
  return page ? c.html(page) : notFoundPage(c, signedIn, NOT_CONNECTED);
});

accountRouter.openAPIRegistry.registerPath({
  method: 'post',
  path: '/account/apps/{app_id}/disconnect',
  tags,
  summary: 'Disconnect an app (HTML form)',
  description:
    'Form field `csrf` (the app page’s token, bound to the session and this app). Revokes the grant as ' +
    '`DELETE /v1/me/grants/{app_id}` does (its tokens stop working, a signed `grant.revoked` webhook goes out, ' +
    'the consent history records it with source `account_page`); → 303 to `/account`. A stale form or foreign ' +
    '`Origin` → 403, nothing changed; not connected → 404.',
  request: { params: appParam, body: formBody(z.object({ csrf: z.string() })) },
  responses: {
    303: { description: 'Disconnected; to `/account`' },
    403: { description: 'Sent from another site, or a stale form (HTML)' },
    404: { description: 'Not connected (HTML)' },
  },
});
accountRouter.post('/account/apps/:app_id/disconnect', async (c) => {
  pageHeaders(c);
  const signedIn = await cardholder(c);
  if (signedIn instanceof Response) return signedIn;
  if (!fromOwnOrigin(c)) return refusedForeign(c);
  const appId = c.req.param('app_id');
  const field = await formFields(c);
  if (!tokenValid(c, signedIn, `disconnect:${appId}`, field('csrf'))) {
    const page = await appPage(c, signedIn, appId, EXPIRED_FORM);
    return page ? c.html(page, 403) : notFoundPage(c, signedIn, NOT_CONNECTED);
  }
  try {
    await revokeGrant(c.get('deps'), { userId: signedIn.user.id, appId, source: 'account_page' });
  } catch (error) {
    if (error instanceof AppError && error.code === 'not_found')
      return notFoundPage(c, signedIn, NOT_CONNECTED);
    throw error;
  }
  return c.redirect('/account?notice=app_disconnected#apps', 303);
});
