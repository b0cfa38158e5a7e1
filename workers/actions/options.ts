import type { WorkerOptions } from 'bullmq';
import type { Config } from '../../src/config.ts';

/** Each job holds a pool connection for its transaction: concurrency stays within the pool. */
export const actionsWorkerOptions = (config: Config): Partial<WorkerOptions> => ({
  concurrency: config.dispatch.actionsConcurrency,
  lockDuration: config.dispatch.jobLockMs,
  stalledInterval: config.dispatch.jobLockMs,
});
