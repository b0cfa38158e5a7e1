// The retry schedule and what each answer means, without the network.
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config.ts';
import {
  DELIVERY_BACKOFF,
  DeliveryRetry,
  deliveryBackoff,
  deliveryJobOptions,
  judgeAttempt,
  RETRY_AFTER_MAX_MS,
  retryAfterMs,
} from '../../src/deliveries/schedule.ts';

const secrets = {
  ADMIN_TOKEN: 'a'.repeat(32),
  CARD_FINGERPRINT_KEY: 'b'.repeat(32),
  SECRETS_KEY: 'c'.repeat(32),
};
const S = 1000;
const M = 60 * S;
const H = 60 * M;
const schedule = [5 * S, 5 * M, 30 * M, 2 * H, 5 * H, 10 * H, 10 * H];
const now = new Date('2026-03-01T12:00:00Z');
const context = (over: Partial<Parameters<typeof judgeAttempt>[1]> = {}) => ({
  attemptIndex: 0,
  retryScheduleMs: schedule,
  failingSince: null,
  disableAfterMs: 5 * 24 * H,
  now,
  random: () => 0.5,
  ...over,
});

describe('retry schedule', () => {
  it("defaults to Svix's schedule and reads a compressed one from the environment", () => {
    expect(parseConfig(secrets).deliveries).toEqual({
      retryScheduleMs: schedule,
      timeoutMs: 10_000,
      concurrency: 100,
      perEndpointConcurrency: 10,
      disableAfterMs: 5 * 24 * H,
    });
    expect(
      parseConfig({ ...secrets, DELIVERY_RETRY_SCHEDULE: '50ms, 1.5s,2m' }).deliveries.retryScheduleMs,
    ).toEqual([50, 1500, 2 * M]);
    expect(() => parseConfig({ ...secrets, DELIVERY_RETRY_SCHEDULE: '5s,soon' })).toThrow(
      /DELIVERY_RETRY_SCHEDULE: "soon" is not a duration/,
    );
  });

  it('gives each job one attempt and one per step, with the worker deciding each wait', () => {
    expect(deliveryJobOptions(schedule)).toEqual({ attempts: 8, backoff: { type: DELIVERY_BACKOFF } });
    const backoff = deliveryBackoff([100, 200]);
    expect(backoff(1, DELIVERY_BACKOFF, new DeliveryRetry('answered 500', 1234))).toBe(1234);
    // Any other error waits the schedule's step for that attempt, ±20%.
    for (let i = 0; i < 50; i++) {
      const wait = backoff(2, DELIVERY_BACKOFF, new Error('postgres away')) as number;
      expect(wait).toBeGreaterThanOrEqual(160);
      expect(wait).toBeLessThanOrEqual(240);
    }
  });

  it('retries each failure after the next step of the schedule, ±20%, then gives up', () => {
    schedule.forEach((step, attemptIndex) => {
      for (const [random, factor] of [
        [0, 0.8],
        [0.5, 1],
        [1, 1.2],
      ] as const) {
        expect(judgeAttempt({ statusCode: 500 }, context({ attemptIndex, random: () => random }))).toEqual({
          status: 'pending',
          delayMs: Math.round(step * factor),
        });
      }
    });
    expect(judgeAttempt({ statusCode: 500 }, context({ attemptIndex: schedule.length }))).toEqual({
      status: 'failed',
    });
  });

  it.each([
    [200, 'succeeded'],
    [204, 'succeeded'],
    [299, 'succeeded'],
    [301, 'pending'],
    [400, 'pending'],
    [404, 'pending'],
    [500, 'pending'],
    [null, 'pending'],
  ])('reads an answer of %s as %s', (statusCode, status) => {
    expect(judgeAttempt({ statusCode }, context()).status).toBe(status);
  });

  it('disables the endpoint on a 410, and when it has failed longer than the limit', () => {
    expect(judgeAttempt({ statusCode: 410 }, context())).toEqual({
      status: 'failed',
      disable: 'The endpoint answered 410 Gone.',
    });
    const sinceSixDays = new Date(now.getTime() - 6 * 24 * H);
    expect(judgeAttempt({ statusCode: null }, context({ failingSince: sinceSixDays }))).toEqual({
      status: 'failed',
      disable: `Every attempt failed since ${sinceSixDays.toISOString()} (more than 5 days).`,
    });
    const sinceFourDays = new Date(now.getTime() - 4 * 24 * H);
    expect(judgeAttempt({ statusCode: 500 }, context({ failingSince: sinceFourDays })).status).toBe(
      'pending',
    );
    // An answer is an answer, however long the endpoint failed before it.
    expect(judgeAttempt({ statusCode: 200 }, context({ failingSince: sinceSixDays })).status).toBe(
      'succeeded',
    );
  });

  it('waits at least what Retry-After asks on a 429 or 503, and only then', () => {
    const later = (statusCode: number, retryAfter: string) =>
      judgeAttempt({ statusCode, retryAfter }, context({ attemptIndex: 0 }));
    expect(later(429, '120')).toEqual({ status: 'pending', delayMs: 120 * S });
    expect(later(503, new Date(now.getTime() + 90 * S).toUTCString())).toEqual({
      status: 'pending',
      delayMs: 90 * S,
    });
    // Shorter than the step: the step stands.
    expect(later(429, '1')).toEqual({ status: 'pending', delayMs: 5 * S });
    expect(later(500, '120')).toEqual({ status: 'pending', delayMs: 5 * S });
  });

  it('reads Retry-After as seconds or an HTTP date, bounded', () => {
    expect(retryAfterMs('7', now.getTime())).toBe(7 * S);
    expect(retryAfterMs('Sun, 01 Mar 2026 12:01:00 GMT', now.getTime())).toBe(M);
    expect(retryAfterMs('Sun, 01 Mar 2026 11:00:00 GMT', now.getTime())).toBe(0);
    expect(retryAfterMs('99999999', now.getTime())).toBe(RETRY_AFTER_MAX_MS);
    expect(retryAfterMs('soon', now.getTime())).toBeUndefined();
    expect(retryAfterMs(undefined, now.getTime())).toBeUndefined();
  });
});
