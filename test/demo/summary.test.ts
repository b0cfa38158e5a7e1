import { describe, expect, it } from 'vitest';
import { demoFailures } from '../../src/demo/summary.ts';

const run = (changes: {
  rejected?: number;
  failed?: number;
  linkFailures?: number;
  bad?: number;
  expected?: number;
  delivered?: number;
}) =>
  demoFailures({
    feed: {
      answers: { rejected: changes.rejected ?? 0, failed: changes.failed ?? 0 },
      sent: { card_token_failures: changes.linkFailures ?? 0 },
    },
    arrivals: [{ verified: true }, ...Array.from({ length: changes.bad ?? 0 }, () => ({ verified: false }))],
    actionsExpected: changes.expected ?? 10,
    actionsDelivered: changes.delivered ?? 10,
  });

describe('whether the demo failed', () => {
  it('did not when every event was taken, every link made, every webhook verified and arrived', () => {
    expect(run({})).toEqual([]);
  });

  it('names each way it went wrong', () => {
    expect(run({ rejected: 2, failed: 1 })).toEqual(['2 events rejected and 1 failed']);
    expect(run({ linkFailures: 3 })).toEqual(['3 card-token links failed']);
    expect(run({ bad: 1 })).toEqual(['1 webhook with a bad signature']);
    expect(run({ expected: 10, delivered: 7 })).toEqual([
      'the first webhook of 3 of 10 actions did not arrive within --drain-timeout',
    ]);
    expect(run({ rejected: 1, bad: 2 })).toHaveLength(2);
  });
});
