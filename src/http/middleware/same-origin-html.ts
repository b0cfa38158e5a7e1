import type { MiddlewareHandler } from 'hono';

const EXTERNAL_LINK = /<link\b[^>]*\bhref=["']?(?:https?:)?\/\/[^>]*>\s*/gi;

/**
 * Drops `<link>` tags to other origins from HTML answers. The queue dashboard's page (bull-board's own
 * template, no option to change it) loads Google Fonts; without them it falls back to the system's fonts,
 * and nothing cardlink serves reaches outside the machine.
 */
export const sameOriginHtml: MiddlewareHandler = async (c, next) => {
  await next();
  if (!c.res.headers.get('content-type')?.startsWith('text/html')) return;
  const html = await c.res.text();
  const headers = new Headers(c.res.headers);
  headers.delete('content-length');
  c.res = new Response(html.replace(EXTERNAL_LINK, ''), { status: c.res.status, headers });
};
