import { Command } from 'commander';
import { SCOPES } from '../grants/scopes.ts';
import { askApi, printAnswer } from './api.ts';
import { list, wholeNumber } from './options.ts';

interface CreateAppOptions {
  name: string;
  webhookUrl: string;
  redirectUri?: string[];
  scopes?: string[];
  feeFixed?: number;
  feeBps?: number;
  feeCurrency?: string;
  idempotencyKey?: string;
}

export function createAppCommand(): Command {
  return new Command('create-app')
    .summary('register an app (POST /v1/apps)')
    .description(
      'Registers a third-party app with the operator API, in-process (no server needed), and prints the ' +
        'answer: its id and `client_id`, and its `client_secret` (OAuth) and `webhook_secret` (to verify our ' +
        'webhooks), shown this once.',
    )
    .requiredOption('--name <name>', 'the app’s name, as cardholders see it on the consent page')
    .requiredOption(
      '--webhook-url <url>',
      'where its webhooks go (https, and a public address unless ALLOW_PRIVATE_WEBHOOKS=true)',
    )
    .option('--redirect-uri <uri>', 'an OAuth redirect URI (repeat, or separate with commas)', list)
    .option(`--scopes <scopes>`, `scopes it may ask users for (default all: ${SCOPES.join(', ')})`, list)
    .option('--fee-fixed <minor units>', 'the platform fee per action, fixed part', wholeNumber)
    .option('--fee-bps <bps>', 'the platform fee per action, basis points of the amount', wholeNumber)
    .option('--fee-currency <code>', 'the fee’s ISO 4217 currency (needed for a fee)')
    .option('--idempotency-key <key>', 'sent as Idempotency-Key: the same key again answers the same (24 h)')
    .addHelpText(
      'after',
      '\nExample:\n  npx cardlink create-app --name "Coffee Rewards" --webhook-url https://rewards.example.com/hooks \\\n' +
        '    --redirect-uri https://rewards.example.com/oauth/callback --scopes loyalty,coupons \\\n' +
        '    --fee-fixed 5 --fee-bps 150 --fee-currency USD',
    )
    .action(async (options: CreateAppOptions) => {
      const hasFee =
        options.feeFixed !== undefined || options.feeBps !== undefined || options.feeCurrency !== undefined;
      printAnswer(
        await askApi({
          method: 'POST',
          path: '/v1/apps',
          body: {
            name: options.name,
            webhook_url: options.webhookUrl,
            ...(options.redirectUri ? { redirect_uris: options.redirectUri } : {}),
            ...(options.scopes ? { scopes: options.scopes } : {}),
            ...(hasFee
              ? {
                  fee: {
                    ...(options.feeFixed !== undefined ? { fixed: options.feeFixed } : {}),
                    ...(options.feeBps !== undefined ? { bps: options.feeBps } : {}),
                    currency: options.feeCurrency,
                  },
                }
              : {}),
          },
          ...(options.idempotencyKey ? { idempotencyKey: options.idempotencyKey } : {}),
        }),
      );
    });
}
