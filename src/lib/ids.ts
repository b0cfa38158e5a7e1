import { monotonicFactory } from 'ulidx';

const ulid = monotonicFactory();

export type IdPrefix =
  | 'prc'
  | 'app'
  | 'usr'
  | 'crd'
  | 'mer'
  | 'trg'
  | 'evt'
  | 'act'
  | 'dlv'
  | 'rcp'
  | 'grt'
  | 'cns'
  | 'oaf'
  | 'req';

/** A prefixed, time-sortable id (`prc_01jh…`): ordering ids orders by creation. */
export function newId(prefix: IdPrefix): string {
  return `${prefix}_${ulid().toLowerCase()}`;
}
