// A small client of the public API, as an outside program uses it: JSON over HTTP, retrying what a client
// should retry (429 with its Retry-After, 503, a dropped connection).
import { randomUUID } from 'node:crypto';

export interface Answer<T = unknown> {
  status: number;
  body: T;
}

export interface CallOptions {
  /** Bearer token: the operator's, an app's or a cardholder's session. */
  token?: string;
  /** HTTP Basic credentials, `[user, password]` (OAuth client authentication). */
  basic?: [string, string];
  body?: unknown;
  form?: Record<string, string>;
  idempotencyKey?: string;
  /** Statuses that are an answer, not an error (default: any 2xx). */
  expect?: number[];
}

export class ApiError extends Error {
  constructor(
    readonly method: string,
    readonly path: string,
    readonly status: number,
    readonly body: unknown,
  ) {
    const problem = body as { code?: string; detail?: string } | null;
    super(
      `${method} ${path} answered ${status}${problem?.code ? ` ${problem.code}` : ''}${problem?.detail ? `: ${problem.detail}` : ''}`,
    );
    this.name = 'ApiError';
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const ATTEMPTS = 6;

export class ApiClient {
  readonly baseUrl: string;

  constructor(baseUrl: string) {
    this.baseUrl = baseUrl.replace(/\/+$/, '');
  }

  async call<T = unknown>(method: string, path: string, options: CallOptions = {}): Promise<Answer<T>> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (options.token) headers.authorization = `Bearer ${options.token}`;
    if (options.basic) {
      const [user, password] = options.basic.map(encodeURIComponent);
      headers.authorization = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
    }
    // A POST is retried under one key, so a retry after a lost answer cannot create the thing twice.
    if (method === 'POST') headers['idempotency-key'] = options.idempotencyKey ?? randomUUID();
    let body: string | undefined;
    if (options.form) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      body = new URLSearchParams(options.form).toString();
    } else if (options.body !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(options.body);
    }
    for (let attempt = 1; ; attempt++) {
      let res: Response;
      try {
        res = await fetch(`${this.baseUrl}${path}`, { method, headers, ...(body ? { body } : {}) });
      } catch (error) {
        if (attempt >= ATTEMPTS) throw error;
        await sleep(250 * attempt);
        continue;
      }
      const text = await res.text();
      let parsed: unknown = text;
      try {
        parsed = text ? JSON.parse(text) : null;
      } catch {}
      // Waited out and tried again, unless the caller takes that status as an answer.
      const answer = options.expect?.includes(res.status) ?? false;
      if ((res.status === 429 || res.status === 503) && !answer && attempt < ATTEMPTS) {
        const retryAfter = Number(res.headers.get('retry-after'));
        await sleep(
          Math.min(10, Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter : attempt) * 1000,
        );
        continue;
      }
      const expected = options.expect ? options.expect.includes(res.status) : res.status < 300;
      if (!expected) throw new ApiError(method, path, res.status, parsed);
      return { status: res.status, body: parsed as T };
    }
  }

  /**
   * Every item of a list endpoint, following `starting_after` pages; with `takeWhile`, those before the first
   * item it refuses (lists are newest first, so "created since" stops paging there).
   */
  async all<T extends { id: string }>(
    path: string,
    options: CallOptions = {},
    takeWhile?: (item: T) => boolean,
  ): Promise<T[]> {
    const items: T[] = [];
    let after: string | undefined;
    for (;;) {
      const separator = path.includes('?') ? '&' : '?';
      const page = await this.call<{ data: T[]; has_more: boolean }>(
        'GET',
        `${path}${separator}limit=500${after ? `&starting_after=${encodeURIComponent(after)}` : ''}`,
        options,
      );
      for (const item of page.body.data) {
        if (takeWhile && !takeWhile(item)) return items;
        items.push(item);
      }
      if (!page.body.has_more || page.body.data.length === 0) return items;
      after = page.body.data.at(-1)!.id;
    }
  }
}

/** Runs `work` over `items`, at most `limit` at a time; the first error stops taking new items and is thrown. */
export async function eachLimit<T>(
  items: readonly T[],
  limit: number,
  work: (item: T, index: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  let failed: unknown;
  const lane = async () => {
    while (failed === undefined && next < items.length) {
      const index = next++;
      try {
        await work(items[index]!, index);
      } catch (error) {
        failed ??= error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  if (failed !== undefined) throw failed;
}
