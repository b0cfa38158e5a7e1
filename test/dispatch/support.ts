// What the dispatch tests share: a scene whose app's webhooks reach a local sink, and the end state every run
// must reach (each effect once, each webhook delivered, nothing left in the queues).
import { createServer, type Server } from 'node:http';
import { Webhook } from 'standardwebhooks';
import { expect } from 'vitest';
import type { TestPlatform } from '../helpers/platform.ts';

export interface Received {
  webhookId: string;
  body: string;
  headers: Record<string, string>;
}

/** The deliveries of an app as Postgres has them, by status. */
export async function deliveryStatuses(platform: TestPlatform, appId: string) {
  const rows = await platform.deps.sql<{ status: string; n: number }[]>`
    select status, count(*)::int as n from deliveries where app_id = ${appId} group by status`;
  return Object.fromEntries(rows.map((row) => [row.status, row.n]));
}

/** The actions of an app, by status. */
export async function actionStatuses(platform: TestPlatform, appId: string) {
  const rows = await platform.deps.sql<{ status: string; n: number }[]>`
    select status, count(*)::int as n from actions where app_id = ${appId} group by status`;
  return Object.fromEntries(rows.map((row) => [row.status, row.n]));
}

/**
 * Each action of the app was performed once (one reward or receipt per action, one issuing ledger entry per reward,
 * the users' balances equal to what their rewards hold), every delivery arrived at least once (a repeat with the
 * same webhook-id and the same body), and the queues hold nothing.
 */
export async function expectSettled(platform: TestPlatform, appId: string, received: readonly Received[]) {
  const sql = platform.deps.sql;
  const [counts] = await sql<
    {
      actions: number;
      cashback: number;
      receipts_due: number;
      rewards: number;
      receipts: number;
      issued_twice: number;
      reward_total: string;
      held: string;
      balances: string;
      unbalanced: number;
    }[]
  >`
    select
      (select count(*)::int from actions where app_id = ${appId}) as actions,
      (select count(*)::int from actions where app_id = ${appId} and type = 'cashback') as cashback,
      (select count(*)::int from actions where app_id = ${appId} and type = 'receipt') as receipts_due,
      (select count(*)::int from rewards where app_id = ${appId}) as rewards,
      (select count(*)::int from receipts where app_id = ${appId}) as receipts,
      (select count(*)::int from (select action_id from ledger_entries where app_id = ${appId}
         and type = 'reward_pending' group by action_id having count(*) > 1) twice) as issued_twice,
      (select coalesce(sum(amount), 0)::text from rewards where app_id = ${appId}) as reward_total,
      (select coalesce(sum(pending + available), 0)::text from rewards where app_id = ${appId}) as held,
      (select coalesce(sum(balance), 0)::text from ledger_accounts where app_id = ${appId} and user_id is not null
         and bucket in ('pending', 'available', 'paid_out')) as balances,
      (select count(*)::int from rewards where app_id = ${appId}
         and pending + available + reversed + expired <> amount) as unbalanced`;
  expect(counts!.actions).toBeGreaterThan(0);
  expect(counts!.rewards).toBe(counts!.cashback);
  expect(counts!.receipts).toBe(counts!.receipts_due);
  expect(counts!.issued_twice).toBe(0);
  expect(counts!.unbalanced).toBe(0);
  expect(counts!.balances).toBe(counts!.held);
  const [{ total }] = (await sql`
    select coalesce(sum(reward_amount), 0)::text as total from actions where app_id = ${appId} and type = 'cashback'`) as unknown as [
    { total: string },
  ];
  expect(counts!.reward_total).toBe(total);

  expect(await actionStatuses(platform, appId)).toEqual({ done: counts!.actions });
  const deliveries = await sql<{ id: string; status: string; payload: unknown }[]>`
    select id, status, payload from deliveries where app_id = ${appId}`;
  const byId = new Map<string, Received[]>();
  for (const r of received) byId.set(r.webhookId, [...(byId.get(r.webhookId) ?? []), r]);
  for (const delivery of deliveries) {
    expect(delivery.status).toBe('succeeded');
    const copies = byId.get(delivery.id) ?? [];
    expect(copies.length, `delivery ${delivery.id} never arrived`).toBeGreaterThan(0);
    for (const copy of copies) expect(JSON.parse(copy.body)).toEqual(delivery.payload);
  }
  for (const queue of [platform.deps.queues.actions, platform.deps.queues.deliveries]) {
    const jobs = await queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'failed');
    expect(
      Object.values(jobs).every((n) => n === 0),
      `${queue.name}: ${JSON.stringify(jobs)}`,
    ).toBe(true);
  }
}

/** A webhook endpoint that checks every signature with the app's secret, as an app would, and can fail for a while. */
export class Sink {
  received: Received[] = [];
  failing = false;
  unverified = 0;
  #server: Server;
  #verifier?: Webhook;
  url = '';
  constructor() {
    this.#server = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk) => {
        body += chunk;
      });
      req.on('end', () => {
        if (this.failing) {
          res.writeHead(500).end('down for maintenance');
          return;
        }
        try {
          this.#verifier!.verify(body, req.headers as Record<string, string>);
        } catch {
          this.unverified++;
          res.writeHead(400).end();
          return;
        }
        this.received.push({
          webhookId: String(req.headers['webhook-id']),
          body,
          headers: req.headers as Record<string, string>,
        });
        res.writeHead(204).end();
      });
    });
  }
  async listen() {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.#server.address() as { port: number }).port}/hooks`;
  }
  verifyWith(secret: string) {
    this.#verifier = new Webhook(secret);
  }
  close() {
    return new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}
