// POSTs one webhook: keep-alive connections per process, the address checked as the socket connects, no
// redirects followed, a time limit on the whole exchange and a bound on what is read of the answer.
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import { isPublicAddress } from '../net/webhook-url.ts';

/** What is kept of a response body (the attempt's excerpt). */
export const EXCERPT_BYTES = 1024;
/** Reading stops here: the rest of a larger body is never read (the connection is dropped instead). */
export const MAX_RESPONSE_BYTES = 64 * 1024;

export interface SendResult {
  /** Null when no answer came: the error says why. */
  statusCode: number | null;
  retryAfter: string | undefined;
  responseExcerpt: string | null;
  error: string | null;
  latencyMs: number;
}

export interface WebhookSender {
  post(url: string, headers: Record<string, string>, body: string): Promise<SendResult>;
  /** Drops the kept-alive connections. */
  close(): void;
}

export interface SenderOptions {
  allowPrivate: boolean;
  timeoutMs: number;
  /** The resolver behind the address check (tests give their own); the system's by default. */
  resolve?: typeof dnsLookup;
}

const notPublic = (host: string, address: string) =>
  Object.assign(new Error(`${host} resolves to ${address}, which is not a public address`), {
    code: 'ENOTPUBLIC',
  });

/**
 * A `lookup` for sockets that refuses a name resolving to any non-public address. It runs when the socket
 * connects, so a name that resolved publicly when the URL was saved and privately now is refused now.
 */
function publicOnlyLookup(resolve: typeof dnsLookup): LookupFunction {
  return (hostname, options, callback) => {
    resolve(hostname, { family: options.family, hints: options.hints, all: true }, (error, found) => {
      const addresses = found as unknown as LookupAddress[];
      if (error) return callback(error, '', 0);
      const refused = addresses.find((a) => !isPublicAddress(a.address));
      if (refused) return callback(notPublic(hostname, refused.address), '', 0);
      if (addresses.length === 0)
        return callback(Object.assign(new Error(`${hostname} has no address`), { code: 'ENOTFOUND' }), '', 0);
      if (options.all) return (callback as (e: null, a: LookupAddress[]) => void)(null, addresses);
      const first = addresses[0]!;
      callback(null, first.address, first.family);
    });
  };
}

const describeError = (error: unknown): string => {
  if (!(error instanceof Error)) return String(error);
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' && !error.message.includes(code)
    ? `${code}: ${error.message}`
    : error.message;
};

// Postgres text holds no NUL; an answer is the app's to shape, so it is cleaned before it is kept.
const excerptOf = (chunks: Buffer[]) =>
  chunks.length === 0 ? null : Buffer.concat(chunks).toString('utf8').replaceAll('\u0000', '');

/** A sender with its own keep-alive agents; one per worker process. */
export function createWebhookSender(options: SenderOptions): WebhookSender {
  const agentOptions = { keepAlive: true, scheduling: 'lifo' as const };
  const agents = { http: new http.Agent(agentOptions), https: new https.Agent(agentOptions) };
  const lookup = options.allowPrivate ? undefined : publicOnlyLookup(options.resolve ?? dnsLookup);

  const post = (rawUrl: string, headers: Record<string, string>, body: string): Promise<SendResult> =>
    new Promise((resolve) => {
      const started = performance.now();
      let settled = false;
      let statusCode: number | null = null;
      let retryAfter: string | undefined;
      const kept: Buffer[] = [];
      let keptBytes = 0;
      let timer: NodeJS.Timeout | undefined;
      const finish = (error: string | null) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve({
          statusCode,
          retryAfter,
          responseExcerpt: excerptOf(kept),
          error,
          latencyMs: Math.round(performance.now() - started),
        });
      };

      let url: URL;
      try {
        url = new URL(rawUrl);
      } catch {
        return finish('The webhook URL is not a valid URL.');
      }
      const secure = url.protocol === 'https:';
      if (!secure && url.protocol !== 'http:')
        return finish(`The webhook URL's scheme ${url.protocol} is not http(s).`);
      // Sockets skip `lookup` for an address written in the URL: it is checked here instead.
      const host = url.hostname.replace(/^\[|\]$/g, '');
      if (lookup && isIP(host) && !isPublicAddress(host)) return finish(describeError(notPublic(host, host)));

      const request = (secure ? https : http).request(url, {
        method: 'POST',
        agent: secure ? agents.https : agents.http,
        lookup,
        headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
      });
      timer = setTimeout(() => {
        const error = `No complete answer within ${options.timeoutMs} ms.`;
        request.destroy(new Error(error));
        finish(error);
      }, options.timeoutMs);
      request.on('error', (error) => finish(describeError(error)));
      request.on('response', (response) => {
        statusCode = response.statusCode ?? null;
        const header = response.headers['retry-after'];
        retryAfter = Array.isArray(header) ? header[0] : header;
        let read = 0;
        response.on('data', (chunk: Buffer) => {
          read += chunk.length;
          if (keptBytes < EXCERPT_BYTES) {
            const part = chunk.subarray(0, EXCERPT_BYTES - keptBytes);
            kept.push(part);
            keptBytes += part.length;
          }
          if (read > MAX_RESPONSE_BYTES) {
            // Enough of it: the connection goes, the answer stands on its status.
            response.destroy();
            finish(null);
          }
        });
        response.on('end', () => finish(null));
        response.on('error', (error) => finish(describeError(error)));
      });
      request.end(body);
    });

  return {
    post,
    close: () => {
      agents.http.destroy();
      agents.https.destroy();
    },
  };
}
