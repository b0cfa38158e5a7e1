import { createRulesHook } from './actions/rules-hook.ts';
import { CardKeys } from './cards/card-keys.ts';
import type { Config } from './config.ts';
import { createDatabase, type Db, type Sql } from './db/client.ts';
import { deliveryJobOptions } from './deliveries/schedule.ts';
import { createDispatcher, type Dispatcher } from './dispatch/dispatcher.ts';
import { createGrantCache, type GrantCache } from './grants/grant-cache.ts';
import type { ActionsHook } from './ingest/actions-hook.ts';
import { MicroBatcher } from './ingest/batcher.ts';
import { createProcessorCache, type ProcessorCache } from './ingest/processor-auth.ts';
import { SecretBox } from './lib/secrets.ts';
import { createSlots, type Slots } from './lib/slots.ts';
import { createLimiters, type Limiters } from './limits/limiters.ts';
import { createLogger, type Logger, stdoutLogFormat } from './logger.ts';
import { createKeyCache, type KeyCache } from './oauth/keys.ts';
import { createQueues, type Queues } from './queues.ts';
import { createRedis, type Redis } from './redis.ts';
import { createTriggerRegistry, type TriggerRegistry } from './triggers/registry.ts';

/** Everything a verb, route or worker needs, built once per process (or per test file). */
export interface Deps {
  config: Config;
  logger: Logger;
  sql: Sql;
  db: Db;
  /** BullMQ connection: commands wait while Redis is away. */
  redis: Redis;
  /** Fail-fast connection for readiness probes. */
  redisProbe: Redis;
  queues: Queues;
  /** Hands committed actions, purchase changes and deliveries to the queues (the relay covers what it misses). */
  dispatcher: Dispatcher;
  secretBox: SecretBox;
  /** The keyed hashes of card numbers and of references that may hold one (CARD_FINGERPRINT_KEY). */
  cardKeys: CardKeys;
  /** Redis-backed attempt limits (sign-ins, client secrets, api keys, card enrollments and their refusals). */
  limiters: Limiters;
  /** Groups concurrent requests' events into shared transactions (tuned by `config.ingestBatcher`). */
  ingestBatcher: MicroBatcher;
  /** Processors by api key, kept a second so event pushes do not each read the table. */
  processorCache: ProcessorCache;
  /** The OAuth signing and verification keys this process has loaded. */
  signingKeyCache: KeyCache;
  /** Every trigger in a rules index kept in step with the database; listens only once first used. */
  triggerRegistry: TriggerRegistry;
  /** Users' live grants as the rules engine reads them, kept in step through the grant change counter. */
  grantCache: GrantCache;
  /** The rules engine as ingestion runs it (the batcher's transactions, and the orphan sweep's late links). */
  actionsHook: ActionsHook;
  /** The backtests this process may run at once (`config.backtestMaxConcurrent`): each holds a connection. */
  backtestSlots: Slots;
}

export interface OwnedDeps extends Deps {
  close: () => Promise<void>;
}

export function createDeps(config: Config, options: { logger?: Logger } = {}): OwnedDeps {
  const logger = options.logger ?? createLogger(config.logLevel, undefined, stdoutLogFormat(config.nodeEnv));
  const database = createDatabase(config.databaseUrl, { prepare: config.databasePrepareStatements });
  const redis = createRedis(config.redisUrl, logger, 'queue');
  const redisProbe = createRedis(config.redisUrl, logger, 'probe');
  const queues = createQueues(redis, config.queuePrefix, logger, {
    deliveryJobs: deliveryJobOptions(config.deliveries.retryScheduleMs),
  });
  const triggerRegistry = createTriggerRegistry({ sql: database.sql, db: database.db, logger });
  const grantCache = createGrantCache();
  const actions = createRulesHook({ triggerRegistry, grantCache });
  const dispatcher = createDispatcher(queues, logger);
  return {
    config,
    logger,
    sql: database.sql,
    db: database.db,
    redis,
    redisProbe,
    queues,
    dispatcher,
    secretBox: new SecretBox(config.secretsKey),
    cardKeys: new CardKeys(config.cardFingerprintKey),
    limiters: createLimiters(config, redisProbe),
    ingestBatcher: new MicroBatcher(database.db, {
      ...config.ingestBatcher,
      actions,
      logger,
      committed: (work) => dispatcher.batchCommitted(work),
    }),
    processorCache: createProcessorCache(),
    signingKeyCache: createKeyCache(),
    triggerRegistry,
    grantCache,
    actionsHook: actions,
    backtestSlots: createSlots(config.backtestMaxConcurrent),
    close: async () => {
      await triggerRegistry.stop();
      await queues.close();
      redis.disconnect();
      redisProbe.disconnect();
      await database.close();
    },
  };
}
