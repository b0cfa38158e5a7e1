// `npx cardlink`: the operator's commands, the simulator and the demo (one file per subcommand).
import { createRequire } from 'node:module';
import { Command } from 'commander';
import { createAppCommand } from './create-app.ts';
import { createProcessorCommand } from './create-processor.ts';
import { demoCommand } from './demo.ts';
import { migrateCommand } from './migrate.ts';
import { rotateKeysCommand } from './rotate-keys.ts';
import { simulateCommand } from './simulate.ts';

const { version } = createRequire(import.meta.url)('../../package.json') as { version: string };

export function buildProgram(): Command {
  const program = new Command('cardlink')
    .description(
      'cardlink, the card-linked offers platform. Operator commands act in-process on the database and Redis ' +
        'the configuration names (the environment, plus .env.local in development, as `npm start` reads them) ' +
        'and print what the API answers; `simulate` and `demo` talk to a running platform.',
    )
    .version(version)
    .showHelpAfterError('(add --help for usage)')
    .addCommand(migrateCommand())
    .addCommand(createProcessorCommand())
    .addCommand(createAppCommand())
    .addCommand(rotateKeysCommand())
    .addCommand(simulateCommand())
    .addCommand(demoCommand());
  return program;
}

/** Runs the program; an error is one line on standard error and exit code 1. */
export async function main(argv: string[]): Promise<void> {
  try {
    await buildProgram().parseAsync(argv);
  } catch (error) {
    process.stderr.write(`error: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  }
}
