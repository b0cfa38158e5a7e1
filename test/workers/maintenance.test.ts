import { QueueEvents } from 'bullmq';
import { describe, expect, it } from 'vitest';
import { QUEUE_NAMES } from '../../src/queues.ts';
import { usePlatform } from '../helpers/platform.ts';

const platform = usePlatform({ workers: true });

describe('maintenance worker', () => {
  it('schedules the idempotency purge and deletes only records past 24 hours', async () => {
    const schedulers = await platform.deps.queues.maintenance.getJobSchedulers();
    expect(schedulers.map((s) => s.key).sort()).toEqual([
      'create-event-partitions',
      'link-orphan-events',
      'purge-expired-credentials',
      'purge-idempotency-keys',
    ]);

    // Every scheduler runs once as the workers start: let those first runs finish, or the scheduled purge
    // could take the old row before the job below (seen as a flake on a loaded machine).
    const queue = platform.deps.queues.maintenance;
    await expect
      .poll(async () => Object.values(await queue.getJobCounts('waiting', 'active', 'prioritized')), {
        timeout: 10_000,
      })
      .toEqual([0, 0, 0]);

    await platform.deps.sql`
      insert into idempotency_keys (scope, key, request_hash, status_code, response_sealed, created_at)
      values ('admin', 'old', 'h', 201, 'x', now() - interval '25 hours'),
             ('admin', 'fresh', 'h', 201, 'x', now() - interval '1 hour')`;

    const events = new QueueEvents(QUEUE_NAMES.maintenance, {
      connection: platform.deps.redis.duplicate(),
      prefix: platform.config.queuePrefix,
    });
    await events.waitUntilReady();
    try {
      const job = await platform.deps.queues.maintenance.add('purge-idempotency-keys', {});
      const result = await job.waitUntilFinished(events, 10_000);
      expect(result).toEqual({ purged: 1 });
    } finally {
      await events.close();
    }
    const left = await platform.deps.sql`select key from idempotency_keys order by key`;
    expect(left.map((r) => r.key)).toEqual(['fresh']);
  });
});
