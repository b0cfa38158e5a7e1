import { Queue } from 'bullmq';
import type { Logger } from './logger.ts';
import type { Redis } from './redis.ts';

export const QUEUE_NAMES = { maintenance: 'maintenance' } as const;

export interface Queues {
  maintenance: Queue;
  all: Queue[];
  close: () => Promise<void>;
}

/** The BullMQ queues producers use; each test file passes its own prefix. */
export function createQueues(connection: Redis, prefix: string, logger: Logger): Queues {
  const maintenance = new Queue(QUEUE_NAMES.maintenance, { connection, prefix });
  const all = [maintenance];
  for (const queue of all) {
    queue.on('error', (error) =>
      logger.warn({ err: { message: error.message }, queue: queue.name }, 'queue error'),
    );
  }
  return {
    maintenance,
    all,
    close: async () => {
      await Promise.all(all.map((queue) => queue.close()));
    },
  };
}
