import { Command, InvalidArgumentError, Option } from 'commander';
import { loadConfig } from '../config.ts';
import type { FormatShares } from '../simulator/cards.ts';
import { planTraffic } from '../simulator/plan.ts';
import { registerProcessor } from '../simulator/processor.ts';
import { renderPlan } from '../simulator/render.ts';
import { formatSimulationSummary } from '../simulator/report.ts';
import type { ProcessorCredentials } from '../simulator/sign.ts';
import { simulate } from '../simulator/simulate.ts';
import { positiveInteger, positiveNumber, timestamp } from './options.ts';
import { progressBar } from './progress.ts';

const DEFAULT_FORMATS = 'json=80,iso8583=10,stripe=10';

interface SimulateOptions {
  rate: number;
  duration: number;
  cards: number;
  seed: string;
  formats: FormatShares;
  processor?: string;
  apiKey?: string;
  signingSecret?: string;
  stripeSecret?: string;
  url?: string;
  start?: number;
  run?: string;
  concurrency: number;
  plan?: boolean;
  json?: boolean;
}

/** `json=80,iso8583=10,stripe=10` → shares of cards per feed. */
export function parseFormats(value: string): FormatShares {
  const shares: FormatShares = { json: 0, iso8583: 0, stripe: 0 };
  for (const pair of value.split(',')) {
    const [name, share] = pair.split('=').map((s) => s.trim());
    if (name !== 'json' && name !== 'iso8583' && name !== 'stripe')
      throw new InvalidArgumentError(`${name} is not a feed (json, iso8583, stripe)`);
    const n = Number(share);
    if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError(`${name}'s share must be a number ≥ 0`);
    shares[name] = n;
  }
  if (shares.json + shares.iso8583 + shares.stripe <= 0)
    throw new InvalidArgumentError('no feed has a share');
  return shares;
}

/** The processor to send as: the one named (with its credentials), or a new one registered now. */
async function processorFor(options: SimulateOptions, baseUrl: string): Promise<ProcessorCredentials> {
  if (options.processor) {
    const apiKey = options.apiKey ?? process.env.CARDLINK_PROCESSOR_API_KEY;
    const signingSecret = options.signingSecret ?? process.env.CARDLINK_PROCESSOR_SIGNING_SECRET;
    const stripeSecret = options.stripeSecret ?? process.env.CARDLINK_PROCESSOR_STRIPE_SECRET;
    if (!apiKey || !signingSecret)
      throw new Error(
        '--processor needs its --api-key and --signing-secret (or CARDLINK_PROCESSOR_API_KEY and ' +
          'CARDLINK_PROCESSOR_SIGNING_SECRET)',
      );
    if (options.formats.stripe > 0 && !stripeSecret)
      throw new Error(
        'Stripe Issuing traffic needs the processor’s --stripe-secret (or CARDLINK_PROCESSOR_STRIPE_SECRET); ' +
          'or leave it out with --formats json=90,iso8583=10',
      );
    return {
      id: options.processor,
      apiKey,
      signingSecret,
      ...(stripeSecret ? { stripeEndpointSecret: stripeSecret } : {}),
    };
  }
  const { config } = loadConfig();
  const processor = await registerProcessor(baseUrl, config.adminToken, `Simulator (seed ${options.seed})`);
  process.stderr.write(`registered processor ${processor.id} for this run (give --processor to reuse one)\n`);
  return processor;
}

export function simulateCommand(): Command {
  return new Command('simulate')
    .summary('send a simulated processor feed to a running platform')
    .description(
      'Sends realistic card lifecycles through the signed processor API of a running platform (`npm start`): ' +
        'authorizations, then clearings (some partial, some late in a settlement batch, some before their ' +
        'authorization), refunds and reversals (some partial), and re-sent duplicates, as JSON events, ISO 8583 ' +
        'messages and Stripe Issuing webhooks. Everything sent is a pure function of --seed and the options: ' +
        'the same seed plans the same traffic (cards, merchants, amounts, order); --start and --run fix the ' +
        'times and ids too, making the bytes identical. Cards are the seed’s test numbers: events on cards no ' +
        'one enrolled are accepted but match nothing (`npm run demo` enrolls them). Without --processor a ' +
        'processor is registered for the run with the operator token (ADMIN_TOKEN, as `npm start` reads it).',
    )
    .option('--rate <events/s>', 'events sent per second', positiveNumber, 20)
    .option(
      '--duration <seconds>',
      'seconds of traffic (late clearings follow at the end)',
      positiveNumber,
      30,
    )
    .option('--cards <n>', 'cards in the simulated world', positiveInteger, 1000)
    .option('--seed <seed>', 'any text: the same seed, the same traffic', 'cardlink')
    .addOption(
      new Option('--formats <shares>', 'share of cards per feed')
        .argParser(parseFormats)
        .default(parseFormats(DEFAULT_FORMATS), DEFAULT_FORMATS),
    )
    .option('--processor <id>', 'send as this processor (prc_…) instead of registering one')
    .option('--api-key <key>', 'with --processor: its api key (or CARDLINK_PROCESSOR_API_KEY)')
    .option(
      '--signing-secret <whsec>',
      'with --processor: its signing secret (or CARDLINK_PROCESSOR_SIGNING_SECRET)',
    )
    .option(
      '--stripe-secret <whsec>',
      'with --processor: its Stripe endpoint secret (or CARDLINK_PROCESSOR_STRIPE_SECRET)',
    )
    .option('--url <url>', 'the platform (default: PUBLIC_URL, else http://localhost:$PORT)')
    .option('--start <time>', 'the simulated clock’s start, RFC 3339 (default: now)', timestamp)
    .option('--run <name>', 'names this run’s event ids (default: from the start time)')
    .option('--concurrency <n>', 'requests in flight at most', positiveInteger, 32)
    .option('--plan', 'print the requests as JSON lines instead of sending them')
    .option('--json', 'print the summary as JSON')
    .addHelpText(
      'after',
      '\nExamples:\n' +
        '  npx cardlink simulate --rate 50 --duration 60 --seed 42\n' +
        '  npx cardlink simulate --seed 42 --start 2026-11-23T16:00:00Z --plan | sha256sum   # the same every time\n' +
        '  npx cardlink simulate --processor prc_… --api-key clk_… --signing-secret whsec_… --formats json=1',
    )
    .action(async (options: SimulateOptions) => {
      const startMs = options.start ?? Date.now();
      const planOptions = {
        seed: options.seed,
        cards: options.cards,
        rate: options.rate,
        duration: options.duration,
        formats: options.formats,
      };
      if (options.plan) {
        // A reader that has seen enough (`| head`) closes the pipe: that ends the listing, it is no error.
        process.stdout.on('error', (error: NodeJS.ErrnoException) => {
          if (error.code !== 'EPIPE') throw error;
          process.exit(0);
        });
        const requests = renderPlan(planTraffic(planOptions), {
          startMs,
          processorId: options.processor ?? 'prc_simulated',
          ...(options.run ? { run: options.run } : {}),
        });
        for (const r of requests)
          process.stdout.write(
            `${JSON.stringify({ seq: r.seq, at_ms: r.atMs, method: 'POST', path: r.path, body: JSON.parse(r.body) })}\n`,
          );
        return;
      }
      const baseUrl = (options.url ?? process.env.CARDLINK_URL ?? loadConfig().config.publicUrl).replace(
        /\/+$/,
        '',
      );
      const up = await fetch(`${baseUrl}/healthz`, { signal: AbortSignal.timeout(5000) }).catch(() => null);
      if (up?.status !== 200)
        throw new Error(
          `nothing answers at ${baseUrl}/healthz: start the platform (npm start) or give --url`,
        );
      // Ctrl-C or a SIGTERM stops sending; the summary of what went is printed, and the exit code is a shell's.
      // Listened for before anything is registered or sent, so no signal finds the process without it.
      const controller = new AbortController();
      let stoppedBy: NodeJS.Signals | undefined;
      const stop = (signal: NodeJS.Signals) => {
        stoppedBy ??= signal;
        controller.abort();
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
      try {
        const processor = await processorFor(options, baseUrl);
        const bar = progressBar();
        const summary = await simulate(
          {
            ...planOptions,
            baseUrl,
            processor,
            startMs,
            concurrency: options.concurrency,
            signal: controller.signal,
            ...(options.run ? { run: options.run } : {}),
          },
          (progress) => bar.update(progress),
        );
        bar.done();
        const { events: _events, ...printable } = summary;
        process.stdout.write(
          options.json ? `${JSON.stringify(printable, null, 2)}\n` : formatSimulationSummary(summary),
        );
        if (summary.answers.rejected + summary.answers.failed + summary.sent.card_token_failures > 0)
          process.exitCode = 1;
        if (stoppedBy) process.exitCode = stoppedBy === 'SIGINT' ? 130 : 143;
      } finally {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
      }
    });
}
