import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { nestsDeeperThan } from '../../src/http/json-depth.ts';

const bytes = (text: string) => new TextEncoder().encode(text);

/** The reference: how many arrays and objects a parsed value nests. */
function depthOf(value: unknown): number {
  if (value === null || typeof value !== 'object') return 0;
  const items = Array.isArray(value) ? value : Object.values(value);
  return 1 + Math.max(0, ...items.map(depthOf));
}

// Strings full of what the scan must not count: brackets, quotes, backslashes, multi-byte characters.
const tricky = fc
  .array(fc.constantFrom('[', ']', '{', '}', '"', '\\', 'a', 'é', '😀', '\\"', '\n'), { maxLength: 12 })
  .map((parts) => parts.join(''));
const json = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    tricky,
    fc.integer(),
    fc.constant(null),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(tricky, tie('value'), { maxKeys: 4 }),
  ),
})).value;

describe('nestsDeeperThan', () => {
  test('agrees with the depth of the parsed value, at every limit', () => {
    fc.assert(
      fc.property(json, fc.integer({ min: 0, max: 8 }), (value, max) => {
        const text = JSON.stringify(value);
        expect(nestsDeeperThan(bytes(text), max)).toBe(depthOf(JSON.parse(text)) > max);
      }),
      { numRuns: 3000, seed: 20261127 },
    );
  });

  test.each([
    ['64 arrays', `${'['.repeat(64)}${']'.repeat(64)}`, false],
    ['65 arrays', `${'['.repeat(65)}${']'.repeat(65)}`, true],
    ['65 objects', `${'{"a":'.repeat(65)}1${'}'.repeat(65)}`, true],
    ['brackets in a string', `["${'['.repeat(100)}"]`, false],
    ['an escaped quote before the brackets', `["\\"${'['.repeat(100)}"]`, false],
    ['an escaped backslash, then real brackets', `["\\\\",${'['.repeat(100)}${']'.repeat(100)}]`, true],
    ['only opening brackets (not JSON)', '['.repeat(1_000_000), true],
    ['an unterminated string', `["${'['.repeat(100)}`, false],
  ])('%s', (_name, text, deeper) => {
    expect(nestsDeeperThan(bytes(text), 64)).toBe(deeper);
  });
});
