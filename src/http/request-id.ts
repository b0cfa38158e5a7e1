import { newId } from '../lib/ids.ts';

export const REQUEST_ID_HEADER = 'x-request-id';

/**
 * The request's id: the caller's `x-request-id` when it is a reasonable token (at most 255 word characters,
 * `-` or `=`, hono's rule), so a processor can follow its own ids through our logs; else a new `req_…`.
 */
export function requestIdFor(sent: string | undefined): string {
  return sent && sent.length <= 255 && !/[^\w\-=]/.test(sent) ? sent : newId('req');
}
