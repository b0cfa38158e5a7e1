/**
 * `npm run bench -- <scenario> [flags]`: runs a benchmark scenario against the real server.
 * Scenarios: dispatch (flags: --duration=<s>, --rate=<events/s>, --actions=<n>, --repeat=<n>, --apps=<n>,
 * --only=latency|throughput|baselines), event to webhook through the API and a worker process;
 * ingest (flags: --large, --duration=<s>, --batch-connections=<n>, --log-level=<level>);
 * rules (flags: --seconds=<s>, --repeat=<n>, --peer-seconds=<s>), the pure rules engine, no server.
 */
const scenarios: Record<string, () => Promise<{ run: (args: string[]) => Promise<void> }>> = {
  dispatch: () => import('./dispatch.ts'),
  ingest: () => import('./ingest.ts'),
  rules: () => import('./rules.ts'),
};

const [name, ...args] = process.argv.slice(2);
const load = name ? scenarios[name] : undefined;
if (!load) {
  console.error(`usage: npm run bench -- <${Object.keys(scenarios).join('|')}> [flags]`);
  process.exit(2);
}
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130));

load()
  .then((scenario) => scenario.run(args))
  .then(() => process.exit(0))
  .catch((error: unknown) => {
    // Query errors carry whole statements and their parameters: keep the report readable.
    const text = error instanceof Error ? (error.stack ?? error.message) : String(error);
    console.error(text.length > 2000 ? `${text.slice(0, 1000)} … ${text.slice(-1000)}` : text);
    process.exit(1);
  });
