import { monotonicFactory } from 'ulidx';

// ulidx's default PRNG makes one crypto call per random character; draw them from a pooled buffer instead
// (still crypto-strong, uniform: 256 is a multiple of the 32-letter alphabet).
const pool = new Uint8Array(4096);
let poolIndex = pool.length;
const ulid = monotonicFactory(() => {
  if (poolIndex >= pool.length) {
    crypto.getRandomValues(pool);
    poolIndex = 0;
  }
  return pool[poolIndex++]! / 256;
});

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
  | 'cpn'
  | 'spt'
  | 'grt'
  | 'pyt'
  | 'cns'
  | 'oaf'
  | 'req';

/** A prefixed, time-sortable id (`prc_01jh…`): ordering ids orders by creation. */
export function newId(prefix: IdPrefix): string {
  return `${prefix}_${ulid().toLowerCase()}`;
}
