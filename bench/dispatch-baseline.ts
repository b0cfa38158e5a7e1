/**
 * The baselines of `npm run bench -- dispatch`, each run as a child process like the worker it is compared with:
 *   noop <queue> <jobs> <concurrency>: a BullMQ worker whose processor does nothing drains `jobs` jobs the bench
 *     added beforehand (the queue's jobs removed on completion, as the platform's are);
 *   post <url> <posts> <concurrency>: `posts` Standard-Webhooks-signed POSTs of a delivery-sized body to the sink,
 *     `concurrency` at a time over kept-alive connections, each waiting for its answer.
 * Env: REDIS_URL and QUEUE_PREFIX (noop), WEBHOOK_SECRET (post). Reports `{seconds, done}` over IPC, timed from
 * the first job taken (or POST sent) to the last completed: start-up (tsx, connections) is not in it.
 */
import { createHmac, randomBytes } from 'node:crypto';
import http from 'node:http';
import { Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { webhookSigningKey } from '../src/ingest/signature.ts';

export interface BaselineResult {
  type: 'result';
  seconds: number;
  /** This process's CPU time over the same window (user + system). */
  cpuSeconds: number;
  done: number;
  failed: number;
}

const cpuNow = () => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
};

async function noop(queue: string, jobs: number, concurrency: number): Promise<BaselineResult> {
  const connection = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', {
    maxRetriesPerRequest: null,
  });
  let started = 0;
  let cpuAtStart = 0;
  let done = 0;
  let failed = 0;
  let finish: (at: number) => void = () => {};
  const finished = new Promise<number>((resolve) => {
    finish = resolve;
  });
  const worker = new Worker(
    queue,
    async () => {
      if (started === 0) {
        started = performance.now();
        cpuAtStart = cpuNow();
      }
    },
    { connection, prefix: process.env.QUEUE_PREFIX ?? 'bench', concurrency },
  );
  const count = () => {
    if (done + failed === jobs) finish(performance.now());
  };
  worker.on('completed', () => {
    done++;
    count();
  });
  worker.on('failed', () => {
    failed++;
    count();
  });
  const ended = await finished;
  const cpuSeconds = cpuNow() - cpuAtStart;
  await worker.close();
  connection.disconnect();
  return { type: 'result', seconds: (ended - started) / 1000, cpuSeconds, done, failed };
}

/** A body of the size and shape of a delivery (`transaction.notified`). */
function deliveryBody(id: string): string {
  return JSON.stringify({
    id,
    type: 'transaction.notified',
    created_at: new Date().toISOString(),
    data: {
      trigger_id: 'trg_01jh0000000000000000000000',
      user_id: 'usr_01jh0000000000000000000000',
      event: {
        id: `evt_${id}`,
        type: 'authorization',
        amount: 475,
        currency: 'USD',
        occurred_at: new Date().toISOString(),
        merchant: { mid: 'M000123', name: 'BENCH MERCHANT', mcc: '5814', city: 'Oakland', country: 'US' },
      },
      card: { id: 'card_01jh0000000000000000000000', last4: '4242', scheme: 'visa' },
    },
  });
}

async function post(url: string, posts: number, concurrency: number): Promise<BaselineResult> {
  const key = webhookSigningKey(process.env.WEBHOOK_SECRET ?? `whsec_${randomBytes(24).toString('base64')}`);
  const agent = new http.Agent({ keepAlive: true, scheduling: 'lifo' });
  const run = randomBytes(4).toString('hex');
  let next = 0;
  let done = 0;
  let failed = 0;
  const one = (index: number) =>
    new Promise<void>((resolve) => {
      const id = `msg_base_${run}_${index}`;
      const body = deliveryBody(id);
      const timestamp = Math.floor(Date.now() / 1000);
      // Standard Webhooks' signature, with the key object made once (as the deliveries worker keeps its apps').
      const mac = createHmac('sha256', key).update(`${id}.${timestamp}.`).update(body).digest('base64');
      const request = http.request(url, {
        method: 'POST',
        agent,
        headers: {
          'content-type': 'application/json',
          'content-length': String(Buffer.byteLength(body)),
          'webhook-id': id,
          'webhook-timestamp': String(timestamp),
          'webhook-signature': `v1,${mac}`,
        },
      });
      request.on('error', () => {
        failed++;
        resolve();
      });
      request.on('response', (response) => {
        response.resume();
        response.on('end', () => {
          if (response.statusCode && response.statusCode < 300) done++;
          else failed++;
          resolve();
        });
      });
      request.end(body);
    });
  const started = performance.now();
  const cpuAtStart = cpuNow();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < posts) await one(next++);
    }),
  );
  const ended = performance.now();
  const cpuSeconds = cpuNow() - cpuAtStart;
  agent.destroy();
  return { type: 'result', seconds: (ended - started) / 1000, cpuSeconds, done, failed };
}

async function main() {
  const [mode, target, count, concurrency] = process.argv.slice(2);
  const n = Number(count);
  const c = Number(concurrency);
  if (!target || !(n > 0) || !(c > 0))
    throw new Error('usage: dispatch-baseline.ts noop|post <target> <n> <c>');
  const result =
    mode === 'noop' ? await noop(target, n, c) : mode === 'post' ? await post(target, n, c) : undefined;
  if (!result) throw new Error(`unknown mode ${mode}`);
  process.send?.(result);
  process.disconnect?.();
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
