import type {
  AppRow,
  CardRow,
  ConsentEventRow,
  CouponRow,
  GrantRow,
  ReceiptRow,
} from '../db/schema/index.ts';
import type { Balance } from '../ledger/balances.ts';
import type { ActivityEvent } from '../users/activity.ts';
import { cardName, formatDate, formatInstant, formatLocalTime, formatMoney, formatPoints } from './format.ts';
import { Alert, Layout, type SignedInHeader } from './layout.tsx';
import { reasonInWords } from './reasons.ts';
import { consentInWords, eventTypeInWords, firedInWords, scopeInWords } from './words.ts';

/** The add-card form as shown: never with the card number, even after an error. */
export interface AddCardForm {
  csrf: string;
  error?: string | undefined;
  fieldErrors?: { pan?: string | undefined; expiry?: string | undefined } | undefined;
  expiry?: string | undefined;
}

export interface AccountView {
  header: SignedInHeader;
  notice?: string | undefined;
  cards: CardRow[];
  addCard: AddCardForm;
  apps: { grant: GrantRow; app: AppRow }[];
  /** The latest consent decisions across apps, those disconnected included. */
  consents: { event: ConsentEventRow; appName: string }[];
  balances: Balance[];
  receipts: ReceiptRow[];
  coupons: CouponRow[];
  activity: ActivityEvent[];
  /** The links to each list's older items, when there are some. */
  olderReceipts?: string | undefined;
  olderCoupons?: string | undefined;
  olderActivity?: string | undefined;
}

export function AccountPage(props: AccountView) {
  const appNames = new Map<string, string>([
    ...props.consents.map(({ event, appName }) => [event.appId, appName] as const),
    ...props.apps.map(({ app }) => [app.id, app.name] as const),
    ...props.balances.map((b) => [b.appId, b.appName] as const),
    ...props.activity.flatMap((e) => e.fired.map((f) => [f.app.id, f.app.name] as const)),
  ]);
  return (
    <Layout title="Your account" signedIn={props.header} wide>
      <h1>Your account</h1>
      <p class="muted">Signed in as {props.header.email}</p>
      <Alert message={props.notice} kind="notice" />
      <nav class="toc" aria-label="On this page">
        <ul>
          <li>
            <a href="#cards">Cards</a>
          </li>
          <li>
            <a href="#apps">Connected apps</a>
          </li>
          <li>
            <a href="#rewards">Rewards</a>
          </li>
          <li>
            <a href="#activity">Recent activity</a>
          </li>
        </ul>
      </nav>
      <Cards cards={props.cards} form={props.addCard} />
      <Apps apps={props.apps} consents={props.consents} />
      <Rewards
        balances={props.balances}
        receipts={props.receipts}
        coupons={props.coupons}
        olderReceipts={props.olderReceipts}
        olderCoupons={props.olderCoupons}
        appNames={appNames}
      />
      <Activity events={props.activity} connected={props.apps.length > 0} older={props.olderActivity} />
    </Layout>
  );
}

function Cards(props: { cards: CardRow[]; form: AddCardForm }) {
  const { form } = props;
  const panError = form.fieldErrors?.pan;
  const expiryError = form.fieldErrors?.expiry;
  return (
    <section aria-labelledby="cards">
      <h2 id="cards">Your cards</h2>
      {props.cards.length === 0 ? (
        <p class="empty">
          You have not added a card yet. Add the card you pay with below: the apps you connect can then reward
          your purchases with it.
        </p>
      ) : (
        <ul class="plain">
          {props.cards.map((card) => (
            <li class="row">
              <span>
                <strong>{cardName(card)}</strong>{' '}
                <span class="muted">
                  expires {String(card.expMonth).padStart(2, '0')}/{String(card.expYear).slice(-2)}
                </span>
              </span>
              <a href={`/account/cards/${card.id}/remove`}>
                Remove<span class="visually-hidden"> {cardName(card)}</span>
              </a>
            </li>
          ))}
        </ul>
      )}
      <h3 id="add-card">Add a card</h3>
      <Alert message={form.error} />
      {/* The fragment brings the browser back to this form when the page comes back with an error. */}
      <form method="post" action="/account/cards#add-card" aria-labelledby="add-card">
        <input type="hidden" name="csrf" value={form.csrf} />
        <label for="pan">Card number</label>
        <span class="hint" id="pan-hint">
          As printed on the card. cardlink keeps only its first 6 and last 4 digits.
        </span>
        {panError ? (
          <span class="hint error-text" id="pan-error">
            {panError}
          </span>
        ) : null}
        <input
          id="pan"
          name="pan"
          type="text"
          inputmode="numeric"
          autocomplete="cc-number"
          maxlength={40}
          required
          value=""
          aria-invalid={panError ? 'true' : undefined}
          aria-describedby={panError ? 'pan-hint pan-error' : 'pan-hint'}
        />
        <label for="expiry">Expiry date</label>
        <span class="hint" id="expiry-hint">
          MM/YY, as printed on the card
        </span>
        {expiryError ? (
          <span class="hint error-text" id="expiry-error">
            {expiryError}
          </span>
        ) : null}
        <input
          id="expiry"
          name="expiry"
          type="text"
          inputmode="numeric"
          autocomplete="cc-exp"
          maxlength={7}
          required
          value={form.expiry ?? ''}
          aria-invalid={expiryError ? 'true' : undefined}
          aria-describedby={expiryError ? 'expiry-hint expiry-error' : 'expiry-hint'}
        />
        <div class="actions">
          <button class="primary" type="submit">
            Add card
          </button>
        </div>
      </form>
    </section>
  );
}

function Apps(props: Pick<AccountView, 'apps' | 'consents'>) {
  return (
    <section aria-labelledby="apps">
      <h2 id="apps">Connected apps</h2>
      {props.apps.length === 0 ? (
        <p class="empty">
          No app is connected yet. Apps that give receipts, points or cashback ask to connect from their own
          site; you are then brought here to allow or deny what each may do.
        </p>
      ) : (
        <ul class="plain">
          {props.apps.map(({ grant, app }) => (
            <li>
              <h3>{app.name}</h3>
              <p class="muted">
                Connected since{' '}
                <time datetime={grant.grantedAt.toISOString()}>{formatDate(grant.grantedAt)}</time>
              </p>
              <p>It may:</p>
              <ul class="scopes">
                {grant.scopes.map((scope) => (
                  <li>{scopeInWords(scope)}</li>
                ))}
              </ul>
              <a href={`/account/apps/${app.id}`}>
                Review or disconnect<span class="visually-hidden"> {app.name}</span>
              </a>
            </li>
          ))}
        </ul>
      )}
      {props.consents.length > 0 ? (
        <>
          <h3 id="consents">What you allowed and when</h3>
          <ol class="plain" aria-labelledby="consents">
            {props.consents.map(({ event, appName }) => (
              <li>
                <time datetime={event.createdAt.toISOString()}>{formatDate(event.createdAt)}</time>, {appName}
                : {consentInWords(event)}
              </li>
            ))}
          </ol>
        </>
      ) : null}
    </section>
  );
}

function Figure(props: { label: string; value: string }) {
  return (
    <div>
      <dt>{props.label}</dt>
      <dd>{props.value}</dd>
    </div>
  );
}

function Rewards(props: {
  balances: Balance[];
  receipts: ReceiptRow[];
  coupons: CouponRow[];
  olderReceipts: string | undefined;
  olderCoupons: string | undefined;
  appNames: Map<string, string>;
}) {
  const byApp = new Map<string, Balance[]>();
  for (const balance of props.balances)
    byApp.set(balance.appId, [...(byApp.get(balance.appId) ?? []), balance]);
  const amount = (balance: Balance, value: number) =>
    balance.kind === 'cashback' ? formatMoney(value, balance.unit) : formatPoints(value);
  return (
    <section aria-labelledby="rewards">
      <h2 id="rewards">Rewards</h2>
      {byApp.size === 0 ? (
        <p class="empty">
          No rewards yet. Once you have added a card and connected an app, the cashback and points your
          purchases earn show here: pending until the purchase settles, then available.
        </p>
      ) : (
        <ul class="plain">
          {[...byApp.values()].map((balances) => (
            <li>
              <h3>{balances[0]!.appName}</h3>
              {balances.map((balance) => (
                <div>
                  <p class="muted">
                    {balance.kind === 'cashback' ? `Cashback in ${balance.unit}` : 'Points'}
                  </p>
                  <dl class="figures">
                    <Figure label="Pending" value={amount(balance, balance.pending)} />
                    <Figure label="Available" value={amount(balance, balance.available)} />
                    <Figure label="Paid out" value={amount(balance, balance.paidOut)} />
                  </dl>
                </div>
              ))}
            </li>
          ))}
        </ul>
      )}
      <h3 id="receipts">Receipts</h3>
      {props.receipts.length === 0 ? (
        <p class="empty">No receipts yet. Apps you allow to send receipts keep one of each purchase here.</p>
      ) : (
        <ul class="plain" aria-labelledby="receipts">
          {props.receipts.map((receipt) => (
            <li>
              <div class="row">
                <strong>{receipt.merchant.name ?? 'A shop'}</strong>
                <span class="amount">{formatMoney(receipt.amount, receipt.currency)}</span>
              </div>
              <span class="muted">
                {formatLocalTime(receipt.localTime)} ·{' '}
                {cardName({ scheme: receipt.cardScheme, last4: receipt.cardLast4 })}
                {props.appNames.has(receipt.appId) ? ` · from ${props.appNames.get(receipt.appId)}` : ''}
              </span>
            </li>
          ))}
        </ul>
      )}
      <Older href={props.olderReceipts} label="Older receipts" />
      <h3 id="coupons">Coupons</h3>
      {props.coupons.length === 0 ? (
        <p class="empty">
          No coupons yet. Apps you allow to send coupons put them here as your purchases earn them.
        </p>
      ) : (
        <ul class="plain" aria-labelledby="coupons">
          {props.coupons.map((coupon) => (
            <li>
              <code>{coupon.code}</code>
              {coupon.valueAmount !== null && coupon.valueCurrency
                ? ` worth ${formatMoney(coupon.valueAmount, coupon.valueCurrency)}`
                : ''}
              <span class="muted">
                {coupon.expiresAt ? ` · valid until ${formatInstant(coupon.expiresAt)}` : ''}
                {props.appNames.has(coupon.appId) ? ` · from ${props.appNames.get(coupon.appId)}` : ''}
              </span>
            </li>
          ))}
        </ul>
      )}
      <Older href={props.olderCoupons} label="Older coupons" />
    </section>
  );
}

function Older(props: { href: string | undefined; label: string }) {
  return props.href ? (
    <p>
      <a href={props.href}>{props.label}</a>
    </p>
  ) : null;
}

function Activity(props: { events: ActivityEvent[]; connected: boolean; older: string | undefined }) {
  return (
    <section aria-labelledby="activity">
      <h2 id="activity">Recent activity</h2>
      {props.events.length === 0 ? (
        <p class="empty">
          No purchases yet. Pay with a card you added: each purchase shows here with what it earned, or why it
          earned nothing.
        </p>
      ) : (
        <ol class="plain">
          {props.events.map((event) => (
            <ActivityItem event={event} connected={props.connected} />
          ))}
        </ol>
      )}
      <Older href={props.older} label="Older activity" />
    </section>
  );
}

function ActivityItem(props: { event: ActivityEvent; connected: boolean }) {
  const { event } = props;
  const nothing = event.fired.length === 0 && event.notFired.length === 0 && event.type === 'authorization';
  return (
    <li>
      <div class="row">
        <strong>{event.merchant.name ?? 'A shop'}</strong>
        <span class="amount">{formatMoney(event.amount, event.currency)}</span>
      </div>
      <span class="muted">
        {eventTypeInWords(event.type)} · {cardName(event.card)} ·{' '}
        <time datetime={event.occurredAt.toISOString()}>{formatLocalTime(event.localAt)}</time>
      </span>
      {event.fired.length + event.notFired.length > 0 || nothing ? (
        <ul class="outcomes">
          {event.fired.map((action) => (
            <li class="earned">
              {firedInWords(action)}{' '}
              <span class="muted">
                from {action.app.name}
                {action.trigger.name ? `, “${action.trigger.name}”` : ''}
                {action.givenBack ? ' (taken back: the purchase was refunded or cancelled)' : ''}
              </span>
            </li>
          ))}
          {event.notFired.map((miss) => (
            <li>
              Nothing from {miss.trigger.name ? `“${miss.trigger.name}” of ` : ''}
              {miss.app.name}:{' '}
              {miss.reasons
                .map((reason) =>
                  reasonInWords(reason, {
                    terms: miss.trigger.terms,
                    progress: miss.progress,
                    currency: event.currency,
                  }),
                )
                .join('; ')}
            </li>
          ))}
          {nothing ? (
            <li>
              Nothing earned:{' '}
              {props.connected
                ? 'no offer of the apps you connected applies to this purchase.'
                : 'connect an app to earn rewards on purchases like this one.'}
            </li>
          ) : null}
        </ul>
      ) : null}
    </li>
  );
}
