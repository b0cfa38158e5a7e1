import { Command } from 'commander';
import { askApi, printAnswer } from './api.ts';

export function createProcessorCommand(): Command {
  return new Command('create-processor')
    .summary('register a card processor (POST /v1/processors)')
    .description(
      'Registers a card processor with the operator API, in-process (no server needed: the configured database ' +
        'and Redis, as `npm start` reads them), and prints the answer: its id, and its `api_key` and ' +
        '`signing_secret`, shown this once.',
    )
    .requiredOption('--name <name>', 'the processor’s name')
    .option(
      '--stripe-endpoint-secret <whsec>',
      'the Stripe endpoint secret (whsec_…) verifying its Stripe Issuing webhooks',
    )
    .option('--idempotency-key <key>', 'sent as Idempotency-Key: the same key again answers the same (24 h)')
    .addHelpText(
      'after',
      '\nExample:\n  npx cardlink create-processor --name "First Data" --idempotency-key onboard-first-data',
    )
    .action(async (options: { name: string; stripeEndpointSecret?: string; idempotencyKey?: string }) => {
      printAnswer(
        await askApi({
          method: 'POST',
          path: '/v1/processors',
          body: {
            name: options.name,
            ...(options.stripeEndpointSecret ? { stripe_endpoint_secret: options.stripeEndpointSecret } : {}),
          },
          ...(options.idempotencyKey ? { idempotencyKey: options.idempotencyKey } : {}),
        }),
      );
    });
}
