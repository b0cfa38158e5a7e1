// The second step of each change that cannot be undone from the page: removing a card, disconnecting an app.
import type { AppRow, CardRow, ConsentEventRow, GrantRow } from '../db/schema/index.ts';
import { cardName, formatDate } from './format.ts';
import { Alert, Layout, type SignedInHeader } from './layout.tsx';
import { consentInWords, scopeInWords } from './words.ts';

export function RemoveCardPage(props: {
  header: SignedInHeader;
  card: CardRow;
  csrf: string;
  error?: string | undefined;
}) {
  const name = cardName(props.card);
  return (
    <Layout title={`Remove ${name}`} signedIn={props.header}>
      <h1>Remove {name}?</h1>
      <Alert message={props.error} />
      <p>
        Purchases with this card stop earning rewards from every app at once. What it earned so far stays, and
        you can add the card again later.
      </p>
      <form method="post" action={`/account/cards/${props.card.id}/remove`}>
        <input type="hidden" name="csrf" value={props.csrf} />
        <div class="actions">
          <button class="danger" type="submit">
            Remove {name}
          </button>
          <a href="/account#cards">Keep it</a>
        </div>
      </form>
    </Layout>
  );
}

export function AppPage(props: {
  header: SignedInHeader;
  app: AppRow;
  grant: GrantRow;
  history: ConsentEventRow[];
  csrf: string;
  error?: string | undefined;
}) {
  const { app, grant } = props;
  return (
    <Layout title={app.name} signedIn={props.header} wide>
      <p>
        <a href="/account#apps">Back to your account</a>
      </p>
      <h1>{app.name}</h1>
      <Alert message={props.error} />
      <p class="muted">
        Connected since <time datetime={grant.grantedAt.toISOString()}>{formatDate(grant.grantedAt)}</time>
      </p>
      <h2 id="allowed">What {app.name} may do</h2>
      <ul class="scopes" aria-labelledby="allowed">
        {grant.scopes.map((scope) => (
          <li>{scopeInWords(scope)}</li>
        ))}
      </ul>
      <p class="muted">
        It never sees your card numbers: only the last 4 digits and an id of its own for each card.
      </p>
      <h2 id="history">History</h2>
      <ol class="plain" aria-labelledby="history">
        {props.history.map((event) => (
          <li>
            <time datetime={event.createdAt.toISOString()}>{formatDate(event.createdAt)}</time>:{' '}
            {consentInWords(event)}
          </li>
        ))}
      </ol>
      <h2 id="disconnect">Disconnect {app.name}</h2>
      <p>
        From the moment you disconnect it, {app.name} gets nothing more from your purchases, its access to
        your account stops, and it is told so. Rewards it already gave you stay in your balances. To connect
        it again, start from {app.name}.
      </p>
      <form method="post" action={`/account/apps/${app.id}/disconnect`}>
        <input type="hidden" name="csrf" value={props.csrf} />
        <div class="actions">
          <button class="danger" type="submit">
            Disconnect {app.name}
          </button>
          <a href="/account#apps">Keep it connected</a>
        </div>
      </form>
    </Layout>
  );
}
