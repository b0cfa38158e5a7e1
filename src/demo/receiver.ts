/**
 * The demo's local "app": a process of its own with a plain Node HTTP server that receives the four apps'
 * webhooks (`POST /apps/<key>`), verifies each with the `standardwebhooks` library and that app's webhook
 * secret, answers 204 (400 for a bad signature, 503 while it does not know the app's secret yet), and prints
 * one line per webhook. Its parent (the demo) talks to it over IPC:
 *   parent → receiver: `{type: 'apps', apps: [{key, name, secret}]}`
 *   receiver → parent: `{type: 'ready', port}`, then `{type: 'webhook', …}` per webhook received.
 * With `--quiet-grants`, `grant.*` webhooks (one per cardholder connecting an app) are tallied, not printed.
 */
import { createServer } from 'node:http';
import { Webhook } from 'standardwebhooks';

export interface ReceiverApp {
  key: string;
  name: string;
  secret: string;
}

export interface Arrival {
  type: 'webhook';
  app: string;
  webhookId: string;
  /** The webhook's type (`cashback.pending`, …); `?` when the body was not ours to read. */
  event: string;
  verified: boolean;
  /** The same webhook id arrived before (a redelivery). */
  repeat: boolean;
  /** Wall-clock ms of its arrival. */
  at: number;
  actionId: string | null;
  /** The platform event (`evt_…`) the action fired on. */
  eventId: string | null;
  amount: number | null;
  currency: string | null;
  points: number | null;
}

export type ReceiverMessage = { type: 'ready'; port: number } | Arrival;
export type ParentMessage = { type: 'apps'; apps: ReceiverApp[] };

interface Delivery {
  type?: string;
  data?: {
    action_id?: string;
    event?: { id?: string; amount?: number; currency?: string; merchant?: { name?: string } };
    card?: { last4?: string };
    amount?: number;
    currency?: string;
    points?: number;
    code?: string;
    receipt_id?: string;
    scopes?: string[];
  };
}

const money = (amount: number, currency: string) =>
  new Intl.NumberFormat('en-US', { style: 'currency', currency }).format(
    amount /
      10 **
        (new Intl.NumberFormat('en-US', { style: 'currency', currency }).resolvedOptions()
          .maximumFractionDigits ?? 2),
  );

const clock = () => new Date().toISOString().slice(11, 23);

/** One line a person can read: when, which app, what, for which purchase. */
function describe(appName: string, delivery: Delivery, verified: boolean): string {
  const time = clock();
  const data = delivery.data ?? {};
  const event = data.event;
  let what = '';
  if (data.points !== undefined) what = `${data.points.toLocaleString('en-US')} pts`;
  else if (data.amount !== undefined && data.currency) what = money(data.amount, data.currency);
  if (data.code) what = `code ${data.code}`;
  if (data.receipt_id) what = data.receipt_id;
  if (delivery.type?.startsWith('grant.')) what = (data.scopes ?? []).join(', ');
  const purchase =
    event?.amount !== undefined && event.currency
      ? ` on ${money(event.amount, event.currency)} at ${event.merchant?.name ?? '?'}`
      : '';
  const card = data.card?.last4 ? ` (card ••${data.card.last4})` : '';
  return `${time}  ${verified ? '✓' : '✗ BAD SIGNATURE'}  ${appName.padEnd(22)} ${(delivery.type ?? '?').padEnd(22)} ${what}${purchase}${card}`;
}

function run() {
  const send = (message: ReceiverMessage) => process.send?.(message);
  const apps = new Map<string, { name: string; webhook: Webhook }>();
  const seen = new Set<string>();
  const quietGrants = process.argv.includes('--quiet-grants');
  const grants = new Map<string, number>();

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const at = performance.timeOrigin + performance.now();
      const key = /^\/apps\/([a-z]+)$/.exec(req.url ?? '')?.[1];
      const app = key ? apps.get(key) : undefined;
      if (req.method !== 'POST' || !key) return void res.writeHead(404).end();
      if (!app) return void res.writeHead(503, { 'retry-after': '5' }).end();
      const body = Buffer.concat(chunks).toString('utf8');
      let delivery: Delivery = {};
      let verified = false;
      try {
        // Throws on a bad signature or a timestamp too far off (Standard Webhooks' 5 minutes).
        delivery = app.webhook.verify(body, req.headers as Record<string, string>) as Delivery;
        verified = true;
      } catch {
        try {
          delivery = JSON.parse(body) as Delivery;
        } catch {}
      }
      const webhookId = String(req.headers['webhook-id'] ?? '');
      const repeat = seen.has(webhookId);
      seen.add(webhookId);
      res.writeHead(verified ? 204 : 400).end();
      const data = delivery.data ?? {};
      if (quietGrants && verified && delivery.type?.startsWith('grant.')) {
        // Seeding connects every cardholder: a tally instead of a line per connection.
        const count = (grants.get(delivery.type) ?? 0) + 1;
        grants.set(delivery.type, count);
        if (count % 250 === 0)
          process.stdout.write(`${clock()}  ✓  ${count} ${delivery.type} webhooks so far\n`);
      } else process.stdout.write(`${describe(app.name, delivery, verified)}\n`);
      send({
        type: 'webhook',
        app: key,
        webhookId,
        event: delivery.type ?? '?',
        verified,
        repeat,
        at,
        actionId: data.action_id ?? null,
        eventId: data.event?.id ?? null,
        amount: typeof data.amount === 'number' ? data.amount : null,
        currency: typeof data.currency === 'string' ? data.currency : null,
        points: typeof data.points === 'number' ? data.points : null,
      });
    });
  });
  server.keepAliveTimeout = 60_000;
  process.on('message', (message: ParentMessage) => {
    if (message.type === 'apps')
      for (const app of message.apps) apps.set(app.key, { name: app.name, webhook: new Webhook(app.secret) });
  });
  // The demo gone (finished, killed): nothing left to receive for.
  process.on('disconnect', () => process.exit(0));
  server.listen(0, '127.0.0.1', () => {
    const address = server.address();
    send({ type: 'ready', port: typeof address === 'object' && address ? address.port : 0 });
  });
}

if (process.send) run();
