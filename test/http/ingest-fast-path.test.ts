import { createServer, type RequestListener } from 'node:http';
import { connect } from 'node:net';
import { getRequestListener } from '@hono/node-server';
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
import { createApp } from '../../src/http/app.ts';
import { withIngestFastPath } from '../../src/http/ingest-fast-path.ts';
import { createHttpMetrics } from '../../src/http/middleware/observe.ts';
import { ingestedEvents } from '../../src/ingest/metrics.ts';
import { type ApiResponse, type RequestOptions, usePlatform } from '../helpers/platform.ts';
import {
  authorization,
  createTestProcessor,
  enrollCard,
  signedHeaders,
  type TestProcessor,
  testPan,
} from '../ingest/fixtures.ts';

const platform = usePlatform();

// A server built like the production one, with the hand-over to the app counted.
let url: string;
let handedOver = 0;
const server = createServer();
beforeAll(async () => {
  const metrics = createHttpMetrics();
  const app = createApp(platform.deps, { metrics });
  const appListener = getRequestListener(app.fetch);
  const counted: RequestListener = (req, res) => {
    handedOver++;
    return appListener(req, res);
  };
  server.on('request', withIngestFastPath(platform.deps, metrics, counted));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

interface Sent extends ApiResponse {
  handedOver: boolean;
}

async function send(body: string, options: RequestOptions & { processor: TestProcessor }): Promise<Sent> {
  const before = handedOver;
  const res = await fetch(`${url}/v1/events`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      authorization: `Bearer ${options.processor.apiKey}`,
      ...signedHeaders(options.processor, body),
      ...options.headers,
    },
    body,
  });
  const text = await res.text();
  return {
    status: res.status,
    headers: res.headers,
    body: JSON.parse(text),
    text,
    handedOver: handedOver > before,
  };
}

/** The same request through the app alone (`app.request`, no fast path), freshly signed. */
function viaApp(body: string, options: RequestOptions & { processor: TestProcessor }) {
  return platform.request('POST', '/v1/events', {
    raw: body,
    headers: {
      authorization: `Bearer ${options.processor.apiKey}`,
      ...signedHeaders(options.processor, body),
      ...options.headers,
    },
  });
}

/** A response with the parts that differ by design between two sends (ids made per request) blanked. */
function comparable(res: ApiResponse) {
  const text = res.text
    .replace(/"request_id":"req_[0-9a-z]+"/g, '"request_id":"req_*"')
    .replace(/"event_id":"evt_[0-9a-z]+"/g, '"event_id":"evt_*"');
  return {
    status: res.status,
    contentType: res.headers.get('content-type'),
    requestIdHeader: /^req_[0-9a-z]{26}$/.test(res.headers.get('x-request-id') ?? ''),
    body: text,
  };
}

async function storedKeys(processor: TestProcessor): Promise<number> {
  const [row] = await platform.deps
    .sql`select count(*)::int as n from event_keys where processor_id = ${processor.id}`;
  return row!.n;
}

describe('POST /v1/events fast path', () => {
  test('well-formed pushes are answered by the fast path exactly as the app answers them', async () => {
    const processor = await createTestProcessor(platform);
    const pan = testPan(700);
    await enrollCard(platform, pan);
    const one = (id: string) => JSON.stringify(authorization({ pan, id }));
    const batch = (prefix: string) =>
      JSON.stringify({
        events: [
          authorization({ pan, id: `${prefix}-1` }),
          authorization({ pan, id: `${prefix}-2`, amount: 12.5 }),
          authorization({ pan: '4111111111111112', id: `${prefix}-3` }),
          { id: `${prefix}-4` },
          authorization({ pan: testPan(701), id: `${prefix}-5` }), // nobody enrolled it
        ],
      });
    const cases: [string, (prefix: string) => string][] = [
      ['one event', one],
      ['a batch with good, bad and unenrolled events', batch],
      ['one invalid event (422)', (prefix) => JSON.stringify(authorization({ pan, id: prefix, amount: -1 }))],
    ];
    for (const [name, make] of cases) {
      const fast = await send(make(`fast-${name}`), { processor });
      const app = await viaApp(make(`app-${name}`), { processor });
      expect(fast.handedOver, name).toBe(false);
      expect(comparable({ ...fast, text: fast.text.replaceAll(`fast-${name}`, '*') }), name).toEqual(
        comparable({ ...app, text: app.text.replaceAll(`app-${name}`, '*') }),
      );
    }

    // A resend is a duplicate naming the original event, on either path.
    const first = await send(one('resent'), { processor });
    const again = await send(one('resent'), { processor });
    const viaAppAgain = await viaApp(one('resent'), { processor });
    expect(first.body.results[0].status).toBe('accepted');
    for (const res of [again, viaAppAgain]) {
      expect(res.body.results[0]).toEqual({ ...first.body.results[0], status: 'duplicate' });
    }
  });

  test('everything else is handed to the app, which answers it as documented and stores nothing', async () => {
    const processor = await createTestProcessor(platform);
    const other = await createTestProcessor(platform, 'Other');
    const event = JSON.stringify(authorization({ pan: testPan(702) }));
    const cases: [string, string, RequestOptions & { processor: TestProcessor }, number, string][] = [
      [
        'wrong signature',
        event,
        { processor, headers: signedHeaders(other, event) },
        401,
        'signature_invalid',
      ],
      [
        'stale signature',
        event,
        { processor, headers: signedHeaders(processor, event, { at: new Date(Date.now() - 3_600_000) }) },
        401,
        'signature_invalid',
      ],
      [
        'unknown api key',
        event,
        { processor: { ...processor, apiKey: 'cl_proc_nope' } },
        401,
        'unauthorized',
      ],
      ['no api key', event, { processor, headers: { authorization: '' } }, 401, 'unauthorized'],
      ['not JSON', '{"id":', { processor }, 400, 'bad_request'],
      ['a JSON array', '[1,2]', { processor }, 422, 'validation_failed'],
      ['an empty batch', '{"events":[]}', { processor }, 422, 'validation_failed'],
      ['a batch with extra keys', `{"events":[${event}],"x":1}`, { processor }, 422, 'validation_failed'],
    ];
    for (const [name, body, options, status, code] of cases) {
      const fast = await send(body, options);
      const app = await viaApp(body, options);
      expect(fast.handedOver, name).toBe(true);
      expect(fast.status, name).toBe(status);
      expect(fast.body.code, name).toBe(code);
      expect(comparable(fast), name).toEqual(comparable(app));
    }
    expect(await storedKeys(processor)).toBe(0);
  });

  test('a bad request is counted and logged once, by the path that answered it', async () => {
    const processor = await createTestProcessor(platform);
    const rejected = async () =>
      (await ingestedEvents.get()).values.find((v) => v.labels.status === 'rejected')?.value ?? 0;
    const before = await rejected();
    const bad = await send(JSON.stringify(authorization({ pan: testPan(703), amount: 'ten' })), {
      processor,
    });
    expect(bad.status).toBe(422);
    expect(bad.body.code).toBe('validation_failed');
    expect(bad.handedOver).toBe(false);
    expect((await rejected()) - before).toBe(1);
    const unsigned = await send(JSON.stringify(authorization({ pan: testPan(703) })), {
      processor,
      headers: { 'webhook-signature': 'v1,AAAA' },
    });
    expect(unsigned.handedOver).toBe(true);
    expect(unsigned.body.code).toBe('signature_invalid');
    expect(await storedKeys(processor)).toBe(0);
    for (const res of [bad, unsigned]) {
      const id = res.headers.get('x-request-id');
      const lines = platform.logs.filter(
        (line) => line.includes(`"request_id":"${id}"`) && line.includes('"msg":"request"'),
      );
      expect(lines, `log lines of ${res.status}`).toHaveLength(1);
      expect(JSON.parse(lines[0]!)).toMatchObject({
        route: '/v1/events',
        status: res.status,
        method: 'POST',
      });
    }
  });

  test("the caller's request id is kept on both paths", async () => {
    const processor = await createTestProcessor(platform);
    const event = JSON.stringify(authorization({ pan: testPan(704) }));
    const ok = await send(event, { processor, headers: { 'x-request-id': 'proc-42=a' } });
    const refused = await send(event, {
      processor,
      headers: { 'x-request-id': 'proc-43', 'webhook-signature': 'v1,AAAA' },
    });
    expect(ok.handedOver).toBe(false);
    expect(ok.headers.get('x-request-id')).toBe('proc-42=a');
    expect(refused.headers.get('x-request-id')).toBe('proc-43');
    expect(refused.body.request_id).toBe('proc-43');
    const odd = await send(JSON.stringify(authorization({ pan: testPan(704) })), {
      processor,
      headers: { 'x-request-id': 'has space' },
    });
    expect(odd.headers.get('x-request-id')).toMatch(/^req_/);
  });

  test('a client that goes away mid-body leaves nothing stored and the server answering', async () => {
    const processor = await createTestProcessor(platform);
    const body = JSON.stringify(authorization({ pan: testPan(705) }));
    const { port } = server.address() as { port: number };
    const socket = connect(port, '127.0.0.1');
    await new Promise<void>((resolve) => socket.once('connect', resolve));
    const headers = {
      'content-type': 'application/json',
      'content-length': String(body.length),
      authorization: `Bearer ${processor.apiKey}`,
      ...signedHeaders(processor, body),
    };
    // The server has the request (and is reading its body) once it emits 'request'; only then leave.
    const received = new Promise((resolve) => server.once('request', resolve));
    socket.write(
      `POST /v1/events HTTP/1.1\r\nhost: x\r\n${Object.entries(headers)
        .map(([k, v]) => `${k}: ${v}\r\n`)
        .join('')}\r\n${body.slice(0, 40)}`,
    );
    await received;
    socket.destroy();
    await vi.waitFor(
      () => expect(platform.logs.some((line) => line.includes('"msg":"request body not read"'))).toBe(true),
      { timeout: 5000 },
    );
    expect(await storedKeys(processor)).toBe(0);
    const next = await send(body, { processor });
    expect(next.status).toBe(200);
    expect(await storedKeys(processor)).toBe(1);
  });
});
