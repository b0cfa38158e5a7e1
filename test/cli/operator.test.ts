import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.ts';
import { databaseUrl, dropDatabase, uniqueName, withAdmin } from '../helpers/pg.ts';
import { usePlatform } from '../helpers/platform.ts';

const platform = usePlatform();
const json = (text: string) => JSON.parse(text);

describe('cardlink migrate', () => {
  const database = uniqueName('cardlink_cli');
  afterAll(() => dropDatabase(database));

  it('creates the database, applies every migration, and then has nothing left to apply', async () => {
    const env = { ...platform.env, DATABASE_URL: databaseUrl(database) };
    const first = await runCli(['migrate'], { env });
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    const applied = json(first.stdout);
    expect(applied).toMatchObject({ database, applied_now: applied.applied_total });
    expect(applied.applied_total).toBeGreaterThan(0);
    const [row] = await withAdmin(
      (sql) => sql`select 1 as found from pg_database where datname = ${database}`,
    );
    expect(row?.found).toBe(1);

    const again = await runCli(['migrate'], { env });
    expect(again.code).toBe(0);
    expect(json(again.stdout)).toMatchObject({ applied_now: 0, applied_total: applied.applied_total });
  });
});

describe('operator commands answer as the API does', () => {
  it('create-processor prints the processor with its secrets, and it exists', async () => {
    const run = await runCli(
      [
        'create-processor',
        '--name',
        'First Data',
        '--stripe-endpoint-secret',
        'whsec_cliTestSecret0123456789',
      ],
      { env: platform.env },
    );
    expect(run.code).toBe(0);
    const processor = json(run.stdout);
    expect(processor).toMatchObject({
      object: 'processor',
      name: 'First Data',
      has_stripe_endpoint_secret: true,
    });
    expect(processor.api_key).toMatch(/^clk_/);
    expect(processor.signing_secret).toMatch(/^whsec_/);
    const listed = await platform.admin('GET', `/v1/processors/${processor.id}`);
    expect(listed.status).toBe(200);
    expect(listed.body.api_key_last4).toBe(processor.api_key.slice(-4));
  });

  it('create-app sends the body the options describe; an invalid one exits 1 with the problem', async () => {
    const run = await runCli(
      [
        'create-app',
        '--name',
        'Coffee Rewards',
        '--webhook-url',
        'https://rewards.example.com/hooks',
        '--redirect-uri',
        'https://rewards.example.com/oauth/callback',
        '--scopes',
        'loyalty,coupons',
        '--fee-fixed',
        '5',
        '--fee-bps',
        '150',
        '--fee-currency',
        'USD',
        '--idempotency-key',
        'coffee-rewards',
      ],
      { env: platform.env },
    );
    expect(run.code).toBe(0);
    const app = json(run.stdout);
    expect(app).toMatchObject({
      object: 'app',
      name: 'Coffee Rewards',
      redirect_uris: ['https://rewards.example.com/oauth/callback'],
      scopes: ['loyalty', 'coupons'],
      fee: { fixed: 5, bps: 150, currency: 'USD' },
    });
    expect(app.client_secret).toBeTruthy();
    expect(app.webhook_secret).toMatch(/^whsec_/);

    const bad = await runCli(
      ['create-app', '--name', 'Bad', '--webhook-url', 'not a url', '--scopes', 'telepathy'],
      {
        env: platform.env,
      },
    );
    expect(bad.code).toBe(1);
    const problem = json(bad.stdout);
    expect(problem).toMatchObject({ status: 422, code: 'validation_failed' });
    expect(problem.errors.map((e: { path: string }) => e.path)).toEqual(
      expect.arrayContaining(['webhook_url', 'scopes.0']),
    );
    expect(bad.stderr).toContain('error: HTTP 422 validation_failed');
  });

  it('rotate-keys rotates the OAuth signing key, or with --processor that processor’s secret', async () => {
    const oauth = await runCli(['rotate-keys'], { env: platform.env });
    expect(oauth.code).toBe(0);
    const rotation = json(oauth.stdout);
    expect(rotation.kid).toBeTruthy();
    const jwks = await platform.request('GET', '/.well-known/jwks.json');
    expect(jwks.body.keys.map((k: { kid: string }) => k.kid)).toContain(rotation.kid);

    const created = await platform.admin('POST', '/v1/processors', { body: { name: 'Rotating' } });
    const rotated = await runCli(
      ['rotate-keys', '--processor', created.body.id, '--expire-previous-in', '3600'],
      { env: platform.env },
    );
    expect(rotated.code).toBe(0);
    const answer = json(rotated.stdout);
    expect(answer.id).toBe(created.body.id);
    expect(answer.signing_secret).toMatch(/^whsec_/);
    expect(answer.signing_secret).not.toBe(created.body.signing_secret);
    expect(answer.previous_signing_secret_expires_at).not.toBeNull();

    const unknown = await runCli(['rotate-keys', '--processor', 'prc_nothing'], { env: platform.env });
    expect(unknown.code).toBe(1);
    expect(json(unknown.stdout).code).toBe('not_found');
  });
});
