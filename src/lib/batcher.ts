/**
 * Gathers the items that concurrent callers submit in the same turn of the event loop (and those that arrive
 * while `maxInFlight` batches run) into one call of `run`, which answers each item in order. A failed batch
 * of several is run again item by item, so one bad item fails only its own caller.
 */
export interface Batcher<I, O> {
  submit(item: I): Promise<O>;
}

interface Waiting<I, O> {
  item: I;
  resolve: (value: O) => void;
  reject: (error: unknown) => void;
}

export function createBatcher<I, O>(
  run: (items: I[]) => Promise<O[]>,
  options: { maxInFlight: number; maxItems: number },
): Batcher<I, O> {
  let waiting: Waiting<I, O>[] = [];
  let inFlight = 0;
  let scheduled = false;

  const settle = (batch: Waiting<I, O>[]) =>
    run(batch.map((w) => w.item)).then(
      (results) => {
        batch.forEach((w, index) => {
          w.resolve(results[index] as O);
        });
      },
      (error: unknown) => {
        if (batch.length === 1) return batch[0]!.reject(error);
        for (const w of batch) settle([w]);
      },
    );

  const flush = () => {
    scheduled = false;
    while (waiting.length > 0 && inFlight < options.maxInFlight) {
      const batch = waiting.slice(0, options.maxItems);
      waiting = waiting.slice(batch.length);
      inFlight++;
      void settle(batch).finally(() => {
        inFlight--;
        schedule();
      });
    }
  };

  const schedule = () => {
    if (scheduled || waiting.length === 0 || inFlight >= options.maxInFlight) return;
    scheduled = true;
    setImmediate(flush);
  };

  return {
    submit: (item) =>
      new Promise<O>((resolve, reject) => {
        waiting.push({ item, resolve, reject });
        schedule();
      }),
  };
}
