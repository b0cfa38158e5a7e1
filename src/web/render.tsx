import { AccountPage } from './account-page.tsx';
import { AppPage, RemoveCardPage } from './confirm-pages.tsx';
import { ConsentPage, ErrorPage, LoginPage, SignOutPage, SignupPage } from './pages.tsx';

type Props<T extends (props: never) => unknown> = Parameters<T>[0];

const doc = (node: unknown) => `<!doctype html>${String(node)}`;

/** Server-rendered pages as HTML strings, so routes stay plain `.ts`. */
export const render = {
  login: (props: Props<typeof LoginPage>) => doc(<LoginPage {...props} />),
  signup: (props: Props<typeof SignupPage>) => doc(<SignupPage {...props} />),
  signOut: (props: Props<typeof SignOutPage>) => doc(<SignOutPage {...props} />),
  consent: (props: Props<typeof ConsentPage>) => doc(<ConsentPage {...props} />),
  account: (props: Props<typeof AccountPage>) => doc(<AccountPage {...props} />),
  removeCard: (props: Props<typeof RemoveCardPage>) => doc(<RemoveCardPage {...props} />),
  app: (props: Props<typeof AppPage>) => doc(<AppPage {...props} />),
  error: (props: Props<typeof ErrorPage>) => doc(<ErrorPage {...props} />),
};
