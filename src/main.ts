import type { AddressInfo } from 'node:net';
import { ConfigError, loadConfig } from './config.ts';
import { runMigrations } from './db/migrate.ts';
import { createDeps } from './deps.ts';
import { createHttpServer } from './http/server.ts';

/** Starts the API; with no `--api` flag the workers run in the same process (what `npm start` does). */
async function main() {
  const withWorkers = !process.argv.includes('--api');
  const { config, envFile, generated } = loadConfig();
  const deps = createDeps(config);
  const log = deps.logger;

  await runMigrations(config.databaseUrl);
  const workers = withWorkers ? await (await import('../workers/main.ts')).startWorkers(deps) : undefined;

  const { server } = createHttpServer(deps, { hostname: config.host });
  server.listen(config.port, config.host, () => {
    const info = server.address() as AddressInfo;
    const base = config.publicUrl;
    const tokenSource =
      config.nodeEnv === 'production' || !envFile
        ? 'the ADMIN_TOKEN environment variable'
        : `ADMIN_TOKEN in ${envFile}${generated.includes('ADMIN_TOKEN') ? ' (generated just now)' : ''}`;
    log.info({ port: info.port, workers: Boolean(workers) }, 'cardlink started');
    process.stdout.write(
      [
        '',
        `  cardlink is up${workers ? ' (API and workers)' : ' (API only)'}`,
        `  API        ${base}`,
        `  Docs       ${base}/docs`,
        `  OpenAPI    ${base}/openapi.json`,
        `  Queues     ${base}/admin/queues`,
        `  Admin token: ${tokenSource}`,
        '',
      ].join('\n'),
    );
  });

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down: draining HTTP and workers');
    const timer = setTimeout(() => {
      log.error('shutdown took too long; exiting');
      process.exit(1);
    }, config.shutdownTimeoutMs);
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await workers?.close();
    await deps.close();
    clearTimeout(timer);
    log.info('stopped');
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

main().catch((error: unknown) => {
  if (error instanceof ConfigError) console.error(error.message);
  else console.error('cardlink failed to start:', error instanceof Error ? error.message : error);
  process.exit(1);
});
