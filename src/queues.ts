import { type JobsOptions, Queue } from 'bullmq';
import type { Logger } from './logger.ts';
import type { Redis } from './redis.ts';

export const QUEUE_NAMES = {
  maintenance: 'maintenance',
  /** Performs each action's effect once (`perform`), and settles rewards when their purchase moves (`settle`). */
  actions: 'actions',
  /** Sends each webhook to its app, with retries. */
  deliveries: 'deliveries',
} as const;

export interface Queues {
  maintenance: Queue;
  actions: Queue;
  deliveries: Queue;
  all: Queue[];
  close: () => Promise<void>;
}

/** The BullMQ queues producers use; each test file passes its own prefix. */
export function createQueues(
  connection: Redis,
  prefix: string,
  logger: Logger,
  options: { deliveryJobs?: JobsOptions } = {},
): Queues {
  const maintenance = new Queue(QUEUE_NAMES.maintenance, { connection, prefix });
  // Postgres holds the state of every action and delivery; a finished job is only clutter in Redis, and a job id
  // left behind would stop the relay or a redelivery from adding that id again.
  const transient = { removeOnComplete: true, removeOnFail: true };
  const actions = new Queue(QUEUE_NAMES.actions, { connection, prefix, defaultJobOptions: transient });
  // Every producer of deliveries (dispatcher, relay, redeliveries) gives its jobs the retry schedule's attempts.
  const deliveries = new Queue(QUEUE_NAMES.deliveries, {
    connection,
    prefix,
    defaultJobOptions: { ...transient, ...options.deliveryJobs },
  });
  const all = [maintenance, actions, deliveries];
  for (const queue of all) {
    queue.on('error', (error) =>
      logger.warn({ err: { message: error.message }, queue: queue.name }, 'queue error'),
    );
  }
  return {
    maintenance,
    actions,
    deliveries,
    all,
    close: async () => {
      await Promise.all(all.map((queue) => queue.close()));
    },
  };
}
