import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { expect, test } from 'vitest';
import { ensureEventPartitions, linkOrphanEvents } from '../../src/ingest/maintenance.ts';
import { usePlatform } from '../helpers/platform.ts';
import {
  authorization,
  createTestProcessor,
  enrollCard,
  follower,
  postEvents,
  processorRequest,
  testPan,
} from './fixtures.ts';

const platform = usePlatform();
const run = promisify(execFile);

test('a PAN never reaches a table or a log line, whatever the processor sends', async () => {
  const processor = await createTestProcessor(platform);
  const enrolled = testPan(424242, '5555');
  const stranger = testPan(737373, '4000');
  const linkedOnly = testPan(919191, '4111');
  const luhnBad = `${enrolled.slice(0, 15)}${(Number(enrolled[15]) + 1) % 10}`;
  await enrollCard(platform, enrolled);

  const link = await processorRequest(platform, processor, '/v1/card_tokens', {
    token: 'tok_pan_scan',
    pan: linkedOnly,
  });
  expect(link.status).toBe(201);
  const conflicting = await processorRequest(platform, processor, '/v1/card_tokens', {
    token: 'tok_pan_scan',
    pan: enrolled,
  });
  expect(conflicting.status).toBe(409);

  const auth = authorization({ pan: enrolled });
  const batch = await postEvents(platform, processor, {
    events: [
      auth,
      follower('clearing', { pan: enrolled, original_id: auth.id }),
      authorization({ pan: stranger }),
      authorization({ pan: luhnBad }),
      authorization({ pan: enrolled, currency: 'usd' }),
      authorization({ card: { pan: enrolled, token: 'both' } }),
      authorization({ pan: enrolled, id: enrolled }),
      authorization({
        pan: enrolled,
        id: `ref-${enrolled}-x`,
        merchant: { mid: '1', name: `CARD ${enrolled}` },
      }),
      authorization({ pan: luhnBad, id: `ref-${stranger}` }),
      // Another card's number in the descriptor of a good event, whole or grouped.
      authorization({ pan: enrolled, merchant: { mid: '2', name: `PAY ${stranger}` } }),
      authorization({
        token: 'tok_pan_scan',
        merchant: { mid: '3', city: linkedOnly.match(/.{1,4}/g)!.join(' ') },
      }),
      { id: enrolled, card: { pan: enrolled } },
      authorization({ token: 'tok_pan_scan' }),
    ],
  });
  expect(batch.status).toBe(200);
  const single = await postEvents(platform, processor, authorization({ pan: luhnBad }));
  expect(single.status).toBe(422);
  const garbage = await postEvents(platform, processor, `{"card":{"pan":"${enrolled}"`);
  expect(garbage.status).toBe(400);
  await linkOrphanEvents(platform.deps.sql);
  await ensureEventPartitions(platform.deps.db);

  for (const text of [batch.text, single.text, garbage.text, link.text, conflicting.text]) {
    for (const pan of [enrolled, stranger, linkedOnly, luhnBad]) expect(text).not.toContain(pan);
  }

  const { stdout } = await run(
    'pg_dump',
    ['-h', '127.0.0.1', '-U', 'root', '--data-only', platform.databaseName],
    {
      maxBuffer: 64 * 1024 * 1024,
    },
  );
  // The dump really holds the data: the events and the token link are in it.
  expect(stdout).toContain(batch.body.results[0].event_id);
  expect(stdout).toContain('tok_pan_scan');
  const logs = platform.logs.join('\n');
  expect(logs.length).toBeGreaterThan(0);
  for (const pan of [enrolled, stranger, linkedOnly, luhnBad]) {
    expect(stdout.includes(pan), `PAN found in the database dump`).toBe(false);
    expect(logs.includes(pan), `PAN found in the logs`).toBe(false);
    // Nor its BIN + last 4 for the cards nobody enrolled.
    if (pan !== enrolled)
      expect(stdout.includes(pan.slice(-4)) && stdout.includes(pan.slice(0, 6))).toBe(false);
  }
});
