import type { IncomingMessage } from 'node:http';
import type { Context } from 'hono';

/*
 * A body we have already read, handed to the next reader so that it is not read (or rebuilt) again. Neither
 * hand-over is a public API: both rely on internals of the versions in package.json, so check them when
 * either package moves.
 * - @hono/node-server 2.1: building the web Request from Node's request, it takes a Buffer in
 *   `incoming.rawBody` (the convention of older body-parsing middleware) as the body instead of the stream,
 *   which the fast path has already consumed. Without it every request the fast path hands over fails
 *   (test/http/ingest-fast-path.test.ts shows it).
 * - hono 4.13: `HonoRequest.bodyCache` holds the promise of each form already read (`text`, `arrayBuffer`…);
 *   `c.req.json()` parses a cached `text` as it is, where from a cached `arrayBuffer` alone it builds a
 *   Response to decode it. Without it answers are the same, only slower (`npm run bench -- ingest`).
 */

/** Lets the app (through @hono/node-server) read a Node request whose body stream was already consumed. */
export function handOverRawBody(req: IncomingMessage, body: Buffer): void {
  (req as IncomingMessage & { rawBody?: Buffer }).rawBody = body;
}

/** Gives hono's body readers (`c.req.text()`, `c.req.json()`, validators) the body already decoded. */
export function handOverBodyText(c: Context, text: string): void {
  (c.req.bodyCache as Record<string, unknown>).text = Promise.resolve(text);
}
