import { CommanderError } from 'commander';
import { describe, expect, it } from 'vitest';
import { buildProgram } from '../../src/cli/program.ts';
import { ROOT, runCli } from '../helpers/cli.ts';

/** What `cardlink <args> --help` prints (the program built in-process, its exit caught). */
async function help(args: string[]): Promise<string> {
  const program = buildProgram();
  let out = '';
  for (const command of [program, ...program.commands]) {
    command.exitOverride();
    command.configureOutput({
      writeOut: (text) => {
        out += text;
      },
      writeErr: (text) => {
        out += text;
      },
    });
  }
  await expect(program.parseAsync(['node', 'cardlink', ...args, '--help'])).rejects.toBeInstanceOf(
    CommanderError,
  );
  return out;
}

describe('--help', () => {
  it('lists every subcommand with what it does', async () => {
    const text = await help([]);
    for (const command of ['migrate', 'create-processor', 'create-app', 'rotate-keys', 'simulate', 'demo'])
      expect(text).toMatch(new RegExp(`\\n  ${command}\\b.*\\S`));
  });

  it.each([
    ['migrate', ['advisory lock']],
    ['create-processor', ['--name <name>', '--stripe-endpoint-secret', '--idempotency-key', 'Example:']],
    [
      'create-app',
      [
        '--webhook-url <url>',
        '--redirect-uri',
        '--scopes',
        'transactions, receipts',
        '--fee-bps',
        'Example:',
      ],
    ],
    ['rotate-keys', ['--processor <id>', '--expire-previous-in', 'JWKS', 'Examples:']],
    [
      'simulate',
      [
        '--rate',
        '--duration',
        '--cards',
        '--seed',
        '--processor',
        '--formats',
        'json=80,iso8583=10,stripe=10',
        '--start',
        '--plan',
        'ISO 8583',
        'Stripe Issuing',
        'Examples:',
      ],
    ],
    ['demo', ['--cardholders', '--duration', '--rate', '--seed', '--state', 'standardwebhooks', 'Examples:']],
  ])('%s --help explains its options, with defaults and an example', async (command, expected) => {
    const text = await help([command]);
    expect(text).toContain(`Usage: cardlink ${command}`);
    for (const piece of expected) expect(text).toContain(piece);
  });

  it('`npx cardlink --help` runs the package’s own bin inside the repository', async () => {
    const run = await runCli(['cardlink', '--help'], { cwd: ROOT, command: ['npx', '--no-install'] });
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('Usage: cardlink');
    expect(run.stdout).toContain('simulate');
  });
});
