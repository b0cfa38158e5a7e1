import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Command } from 'commander';
import { loadConfig } from '../config.ts';
import { runDemo } from '../demo/run.ts';
import { demoFailures } from '../demo/summary.ts';
import { positiveInteger, positiveNumber } from './options.ts';

interface DemoCommandOptions {
  cardholders: number;
  duration: number;
  rate: number;
  seed: string;
  concurrency: number;
  url?: string;
  state: string;
  start: boolean;
  quietGrants?: boolean;
  drainTimeout: number;
}

export function demoCommand(): Command {
  return new Command('demo')
    .summary('seed a demo scene and run a simulated feed against it (npm run demo)')
    .description(
      'Against the platform `npm start` runs (or starting it when nothing answers, and stopping it at the end): ' +
        'seeds a scene through the public API only — a coffee chain’s stamp card, an airline-miles app, a ' +
        'cashback app with a monthly budget, a receipts app, 50 merchants with their MIDs and time zones, and ' +
        'cardholders with cards and connected apps — then sends a simulated processor feed with a progress bar ' +
        'while a local app process receives the signed webhooks, verifies them with `standardwebhooks` and ' +
        'prints each. Ends with a summary and the URLs to look at. Safe to run again: what exists is found and ' +
        'kept (the processor and app secrets, shown once, are kept in the --state file).',
    )
    .option('--cardholders <n>', 'cardholders to seed', positiveInteger, 1000)
    .option('--duration <seconds>', 'seconds of simulated feed', positiveNumber, 60)
    .option('--rate <events/s>', 'events per second in the feed', positiveNumber, 20)
    .option('--seed <seed>', 'the seed of cards, habits and traffic', 'demo')
    .option('--concurrency <n>', 'cardholders seeded at once', positiveInteger, 16)
    .option('--url <url>', 'the platform (default: PUBLIC_URL, else http://localhost:$PORT)')
    .option('--state <file>', 'where the demo keeps the secrets it was shown once', '.demo.local.json')
    .option('--no-start', 'fail instead of starting the platform when nothing answers')
    .option('--quiet-grants', 'tally the grant.created webhooks seeding causes instead of printing each')
    .option(
      '--drain-timeout <seconds>',
      'how long to wait for the last webhooks after the feed',
      positiveNumber,
      120,
    )
    .addHelpText(
      'after',
      '\nExamples:\n  npm run demo\n  npm run demo -- --cardholders 20 --duration 5\n  npx cardlink demo --rate 50 --duration 120',
    )
    .action(async (options: DemoCommandOptions) => {
      const { config, envFile } = loadConfig();
      const fromFile =
        envFile &&
        existsSync(envFile) &&
        readFileSync(envFile, 'utf8').includes(`ADMIN_TOKEN=${config.adminToken}`);
      const summary = await runDemo({
        baseUrl: (options.url ?? config.publicUrl).replace(/\/+$/, ''),
        adminToken: config.adminToken,
        adminTokenSource: fromFile ? `ADMIN_TOKEN in ${envFile}` : 'the ADMIN_TOKEN environment variable',
        cardholders: options.cardholders,
        duration: options.duration,
        rate: options.rate,
        seed: options.seed,
        concurrency: options.concurrency,
        stateFile: resolve(options.state),
        startPlatform: options.start,
        quietGrants: options.quietGrants === true,
        drainTimeout: options.drainTimeout,
      });
      const failures = demoFailures(summary);
      if (failures.length > 0) {
        process.stderr.write(`demo failed: ${failures.join('; ')}\n`);
        process.exitCode = 1;
      }
    });
}
