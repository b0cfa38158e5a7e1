/**
 * The index's lists, packed into one Int32Array: a list holds entries (app slot, trigger ref, the trigger's record
 * of trigger-records.ts) sorted by slot, in a block of the pool whose capacity C is one of CAPACITIES: the C
 * slots first, then C × TAIL ints (ref and record). Lists are named by small integer handles.
 *
 * Why packed: at 100,000 triggers the index does not fit in the processor's cache, and each object an event
 * reaches is a cache miss (and, on this VM, often a TLB miss). An event reads a list's slots (one cache line for
 * a dozen apps) and only its granted apps' records, and reaches a trigger object only when it matches
 * (bench/README.md, "Rules engine").
 *
 * A list with many entries ("broad": a country, a currency, an MCC many apps name) also gets a small hash table from
 * slot to the start of that slot's entries, so an event looks each granted app up in it instead of reading every
 * app's entries or searching: its cost stays O(granted apps), whatever the number of apps listed.
 */
export interface KeyLists {
  /** Blocks of entries: C slots, then C × [ref, record]. Replaced by a larger copy when full. */
  pool: Int32Array;
  /** Ints of `pool` handed out so far (free blocks included). */
  used: number;
  /** Per size class c (capacity CAPACITIES[c]): offsets of free blocks. */
  readonly freeBlocks: number[][];
  /** Per handle: offset of its block in `pool` (-1: none yet), entries in it, the block's capacity and class. */
  at: Int32Array;
  length: Int32Array;
  capacity: Int32Array;
  sizeClass: Int32Array;
  /** Per handle: for a broad list, its table by slot (see indexBySlot); null for the others. */
  readonly bySlot: (Int32Array | null)[];
  readonly freeHandles: number[];
  handles: number;
  /**
   * While set (a bulk build), broad lists are only noted here and indexed by slot once at the end by
   * `indexDeferred`: rebuilding a list's table on each of its 100,000 inserts would be quadratic.
   */
  deferred: Set<number> | null;
}

/** Ints of an entry after its slot: ref and the trigger's record (trigger-records.ts). */
export const TAIL = 5;

/**
 * Block capacities: powers of two and the midpoints between them (1, 2, 3, 4, 6, 8, 12, …), so a block is at most
 * a third empty (a dozen apps under a MID in 12 entries, not 16: the pool is read, and cached, by the line).
 */
export const CAPACITIES: readonly number[] = [1];
for (let power = 2; power < 2 ** 29; power *= 2) (CAPACITIES as number[]).push(power, power + power / 2);

/** A list with more entries than this gets a table by slot (and loses it below half). */
export const BROAD = 32;

export function createKeyLists(): KeyLists {
  const handles = 64;
  return {
    pool: new Int32Array(1024),
    used: 0,
    freeBlocks: CAPACITIES.map(() => []),
    at: new Int32Array(handles).fill(-1),
    length: new Int32Array(handles),
    capacity: new Int32Array(handles),
    sizeClass: new Int32Array(handles),
    bySlot: [],
    freeHandles: [],
    handles: 0,
    deferred: null,
  };
}

/** Indexes by slot the broad lists changed since `deferred` was set, and stops deferring. */
export function indexDeferred(lists: KeyLists): void {
  const deferred = lists.deferred;
  lists.deferred = null;
  for (const handle of deferred ?? []) if (lists.length[handle]! > BROAD) indexBySlot(lists, handle);
}

/**
 * Copies every list into a new pool, each in the smallest block that holds it, one after another: after a bulk
 * build, half the pool is blocks that lists outgrew (and the rest is spread across it), which costs cache.
 */
export function compact(lists: KeyLists): void {
  let size = 0;
  for (let handle = 0; handle < lists.handles; handle++)
    if (lists.at[handle]! >= 0) size += (1 + TAIL) * CAPACITIES[classFor(lists.length[handle]!)]!;
  const pool = new Int32Array(Math.max(1024, size));
  let used = 0;
  for (let handle = 0; handle < lists.handles; handle++) {
    const from = lists.at[handle]!;
    if (from < 0) continue;
    const length = lists.length[handle]!;
    const sizeClass = classFor(length);
    const capacity = CAPACITIES[sizeClass]!;
    const fromTails = from + lists.capacity[handle]!;
    pool.set(lists.pool.subarray(from, from + length), used);
    pool.set(lists.pool.subarray(fromTails, fromTails + length * TAIL), used + capacity);
    lists.at[handle] = used;
    lists.capacity[handle] = capacity;
    lists.sizeClass[handle] = sizeClass;
    used += (1 + TAIL) * capacity;
  }
  lists.pool = pool;
  lists.used = used;
  for (const free of lists.freeBlocks) free.length = 0;
}

function classFor(entries: number): number {
  let sizeClass = 0;
  while (CAPACITIES[sizeClass]! < entries) sizeClass++;
  return sizeClass;
}

/** A new, empty list. */
export function newList(lists: KeyLists): number {
  const handle = lists.freeHandles.pop() ?? lists.handles++;
  if (handle >= lists.at.length) {
    const size = lists.at.length * 2;
    lists.at = grown(lists.at, size, -1);
    lists.length = grown(lists.length, size, 0);
    lists.capacity = grown(lists.capacity, size, 0);
    lists.sizeClass = grown(lists.sizeClass, size, 0);
  }
  lists.at[handle] = -1;
  lists.length[handle] = 0;
  lists.bySlot[handle] = null;
  return handle;
}

/** Frees an empty list's handle (its block went back when it emptied). */
export function dropList(lists: KeyLists, handle: number): void {
  lists.bySlot[handle] = null;
  lists.freeHandles.push(handle);
}

/** Adds an entry after the slot's other entries. */
export function insertEntry(
  lists: KeyLists,
  handle: number,
  slot: number,
  ref: number,
  record: Int32Array,
): void {
  const length = lists.length[handle]!;
  if (lists.at[handle]! < 0 || length === lists.capacity[handle]!) moveToBlock(lists, handle, length + 1);
  const { pool } = lists;
  const start = lists.at[handle]!;
  const tails = start + lists.capacity[handle]!;
  let i = length;
  // From the end, shift the entries of later slots by one (a list is short, or a broad list rebuilt anyway).
  while (i > 0 && pool[start + i - 1]! > slot) i--;
  if (i < length) {
    pool.copyWithin(start + i + 1, start + i, start + length);
    pool.copyWithin(tails + (i + 1) * TAIL, tails + i * TAIL, tails + length * TAIL);
  }
  pool[start + i] = slot;
  pool[tails + i * TAIL] = ref;
  pool.set(record, tails + i * TAIL + 1);
  lists.length[handle] = length + 1;
  if (length + 1 > BROAD) indexBySlot(lists, handle);
}

/** Takes an entry out; answers the entries left (-1: it was not there). An emptied list returns its block. */
export function removeEntry(lists: KeyLists, handle: number, slot: number, ref: number): number {
  const length = lists.length[handle]!;
  const start = lists.at[handle]!;
  const tails = start + lists.capacity[handle]!;
  const { pool } = lists;
  let i = 0;
  while (i < length && !(pool[start + i] === slot && pool[tails + i * TAIL] === ref)) i++;
  if (i === length) return -1;
  pool.copyWithin(start + i, start + i + 1, start + length);
  pool.copyWithin(tails + i * TAIL, tails + (i + 1) * TAIL, tails + length * TAIL);
  const left = length - 1;
  lists.length[handle] = left;
  if (left === 0) {
    lists.freeBlocks[lists.sizeClass[handle]!]!.push(start);
    lists.at[handle] = -1;
  }
  if (left > BROAD) indexBySlot(lists, handle);
  else if (left <= BROAD / 2) lists.bySlot[handle] = null;
  return left;
}

/** The entries of a list as [slot, ref] (for tests and tools, not the hot path). */
export function entriesOf(lists: KeyLists, handle: number): [number, number][] {
  const pairs: [number, number][] = [];
  const start = lists.at[handle]!;
  const tails = start + lists.capacity[handle]!;
  for (let i = 0; i < lists.length[handle]!; i++)
    pairs.push([lists.pool[start + i]!, lists.pool[tails + i * TAIL]!]);
  return pairs;
}

/** The table entry of a slot: Fibonacci hashing into 2^bits entries. */
export const slotHash = (slot: number, bits: number): number =>
  Math.imul(slot + 1, 0x9e3779b1) >>> (32 - bits);

/**
 * Rebuilds a broad list's table by slot: [words, bits, a bitmap of the slots listed (`words` ints), then 2^bits
 * entries [slot + 1, index of the slot's first entry in the list] at load factor at most one half].
 * Most granted apps are in none of a broad list's entries, and the bitmap (two cache lines for 1,000 apps) says so
 * without probing the entries; it is left out (words 0) where it would outweigh them (very many apps).
 */
function indexBySlot(lists: KeyLists, handle: number) {
  if (lists.deferred !== null) {
    lists.deferred.add(handle);
    return;
  }
  const { pool } = lists;
  const start = lists.at[handle]!;
  const length = lists.length[handle]!;
  let bits = 4;
  while (1 << (bits - 1) < length) bits++;
  const highest = pool[start + length - 1]!;
  const needed = (highest >> 5) + 1;
  const words = needed <= 4 * length ? needed : 0;
  const size = 2 + words + (2 << bits);
  let table = lists.bySlot[handle];
  if (table === null || table === undefined || table.length !== size) table = new Int32Array(size);
  else table.fill(0);
  table[0] = words;
  table[1] = bits;
  const base = 2 + words;
  const mask = (1 << bits) - 1;
  let previous = -1;
  for (let i = 0; i < length; i++) {
    const slot = pool[start + i]!;
    if (slot === previous) continue;
    previous = slot;
    if (words > 0) table[2 + (slot >> 5)]! |= 1 << (slot & 31);
    let entry = slotHash(slot, bits);
    while (table[base + entry * 2] !== 0) entry = (entry + 1) & mask;
    table[base + entry * 2] = slot + 1;
    table[base + entry * 2 + 1] = i;
  }
  lists.bySlot[handle] = table;
}

/** Moves a list to a block for at least `entries` entries (a new list gets its first block). */
function moveToBlock(lists: KeyLists, handle: number, entries: number) {
  const sizeClass = classFor(entries);
  const capacity = CAPACITIES[sizeClass]!;
  const free = lists.freeBlocks[sizeClass]!;
  let block = free.pop();
  if (block === undefined) {
    const ints = (1 + TAIL) * capacity;
    if (lists.used + ints > lists.pool.length) {
      let size = lists.pool.length * 2;
      while (size < lists.used + ints) size *= 2;
      lists.pool = grown(lists.pool, size, 0);
    }
    block = lists.used;
    lists.used += ints;
  }
  const from = lists.at[handle]!;
  const length = lists.length[handle]!;
  if (from >= 0) {
    const { pool } = lists;
    const fromTails = from + lists.capacity[handle]!;
    pool.copyWithin(block, from, from + length);
    pool.copyWithin(block + capacity, fromTails, fromTails + length * TAIL);
    lists.freeBlocks[lists.sizeClass[handle]!]!.push(from);
  }
  lists.at[handle] = block;
  lists.capacity[handle] = capacity;
  lists.sizeClass[handle] = sizeClass;
}

function grown(array: Int32Array, size: number, fill: number): Int32Array {
  const copy = new Int32Array(size);
  if (fill !== 0) copy.fill(fill);
  copy.set(array);
  return copy;
}
