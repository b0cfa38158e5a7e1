/**
 * The webhook sink of `npm run bench -- dispatch`: a child process (its own event loop, so the load generator
 * never delays an arrival's timestamp) that answers every POST with 204 over kept-alive connections. On the hot
 * path it only keeps what arrived (webhook id, arrival time, headers and body) and counts distinct webhook ids of
 * the apps' deliveries (paths under /apps/; the signed-POST baseline posts elsewhere); bodies are read and
 * signatures checked by the bench afterwards.
 *
 * Talks to its parent over IPC: sends `{type: 'ready', port}`; answers `{type: 'count'}` with
 * `{type: 'count', received, distinct}` and `{type: 'take'}` with `{type: 'arrivals', arrivals}` (and forgets them).
 */
import { createServer } from 'node:http';

/** One POST as it arrived: `at` is wall-clock ms (`performance.timeOrigin + performance.now()`), µs precision. */
export interface Arrival {
  webhookId: string;
  timestamp: string;
  signature: string;
  path: string;
  at: number;
  body: string;
}

export type SinkRequest = { type: 'count' } | { type: 'take' };
export type SinkMessage =
  | { type: 'ready'; port: number }
  | { type: 'count'; received: number; distinct: number }
  | { type: 'arrivals'; arrivals: Arrival[] };

function runSink() {
  const send = (message: SinkMessage) => process.send?.(message);
  let arrivals: Arrival[] = [];
  let received = 0;
  const distinct = new Set<string>();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const at = performance.timeOrigin + performance.now();
      const webhookId = String(req.headers['webhook-id'] ?? '');
      received++;
      if (req.url?.startsWith('/apps/')) distinct.add(webhookId);
      arrivals.push({
        webhookId,
        timestamp: String(req.headers['webhook-timestamp'] ?? ''),
        signature: String(req.headers['webhook-signature'] ?? ''),
        path: req.url ?? '',
        at,
        body: chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks).toString('utf8'),
      });
      res.writeHead(204).end();
    });
  });
  // Senders keep their connections; the sink must not be the one closing them between bursts.
  server.keepAliveTimeout = 120_000;
  server.headersTimeout = 125_000;
  server.listen(0, '127.0.0.1', () => {
    const address = server.address();
    send({ type: 'ready', port: typeof address === 'object' && address ? address.port : 0 });
  });
  process.on('message', (message: SinkRequest) => {
    if (message.type === 'count') send({ type: 'count', received, distinct: distinct.size });
    if (message.type === 'take') {
      send({ type: 'arrivals', arrivals });
      arrivals = [];
    }
  });
  // The parent gone (killed, crashed): nothing left to serve.
  process.on('disconnect', () => process.exit(0));
}

if (process.send) runSink();
