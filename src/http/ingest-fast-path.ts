import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import type { ProcessorRow } from '../db/schema/index.ts';
import type { Deps } from '../deps.ts';
import { ingestEvents } from '../ingest/ingest.ts';
import { authenticateProcessor } from '../ingest/processor-auth.ts';
import type { Logger } from '../logger.ts';
import { handOverRawBody } from './body-handover.ts';
import { declaredLength, MAX_BODY_BYTES } from './body-limit.ts';
import { batchOf, singleEventRejection } from './ingest-envelope.ts';
import { refuseDeepJson } from './json-depth.ts';
import { type HttpMetrics, recordRequest, requestLogger } from './middleware/observe.ts';
import { type ProblemInput, problemBody, problemOf, unhandledProblem } from './problem.ts';
import { REQUEST_ID_HEADER, requestIdFor } from './request-id.ts';

const ROUTE = '/v1/events';
const JSON_TYPE = /^application\/json\s*(;\s*charset="?utf-8"?\s*)?$/i;
const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * `POST /v1/events` straight on Node's request and response, for the requests a processor sends all day:
 * a JSON body of declared length, a valid key and signature, a well-formed envelope. At several thousand
 * single-event requests a second the general path (a web Request and Response per request, the router, the
 * middleware chain, zod over the envelope) costs the API about a fifth more CPU per request (bench/README.md).
 *
 * Everything else — a missing or bad key or signature, a chunked or oversized body, a body that is not
 * JSON, a bad envelope — goes to the app itself (`fallback`), with the body already read handed over as
 * `rawBody`: those errors are made by the one path that documents them. Nothing has been stored when that
 * is decided, so a request handed over is answered exactly as if it had gone there first. Past that point
 * both paths run the same code: `ingestEvents`, `singleEventRejection`, the problem+json body, the request
 * log line and metrics.
 */
export function withIngestFastPath(
  deps: Deps,
  metrics: HttpMetrics,
  fallback: RequestListener,
): RequestListener {
  const log = requestLogger(deps.logger);
  return (req, res) => {
    if (req.method !== 'POST' || req.url !== ROUTE || !readableAtOnce(req)) {
      fallback(req, res);
      return;
    }
    handle(deps, metrics, log, fallback, req, res).catch((error: unknown) => {
      // Only reading the body can fail here (the client went away): there is nobody left to answer.
      deps.logger.warn(
        { err: { message: error instanceof Error ? error.message : String(error) } },
        'request body not read',
      );
      if (!res.headersSent) res.destroy();
    });
  };
}

/** A JSON body of declared length within the limit (a chunked or oversized one is the app's to refuse). */
function readableAtOnce(req: IncomingMessage): boolean {
  const length = declaredLength(req.headers['content-length'], header(req, 'transfer-encoding'));
  return (
    length !== undefined && length <= MAX_BODY_BYTES && JSON_TYPE.test(req.headers['content-type'] ?? '')
  );
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)));
    req.on('error', reject);
    req.on('close', () => {
      if (!req.complete) reject(new Error('the client went away before sending the whole body'));
    });
  });
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}

async function handle(
  deps: Deps,
  metrics: HttpMetrics,
  log: Logger,
  fallback: RequestListener,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const started = performance.now();
  const body = await readBody(req);
  const handOver = () => {
    handOverRawBody(req, body);
    fallback(req, res);
  };

  let processor: ProcessorRow;
  let events: unknown[];
  let batch: unknown[] | null;
  try {
    processor = await authenticateProcessor(deps, {
      authorization: req.headers.authorization,
      signature: {
        id: header(req, 'webhook-id'),
        timestamp: header(req, 'webhook-timestamp'),
        signature: header(req, 'webhook-signature'),
      },
      body,
      address: req.socket.remoteAddress ?? 'unknown',
      // Every failure is handed over to the app, which checks the request again and counts it once.
      countFailures: false,
    });
    refuseDeepJson(body);
    const parsed: unknown = JSON.parse(utf8.decode(body));
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return handOver();
    batch = batchOf(parsed as Record<string, unknown>);
    events = batch ?? [parsed];
  } catch {
    // A bad key or signature, a body that is not UTF-8 JSON (or nests too deep), a bad envelope, or the
    // processor look-up failing: nothing has been stored, and the app answers each of these as documented.
    return handOver();
  }

  const requestId = requestIdFor(header(req, REQUEST_ID_HEADER));
  let answer: { status: number; type: string; payload: string };
  try {
    const results = await ingestEvents(deps, processor, events);
    const rejection = batch ? null : singleEventRejection(results[0]!);
    answer = rejection
      ? problemAnswer(deps, requestId, problemOf(rejection))
      : { status: 200, type: 'application/json', payload: JSON.stringify({ results }) };
  } catch (error) {
    // Storage failed: nothing new was stored (the processor may resend).
    answer = problemAnswer(deps, requestId, unhandledProblem(deps.logger, requestId, error));
  }
  res.writeHead(answer.status, {
    'content-type': answer.type,
    'content-length': Buffer.byteLength(answer.payload),
    [REQUEST_ID_HEADER]: requestId,
  });
  res.end(answer.payload);
  recordRequest(metrics, log, {
    requestId,
    method: 'POST',
    route: ROUTE,
    status: answer.status,
    seconds: (performance.now() - started) / 1000,
  });
}

function problemAnswer(deps: Deps, requestId: string, problem: ProblemInput) {
  const body = problemBody(problem, deps.config.publicUrl, requestId);
  return { status: body.status, type: 'application/problem+json', payload: JSON.stringify(body) };
}
