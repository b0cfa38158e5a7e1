import { holdsCardNumber } from '../cards/card-numbers.ts';
import { newId } from '../lib/ids.ts';

export const REQUEST_ID_HEADER = 'x-request-id';

/**
 * The request's id: the caller's `x-request-id` when it is a reasonable token (at most 255 word characters,
 * `-` or `=`, hono's rule), so a processor can follow its own ids through our logs; else a new `req_…`.
 * One that could hold a card number is replaced too: the id is echoed and written to every log line.
 */
export function requestIdFor(sent: string | undefined): string {
  return sent && sent.length <= 255 && !/[^\w\-=]/.test(sent) && !holdsCardNumber(sent) ? sent : newId('req');
}
