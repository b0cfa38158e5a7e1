import { Command } from 'commander';
import { askApi, printAnswer } from './api.ts';
import { wholeNumber } from './options.ts';

export function rotateKeysCommand(): Command {
  return new Command('rotate-keys')
    .summary('rotate the OAuth signing key, or a processor’s signing secret')
    .description(
      'Without --processor: rotates the key that signs OAuth access tokens (POST /v1/oauth/keys/rotate); the ' +
        'retired keys stay in the JWKS and verify the tokens they signed until those expire. With --processor: ' +
        'gives that processor a new signing secret (POST /v1/processors/{id}/rotate_secret), shown this once. ' +
        'In-process, like the other operator commands: no server needed.',
    )
    .option('--processor <id>', 'rotate this processor’s signing secret (prc_…) instead')
    .option(
      '--expire-previous-in <seconds>',
      'with --processor: how long the old secret keeps verifying (default 0: refused at once; at most 604800)',
      wholeNumber,
    )
    .addHelpText(
      'after',
      '\nExamples:\n  npx cardlink rotate-keys\n  npx cardlink rotate-keys --processor prc_01jh… --expire-previous-in 3600',
    )
    .action(async (options: { processor?: string; expirePreviousIn?: number }) => {
      if (!options.processor) {
        if (options.expirePreviousIn !== undefined)
          throw new Error('--expire-previous-in applies to a processor’s secret: give --processor');
        printAnswer(await askApi({ method: 'POST', path: '/v1/oauth/keys/rotate' }));
        return;
      }
      printAnswer(
        await askApi({
          method: 'POST',
          path: `/v1/processors/${encodeURIComponent(options.processor)}/rotate_secret`,
          body:
            options.expirePreviousIn === undefined
              ? {}
              : { expire_previous_in_seconds: options.expirePreviousIn },
        }),
      );
    });
}
