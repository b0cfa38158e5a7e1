import { describe, expect, it } from 'vitest';
import { refusedCard } from '../../src/cards/cards.ts';
import { refusedPan } from '../../src/demo/seed.ts';
import { invalidFields } from '../../src/errors.ts';
import { problemBody, problemOf } from '../../src/http/problem.ts';

const wire = (error: Parameters<typeof problemOf>[0]) => problemBody(problemOf(error), 'http://x', 'req_1');

describe('the demo seeding a card', () => {
  it('counts the platform’s refusal of a number as refused, and takes any other 422 as its own mistake', () => {
    expect(refusedPan(wire(refusedCard()))).toBe(true);
    expect(refusedPan(wire(invalidFields([{ path: 'exp_year', message: 'is past' }])))).toBe(false);
    expect(refusedPan(wire(invalidFields([{ path: 'pan', message: 'must be 12-19 digits' }])))).toBe(false);
    expect(refusedPan(null)).toBe(false);
  });
});
