// An app's webhook endpoint for tests: a real HTTP server recording every request, answering as told.
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import { afterAll, beforeAll } from 'vitest';

export interface SinkRequest {
  path: string;
  headers: IncomingHttpHeaders;
  /** The raw body, as an app verifies it. */
  body: string;
  receivedAt: number;
  /** 1 for the first request to this path, 2 for the next… */
  nth: number;
  /** The client's port: requests over one kept-alive connection share it. */
  remotePort: number | undefined;
}

export interface SinkAnswer {
  status?: number;
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** Streams this many bytes of body (a huge answer; Infinity: endless), ignoring `body`. */
  bodyBytes?: number;
  /** Holds the answer until this promise settles (a slow or hung endpoint). */
  after?: Promise<unknown>;
}

/** How a path answers its nth request; undefined answers 200. */
export type Answerer = (request: SinkRequest) => SinkAnswer | undefined;

export interface WebhookSink {
  /** `http://127.0.0.1:<port>` */
  url: string;
  /** Every request received, in order. */
  requests: SinkRequest[];
  /** The requests to one path (an app's endpoint is `${url}/<path>`). */
  at(path: string): SinkRequest[];
  /** How requests to `path` are answered from now on. */
  answer(path: string, answerer: Answerer): void;
  /** Answers what is still held (`after`) and stops holding: used before the server closes. */
  releaseAll(): void;
}

async function respond(res: ServerResponse, answer: SinkAnswer | undefined) {
  if (answer?.after) await answer.after.catch(() => undefined);
  if (res.destroyed) return;
  res.writeHead(answer?.status ?? 200, answer?.headers ?? {});
  if (answer?.bodyBytes === undefined) {
    res.end(answer?.body ?? '');
    return;
  }
  const chunk = Buffer.alloc(16 * 1024, 'x');
  let left = answer.bodyBytes;
  const pump = () => {
    while (left > 0 && !res.destroyed) {
      left -= chunk.length;
      if (!res.write(chunk)) return void res.once('drain', pump);
    }
    res.end();
  };
  res.on('error', () => undefined);
  pump();
}

/** Starts a sink before the file's tests and closes it (and its connections) after them. */
export function useWebhookSink(): WebhookSink {
  const requests: SinkRequest[] = [];
  const answerers = new Map<string, Answerer>();
  const counts = new Map<string, number>();
  let release: () => void = () => undefined;
  let released = new Promise<void>((resolve) => {
    release = resolve;
  });
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const path = (req.url ?? '/').slice(1);
      const nth = (counts.get(path) ?? 0) + 1;
      counts.set(path, nth);
      const request = {
        path,
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        receivedAt: Date.now(),
        nth,
        remotePort: req.socket.remotePort,
      };
      requests.push(request);
      const answer = answerers.get(path)?.(request);
      const held = answer?.after ? { ...answer, after: Promise.race([answer.after, released]) } : answer;
      void respond(res, held);
    });
  });
  const sink: WebhookSink = {
    url: '',
    requests,
    at: (path) => requests.filter((r) => r.path === path),
    answer: (path, answerer) => {
      answerers.set(path, answerer);
    },
    releaseAll: () => {
      release();
      released = Promise.resolve();
    },
  };
  beforeAll(async () => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    sink.url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  afterAll(async () => {
    sink.releaseAll();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return sink;
}
