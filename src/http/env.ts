import type { OpenAPIHono } from '@hono/zod-openapi';
import type { RequestIdVariables } from 'hono/request-id';
import type { ProcessorRow, UserRow } from '../db/schema/index.ts';
import type { Deps } from '../deps.ts';
import type { AccessContext } from '../oauth/access-tokens.ts';

/** A cardholder admitted by their session (bearer token or cookie). */
export interface SignedIn {
  user: UserRow;
  sessionToken: string;
  /** Whether the session came as a bearer header or as the browser's cookie (which needs the Origin check). */
  source: 'header' | 'cookie';
}

/**
 * What a request carries from middleware to handler. Those set by an authentication middleware are
 * absent on routes without it; each has an accessor beside its middleware that refuses when it is missing.
 */
export type AppEnv = {
  Variables: RequestIdVariables & {
    deps: Deps;
    /** `requireProcessor`: the processor whose api key and signature the request carries. */
    processor?: ProcessorRow;
    /** The Stripe route: the processor whose `Stripe-Signature` the request carries. */
    stripeProcessor?: { id: string };
    /** `requireAppToken`: the app, and the user and scopes of a delegated token. */
    appAccess?: AccessContext;
    /** `requireUser`: the signed-in cardholder and their session. */
    signedIn?: SignedIn;
  };
};

export type Router = OpenAPIHono<AppEnv>;
