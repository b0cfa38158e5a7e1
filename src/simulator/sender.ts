/**
 * Sends rendered requests to a running platform on their schedule (open loop: each goes when the clock says,
 * not when the previous answered), at most `concurrency` at once; a request the cap holds back goes as soon as
 * a slot frees (counted as a late send). Card token links (the run's set-up) all go first, before the clock
 * starts. Network errors, 429 and 5xx are retried like a processor would (a fresh signature each time).
 */
import http from 'node:http';
import https from 'node:https';
import type { EventType } from '../lib/payments.ts';
import type { WireRequest } from './render.ts';
import { type ProcessorCredentials, requestSigner } from './sign.ts';

export type EventStatus = 'accepted' | 'duplicate' | 'rejected' | 'ignored' | 'failed';

/** What became of one event a request carried. */
export interface SentEvent {
  seq: number;
  type: EventType;
  purchase: number;
  /** The simulated card's index (never its number). */
  card: number;
  /** The platform's `evt_…` id (for a duplicate, the original's); null when none was given. */
  eventId: string | null;
  status: EventStatus;
  actions: number;
  /** Wall-clock ms when its request was first written, and when the answer came. */
  sentAt: number;
  answeredAt: number;
  duplicatePlanned: boolean;
  /** For a rejected event: the first error's path and message (never a card number: the platform redacts). */
  error?: string;
}

export interface SendProgress {
  total: number;
  sent: number;
  answered: number;
  accepted: number;
  duplicate: number;
  rejected: number;
  failed: number;
  actions: number;
  elapsedMs: number;
}

export interface SendOptions {
  baseUrl: string;
  processor: ProcessorCredentials;
  /** Names this run's Standard Webhooks message ids. */
  messagePrefix: string;
  /** Requests in flight at most (default 32). */
  concurrency?: number;
  /** Attempts per request on network errors, 429 and 5xx (default 4). */
  attempts?: number;
  onProgress?: (progress: SendProgress) => void;
  /** How often onProgress is called while sending, ms (default 250). */
  progressEveryMs?: number;
  signal?: AbortSignal;
}

export interface SendResult {
  events: SentEvent[];
  /** Card token links made (201) or already there (200). */
  linked: number;
  linkFailures: number;
  requests: number;
  attempts: number;
  /** Non-2xx answers by status (after retries), and requests that never got an answer. */
  httpErrors: Record<string, number>;
  networkErrors: number;
  lateSends: number;
  /** From the first timed send to the last answer. */
  elapsedMs: number;
  /** Each request's time from send to answer, ms. */
  answerMs: number[];
  /** The first few problems, for the summary. */
  problems: string[];
}

interface Answer {
  status: number;
  body: string;
  retryAfter?: string;
}

const wallNow = () => performance.timeOrigin + performance.now();
/** Waits `ms`, or until `signal` aborts (Ctrl-C must not wait for the next event of a slow run). */
const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });

function post(agent: http.Agent, url: URL, body: string, headers: Record<string, string>): Promise<Answer> {
  const transport = url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const request = transport.request(url, {
      method: 'POST',
      agent,
      headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
      timeout: 60_000,
    });
    request.on('timeout', () => request.destroy(new Error('timed out after 60 s')));
    request.on('error', reject);
    request.on('response', (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('error', reject);
      response.on('end', () => {
        const retryAfter = response.headers['retry-after'];
        resolve({
          status: response.statusCode ?? 0,
          body: Buffer.concat(chunks).toString('utf8'),
          ...(typeof retryAfter === 'string' ? { retryAfter } : {}),
        });
      });
    });
    request.end(body);
  });
}

interface FieldError {
  path: string;
  message: string;
}

/** What the ingest routes answer: `{results}` (events, ISO 8583), a Stripe receipt, or a problem. */
interface AnswerBody {
  results?: { status: EventStatus; event_id?: string | null; actions?: number; errors?: FieldError[] }[];
  status?: EventStatus;
  event_id?: string | null;
  actions?: number;
  errors?: FieldError[];
  detail?: string;
}

interface Outcome {
  status: EventStatus;
  eventId: string | null;
  actions: number;
  error?: string;
}

/** The outcome of each event a request carried, from the platform's answer. */
function outcomes(request: WireRequest, answer: Answer | null): Outcome[] {
  const failed = (error: string): Outcome[] =>
    request.events.map(() => ({ status: 'failed', eventId: null, actions: 0, error }));
  if (!answer) return failed('no answer');
  let parsed: AnswerBody | null;
  try {
    parsed = answer.body ? (JSON.parse(answer.body) as AnswerBody) : null;
  } catch {
    parsed = null;
  }
  if (answer.status >= 400 && answer.status < 500 && answer.status !== 429) {
    const first = parsed?.errors?.[0];
    const error = first ? `${first.path}: ${first.message}` : (parsed?.detail ?? `HTTP ${answer.status}`);
    return request.events.map(() => ({ status: 'rejected', eventId: null, actions: 0, error }));
  }
  if (answer.status !== 200 || !parsed) return failed(`HTTP ${answer.status}`);
  if (request.signing === 'stripe') {
    return [
      {
        status: parsed.status ?? 'failed',
        eventId: parsed.event_id ?? null,
        actions: parsed.actions ?? 0,
      },
    ];
  }
  const results = parsed.results ?? [];
  return request.events.map((_, i) => {
    const result = results[i];
    if (!result) return { status: 'failed', eventId: null, actions: 0, error: 'missing from the answer' };
    const first = result.errors?.[0];
    return {
      status: result.status,
      eventId: result.event_id ?? null,
      actions: result.actions ?? 0,
      ...(first ? { error: `${first.path}: ${first.message}` } : {}),
    };
  });
}

const retryable = (answer: Answer | null) => !answer || answer.status === 429 || answer.status >= 500;

/** Sends every request on its schedule and reports what the platform answered for each event. */
export async function sendRequests(requests: WireRequest[], options: SendOptions): Promise<SendResult> {
  const concurrency = options.concurrency ?? 32;
  const maxAttempts = options.attempts ?? 4;
  const base = options.baseUrl.replace(/\/+$/, '');
  const agent = new (base.startsWith('https:') ? https.Agent : http.Agent)({
    keepAlive: true,
    maxSockets: concurrency,
  });
  const sign = requestSigner(options.processor, options.messagePrefix);
  const result: SendResult = {
    events: [],
    linked: 0,
    linkFailures: 0,
    requests: requests.length,
    attempts: 0,
    httpErrors: {},
    networkErrors: 0,
    lateSends: 0,
    elapsedMs: 0,
    answerMs: [],
    problems: [],
  };
  const progress: SendProgress = {
    total: requests.reduce((n, r) => n + r.events.length, 0),
    sent: 0,
    answered: 0,
    accepted: 0,
    duplicate: 0,
    rejected: 0,
    failed: 0,
    actions: 0,
    elapsedMs: 0,
  };
  const problem = (text: string) => {
    if (result.problems.length < 10 && !result.problems.includes(text)) result.problems.push(text);
  };

  let inFlight = 0;
  let slotFreed: (() => void) | null = null;
  const freeSlot = () => {
    inFlight--;
    slotFreed?.();
    slotFreed = null;
  };
  const waitForSlot = async () => {
    while (inFlight >= concurrency) await new Promise<void>((resolve) => (slotFreed = resolve));
  };

  const send = async (request: WireRequest): Promise<void> => {
    const url = new URL(`${base}${request.path}`);
    const sentAt = wallNow();
    progress.sent += request.events.length;
    let answer: Answer | null = null;
    let lastError = '';
    for (let attempt = 1; attempt <= maxAttempts; attempt++) {
      result.attempts++;
      // Signed outside the try: a signing error is a bug to surface, not a network error to retry.
      const headers = sign(request);
      try {
        answer = await post(agent, url, request.body, headers);
      } catch (error) {
        // Counted; a problem only if no attempt gets an answer (a kept-alive connection the server just closed
        // is the usual cause, and the next attempt goes through).
        answer = null;
        result.networkErrors++;
        lastError = error instanceof Error ? error.message : String(error);
      }
      if (!retryable(answer) || attempt === maxAttempts || options.signal?.aborted) break;
      const wait = answer?.retryAfter ? Math.min(5, Number(answer.retryAfter) || 1) * 1000 : 200 * attempt;
      await sleep(wait, options.signal);
      if (options.signal?.aborted) break;
    }
    const answeredAt = wallNow();
    result.answerMs.push(answeredAt - sentAt);
    if (answer && answer.status >= 300) {
      result.httpErrors[answer.status] = (result.httpErrors[answer.status] ?? 0) + 1;
      problem(`${request.path}: HTTP ${answer.status} ${answer.body.slice(0, 300)}`);
    }
    if (!answer) {
      result.httpErrors['no answer'] = (result.httpErrors['no answer'] ?? 0) + 1;
      problem(`${request.path}: ${lastError}`);
    }
    if (request.kind === 'card_token') {
      if (answer && (answer.status === 200 || answer.status === 201)) result.linked++;
      else result.linkFailures++;
      return;
    }
    outcomes(request, answer).forEach((outcome, i) => {
      const event = request.events[i]!;
      result.events.push({
        seq: request.seq,
        type: event.type,
        purchase: event.purchase,
        card: event.card,
        eventId: outcome.eventId,
        status: outcome.status,
        actions: outcome.actions,
        sentAt,
        answeredAt,
        duplicatePlanned: request.duplicate,
        ...(outcome.error ? { error: outcome.error } : {}),
      });
      progress.answered++;
      progress.actions += outcome.actions;
      if (outcome.status === 'accepted') progress.accepted++;
      else if (outcome.status === 'duplicate') progress.duplicate++;
      else if (outcome.status === 'rejected') progress.rejected++;
      else if (outcome.status === 'failed') progress.failed++;
      if (outcome.error && outcome.status !== 'accepted') problem(`${event.type} ${outcome.error}`);
    });
  };

  const running = new Set<Promise<void>>();
  const launch = (request: WireRequest) => {
    inFlight++;
    const promise = send(request).finally(() => {
      freeSlot();
      running.delete(promise);
    });
    running.add(promise);
  };

  // Set-up first: every card token link, answered before any event is sent.
  const setup = requests.filter((r) => r.kind === 'card_token');
  for (const request of setup) {
    if (options.signal?.aborted) break;
    await waitForSlot();
    launch(request);
  }
  await Promise.all(running);

  const timed = requests.filter((r) => r.kind !== 'card_token');
  const startedAt = performance.now();
  const report = () => {
    progress.elapsedMs = performance.now() - startedAt;
    options.onProgress?.({ ...progress });
  };
  const ticker = setInterval(report, options.progressEveryMs ?? 250);
  try {
    for (const request of timed) {
      if (options.signal?.aborted) break;
      const due = startedAt + request.atMs;
      const wait = due - performance.now();
      if (wait > 1) await sleep(wait, options.signal);
      if (options.signal?.aborted) break;
      await waitForSlot();
      if (performance.now() - due > 100) result.lateSends++;
      launch(request);
    }
    await Promise.all(running);
  } finally {
    clearInterval(ticker);
    agent.destroy();
  }
  result.elapsedMs = performance.now() - startedAt;
  report();
  return result;
}
