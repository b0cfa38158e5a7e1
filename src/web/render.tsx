import { ConsentPage, ErrorPage, LoginPage, SignedInPage } from './pages.tsx';

type Props<T extends (props: never) => unknown> = Parameters<T>[0];

const doc = (node: unknown) => `<!doctype html>${String(node)}`;

/** Server-rendered pages as HTML strings, so routes stay plain `.ts`. */
export const render = {
  login: (props: Props<typeof LoginPage>) => doc(<LoginPage {...props} />),
  signedIn: (props: Props<typeof SignedInPage>) => doc(<SignedInPage {...props} />),
  consent: (props: Props<typeof ConsentPage>) => doc(<ConsentPage {...props} />),
  error: (props: Props<typeof ErrorPage>) => doc(<ErrorPage {...props} />),
};
