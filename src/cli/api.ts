// The operator's API without a server: the app built in-process, asked as an HTTP client would ask it.
import { Writable } from 'node:stream';
import { loadConfig } from '../config.ts';
import { createDeps } from '../deps.ts';
import { createApp } from '../http/app.ts';
import { createLogger } from '../logger.ts';

export interface ApiAnswer {
  status: number;
  body: unknown;
  text: string;
}

export interface OperatorRequest {
  method: 'GET' | 'POST' | 'PATCH';
  path: string;
  body?: unknown;
  idempotencyKey?: string;
}

/**
 * Builds the app over the configured database and Redis (loadConfig, as `npm start` reads it), sends one
 * request with the operator token through `app.request`, and closes everything again.
 */
export async function askApi(request: OperatorRequest): Promise<ApiAnswer> {
  const { config } = loadConfig();
  // Only warnings, on standard error: standard output carries the answer alone.
  const stderr = new Writable({
    write(chunk, _encoding, done) {
      process.stderr.write(chunk, done);
    },
  });
  const deps = createDeps(config, { logger: createLogger('warn', stderr) });
  try {
    const app = createApp(deps);
    const headers: Record<string, string> = { authorization: `Bearer ${config.adminToken}` };
    if (request.body !== undefined) headers['content-type'] = 'application/json';
    if (request.idempotencyKey) headers['idempotency-key'] = request.idempotencyKey;
    const res = await app.request(request.path, {
      method: request.method,
      headers,
      ...(request.body !== undefined ? { body: JSON.stringify(request.body) } : {}),
    });
    const text = await res.text();
    let body: unknown = text;
    try {
      body = text ? JSON.parse(text) : null;
    } catch {}
    return { status: res.status, body, text };
  } finally {
    await deps.close();
  }
}

/** Prints the answer's JSON on standard output; a non-2xx answer also names the problem on standard error. */
export function printAnswer(answer: ApiAnswer): void {
  process.stdout.write(
    `${typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body, null, 2)}\n`,
  );
  if (answer.status >= 300) {
    const problem = answer.body as { code?: string; detail?: string; title?: string } | null;
    process.stderr.write(
      `error: HTTP ${answer.status}${problem?.code ? ` ${problem.code}` : ''}: ${problem?.detail ?? problem?.title ?? ''}\n`,
    );
    process.exitCode = 1;
  }
}
