/**
 * Sending events to the API: signed POST /v1/events requests made before the clock starts, and the open loop that
 * sends them at a steady rate (the latency run); the throughput run's preload posts batches of them itself.
 */
import { createHmac, randomBytes } from 'node:crypto';
import http from 'node:http';
import { webhookSigningKey } from '../src/ingest/signature.ts';
import { wallNow } from './dispatch-readings.ts';
import { midOf, type Scene } from './dispatch-setup.ts';
import { eventJson } from './ingest.ts';

/** One event sent. */
export interface Sent {
  /** Wall-clock ms, just before the request was written. */
  sentAt: number;
  answeredAt: number;
  /** Whether the platform took it (a 2xx answer for it). */
  ok: boolean;
  /** The platform's id of the event; null if it was not stored, or stored before (a duplicate). */
  eventId: string | null;
  actions: number;
}

/** What a steady stream of events became: each event, the sending time, and sends behind the clock. */
export interface SentLoop {
  sent: Sent[];
  lateSends: number;
  /** Wall-clock ms of the first timed send. */
  startedAtWall: number;
}

/** A signed POST /v1/events request, ready to send. */
export interface Prepared {
  externalId: string;
  body: string;
  headers: Record<string, string>;
}

let eventSeq = 0;

/** Signed POST /v1/events requests (a single event, or `perRequest` of them), made before the clock starts. */
export function prepareRequests(scene: Scene, count: number, perRequest: number, share: number): Prepared[] {
  const run = randomBytes(3).toString('hex');
  const key = webhookSigningKey(scene.processor.signingSecret);
  const requests: Prepared[] = [];
  for (let r = 0; r < count; r++) {
    const events: string[] = [];
    let firstId = '';
    for (let e = 0; e < perRequest; e++) {
      const n = eventSeq++;
      const id = `d-${run}-${n}`;
      if (e === 0) firstId = id;
      events.push(eventJson(id, scene.pans[(n * 7919) % scene.pans.length]!, n, midOf(scene, n, share)));
    }
    const body = perRequest === 1 ? events[0]! : `{"events":[${events.join(',')}]}`;
    const messageId = `msg_${run}_${r}`;
    const timestamp = Math.floor(Date.now() / 1000);
    const signature = createHmac('sha256', key)
      .update(`${messageId}.${timestamp}.`)
      .update(body)
      .digest('base64');
    requests.push({
      externalId: firstId,
      body,
      headers: {
        'content-type': 'application/json',
        authorization: `Bearer ${scene.processor.apiKey}`,
        'webhook-id': messageId,
        'webhook-timestamp': String(timestamp),
        'webhook-signature': `v1,${signature}`,
      },
    });
  }
  return requests;
}

export function postPrepared(
  agent: http.Agent,
  url: URL,
  prepared: Prepared,
): Promise<{ sentAt: number; answeredAt: number; status: number; body: string }> {
  return new Promise((resolve) => {
    const request = http.request(url, {
      method: 'POST',
      agent,
      headers: { ...prepared.headers, 'content-length': String(Buffer.byteLength(prepared.body)) },
    });
    const chunks: Buffer[] = [];
    request.on('error', (error) =>
      resolve({ sentAt, answeredAt: wallNow(), status: 0, body: String(error.message) }),
    );
    request.on('response', (response) => {
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () =>
        resolve({
          sentAt,
          answeredAt: wallNow(),
          status: response.statusCode ?? 0,
          body: Buffer.concat(chunks).toString('utf8'),
        }),
      );
    });
    const sentAt = wallNow();
    request.end(prepared.body);
  });
}

/** The ingest answer's results: event ids and actions per event. */
export function results(body: string): { event_id: string | null; actions: number }[] {
  try {
    return (JSON.parse(body) as { results: { event_id: string | null; actions: number }[] }).results ?? [];
  } catch {
    return [];
  }
}

/**
 * Sends the prepared single-event requests at `rate` per second, each when the clock says (never waiting for
 * earlier answers), then waits for every answer.
 */
export async function openLoop(serverUrl: string, prepared: Prepared[], rate: number): Promise<SentLoop> {
  const agent = new http.Agent({ keepAlive: true, scheduling: 'lifo' });
  const url = new URL(`${serverUrl}/v1/events`);
  const answers: Promise<Sent>[] = [];
  const interval = 1000 / rate;
  const startedAt = performance.now() + 20;
  let next = 0;
  const send = (p: Prepared) =>
    answers.push(
      postPrepared(agent, url, p).then((answer) => {
        const [result] = results(answer.body);
        return {
          sentAt: answer.sentAt,
          answeredAt: answer.answeredAt,
          ok: answer.status === 200,
          eventId: result?.event_id ?? null,
          actions: result?.actions ?? 0,
        };
      }),
    );
  let lateSends = 0;
  await new Promise<void>((resolve) => {
    const tick = () => {
      const now = performance.now();
      while (next < prepared.length && startedAt + next * interval <= now) {
        if (now - (startedAt + next * interval) > 5) lateSends++;
        send(prepared[next++]!);
      }
      if (next >= prepared.length) return resolve();
      setTimeout(tick, Math.max(0, startedAt + next * interval - performance.now()));
    };
    tick();
  });
  const sent = await Promise.all(answers);
  agent.destroy();
  return { sent, lateSends, startedAtWall: performance.timeOrigin + startedAt };
}
