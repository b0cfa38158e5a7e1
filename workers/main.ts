import { pathToFileURL } from 'node:url';
import { Worker } from 'bullmq';
import { loadConfig } from '../src/config.ts';
import { runMigrations } from '../src/db/migrate.ts';
import { createDeps, type Deps } from '../src/deps.ts';
import { startRelay } from '../src/dispatch/relay.ts';
import { QUEUE_NAMES } from '../src/queues.ts';
import { actionsWorkerOptions } from './actions/options.ts';
import { actionsProcessor } from './actions/processor.ts';
import { deliveriesWorkerOptions } from './deliveries/options.ts';
import { deliveriesProcessor } from './deliveries/processor.ts';
import { MAINTENANCE_CONCURRENCY, MAINTENANCE_SCHEDULES } from './maintenance/options.ts';
import { maintenanceProcessor } from './maintenance/processor.ts';

const RESCHEDULE_EVERY_MS = 60_000;

export interface RunningWorkers {
  workers: Worker[];
  close: () => Promise<void>;
}

/** Starts every BullMQ worker of the platform against the given dependencies. */
export async function startWorkers(deps: Deps): Promise<RunningWorkers> {
  const connection = deps.redis;
  const prefix = deps.config.queuePrefix;
  const deliveries = deliveriesProcessor(deps);
  const workers = [
    new Worker(QUEUE_NAMES.maintenance, maintenanceProcessor(deps), {
      connection,
      prefix,
      concurrency: MAINTENANCE_CONCURRENCY,
    }),
    new Worker(QUEUE_NAMES.actions, actionsProcessor(deps), {
      connection,
      prefix,
      ...actionsWorkerOptions(deps.config),
    }),
    new Worker(QUEUE_NAMES.deliveries, deliveries.process, {
      connection,
      prefix,
      ...deliveriesWorkerOptions(deps.config),
    }),
  ];
  for (const worker of workers) {
    worker.on('error', (error) =>
      deps.logger.error({ err: { message: error.message }, queue: worker.name }, 'worker error'),
    );
    worker.on('failed', (job, error) =>
      deps.logger.warn(
        { queue: worker.name, job_id: job?.id, job: job?.name, err: { message: error.message } },
        'job failed',
      ),
    );
  }
  const schedule = () =>
    Promise.all(
      MAINTENANCE_SCHEDULES.map((s) =>
        deps.queues.maintenance.upsertJobScheduler(s.id, { every: s.everyMs }, { name: s.id }),
      ),
    );
  await schedule();
  // Redis keeps nothing on disk: after a restart the schedules are gone until someone puts them back.
  const reschedule = setInterval(() => {
    schedule().catch((error: unknown) =>
      deps.logger.warn(
        { err: { message: error instanceof Error ? error.message : String(error) } },
        'schedules not renewed',
      ),
    );
  }, RESCHEDULE_EVERY_MS);
  const relay = startRelay(deps);
  return {
    workers,
    close: async () => {
      clearInterval(reschedule);
      await relay.stop();
      // close() waits for jobs in progress to finish: that is the drain.
      await Promise.all(workers.map((worker) => worker.close()));
      await deliveries.close();
    },
  };
}

async function runStandalone() {
  const { config } = loadConfig();
  await runMigrations(config.databaseUrl);
  const deps = createDeps(config);
  const running = await startWorkers(deps);
  deps.logger.info({ queues: running.workers.map((w) => w.name) }, 'workers started');

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    deps.logger.info({ signal }, 'draining workers');
    const timer = setTimeout(() => {
      deps.logger.error('workers did not drain in time; exiting');
      process.exit(1);
    }, config.shutdownTimeoutMs);
    await running.close();
    await deps.close();
    clearTimeout(timer);
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  runStandalone().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  });
}
