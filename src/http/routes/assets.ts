import { Hono } from 'hono';
import { SITE_CSS, STYLESHEET_PATH } from '../../web/stylesheet.ts';
import type { AppEnv } from '../env.ts';

/** The cardholder pages' style sheet: its path names its content, so browsers may keep it for a year. */
export const assetsRouter = new Hono<AppEnv>();

assetsRouter.get(STYLESHEET_PATH, (c) => {
  c.header('content-type', 'text/css; charset=utf-8');
  c.header('cache-control', 'public, max-age=31536000, immutable');
  c.header('x-content-type-options', 'nosniff');
  return c.body(SITE_CSS);
});
