/** Gives back a slot taken with `tryTake`; a second call does nothing. */
export type Release = () => void;

/** At most `max` holders at once, and no queue: a caller past the cap is told at once, not made to wait. */
export interface Slots {
  /** A slot, or null when all `max` are taken. */
  tryTake(): Release | null;
  readonly inUse: number;
}

export function createSlots(max: number): Slots {
  let inUse = 0;
  return {
    tryTake() {
      if (inUse >= max) return null;
      inUse += 1;
      let released = false;
      return () => {
        if (released) return;
        released = true;
        inUse -= 1;
      };
    },
    get inUse() {
      return inUse;
    },
  };
}
