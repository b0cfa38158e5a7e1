import type { OpenAPIHono } from '@hono/zod-openapi';
import type { RequestIdVariables } from 'hono/request-id';
import type { Deps } from '../deps.ts';

export type AppEnv = {
  Variables: RequestIdVariables & {
    deps: Deps;
  };
};

export type Router = OpenAPIHono<AppEnv>;
