import { Redis, type RedisOptions } from 'ioredis';
import type { Logger } from './logger.ts';

export type { Redis };

/**
 * A Redis connection that never lets an error event crash the process. `role: 'queue'` is what BullMQ
 * needs (commands wait for a reconnect); `role: 'probe'` fails fast, for health checks and fast paths.
 */
export function createRedis(
  url: string,
  logger: Logger,
  role: 'queue' | 'probe',
  extra: RedisOptions = {},
): Redis {
  const options: RedisOptions =
    role === 'queue'
      ? { maxRetriesPerRequest: null, enableReadyCheck: true }
      : { maxRetriesPerRequest: 0, enableOfflineQueue: false, connectTimeout: 1000 };
  const redis = new Redis(url, {
    ...options,
    ...extra,
    lazyConnect: false,
    retryStrategy: (attempt) => Math.min(attempt * 200, 2000),
  });
  let lastLogged = 0;
  redis.on('error', (error: Error) => {
    // Reconnects happen every couple of seconds while Redis is away; one line every 10 s is enough.
    const now = Date.now();
    if (now - lastLogged > 10_000) {
      lastLogged = now;
      logger.warn({ err: { message: error.message }, role }, 'redis connection error');
    }
  });
  return redis;
}
