import type { MiddlewareHandler } from 'hono';
import { AppError } from '../errors.ts';
import type { AppEnv } from './env.ts';

/**
 * The most arrays and objects a JSON body may nest. Our own documents nest 4 deep and a Stripe event about
 * 8; 64 leaves room for any sane payload, and keeps whatever walks a parsed body recursively (zod, the NUL
 * scan, adapters) far from the stack limit.
 */
export const MAX_JSON_DEPTH = 64;

/** What hono's validator and zod-openapi parse as JSON: `application/json`, `application/<x>+json`. */
export const JSON_MEDIA_TYPE = /^\s*application\/([\w.-]+\+)?json\s*(;|$)/i;

/**
 * Bodies read as form fields, never as JSON: their brackets are text (`a[b]=…`). Any other body may reach a
 * JSON parser whatever its declared type (bull-board's adapter calls `c.req.json()` on every body).
 */
export const FORM_MEDIA_TYPE = /^\s*(application\/x-www-form-urlencoded|multipart\/form-data)\s*(;|$)/i;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_ARRAY = 0x5b;
const OPEN_OBJECT = 0x7b;
const CLOSE_ARRAY = 0x5d;
const CLOSE_OBJECT = 0x7d;

/**
 * True when the JSON text in `bytes` (UTF-8) opens more than `max` arrays and objects at once. One pass,
 * no allocation, before anything parses it; brackets inside strings do not count. Bytes, not characters:
 * UTF-8 never puts an ASCII byte inside a multi-byte character. Text that is not JSON gives some answer;
 * the parser refuses it after.
 */
export function nestsDeeperThan(bytes: Uint8Array, max: number): boolean {
  let depth = 0;
  const length = bytes.length;
  for (let i = 0; i < length; i++) {
    const byte = bytes[i]!;
    if (byte === QUOTE) {
      // Through the string to its closing quote, stepping over each escaped byte (a plain loop: most
      // strings are short, where indexOf's call costs more than it saves).
      for (i++; i < length; i++) {
        const inner = bytes[i]!;
        if (inner === QUOTE) break;
        if (inner === BACKSLASH) i++;
      }
    } else if (byte === OPEN_ARRAY || byte === OPEN_OBJECT) {
      if (++depth > max) return true;
    } else if (byte === CLOSE_ARRAY || byte === CLOSE_OBJECT) {
      depth--;
    }
  }
  return false;
}

/** Refuses (400 `bad_request`) JSON text in `bytes` nested deeper than MAX_JSON_DEPTH: we will not parse it. */
export function refuseDeepJson(bytes: Uint8Array): void {
  if (nestsDeeperThan(bytes, MAX_JSON_DEPTH)) {
    throw new AppError(
      'bad_request',
      `The JSON body nests deeper than ${MAX_JSON_DEPTH} arrays and objects.`,
    );
  }
}

/**
 * Measures a body once, before any parser sees it (hono's and zod-openapi's validators, a route's own
 * c.req.json(), the Stripe route's parse after its signature check, the queue dashboard's adapter):
 * nothing downstream needs to care. Every body but a form's, whatever its declared type.
 */
export const limitJsonDepth: MiddlewareHandler<AppEnv> = async (c, next) => {
  if (c.req.method === 'GET' || c.req.method === 'HEAD') return next();
  if (FORM_MEDIA_TYPE.test(c.req.header('content-type') ?? '')) return next();
  // arrayBuffer(), not text(): hono caches it, and signature checks need the exact bytes.
  refuseDeepJson(new Uint8Array(await c.req.arrayBuffer()));
  return next();
};
