/** @module Differential tests: the compiled matcher must agree with the naive reference on random patterns and events. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  createMatcher,
  explainPattern,
  matchPattern,
  parsePattern,
  type Matcher,
  type Pattern,
} from '../../src/core/pattern/index.js';

// Small pools so that random patterns and events often meet.
const STRINGS = [
  'x',
  'y',
  'X',
  'xy',
  'yx',
  '',
  'a*b',
  'a\\b',
  'x\ny',
  'null',
  '10.0.0.1',
  '10.0.0.200',
  '10.1.2.3',
  '2001:db8::1',
  '2001:DB8:0:0:0:0:0:1',
];
const NUMBERS = [0, 1, -1, 2.5, 300, 1e-3];
const PRIMITIVES: readonly unknown[] = [...STRINGS, ...NUMBERS, true, false, null];
const AFFIXES = ['x', 'X', 'y', '1', '10.', 'a*'];
const WILDCARDS = ['*', 'x*', '*y', 'x*y', '*x*', 'a\\*b', '10.*.1'];
const CIDRS = ['10.0.0.0/24', '10.0.0.0/8', '2001:db8::/32'];
const BOUNDS = [-1, 0, 1, 2.5, 300];
const EVENT_KEYS = ['a', 'b', 'c', 'd', 'e'];

const pick = <T>(values: readonly T[]) => fc.constantFrom(...values);
const op = (name: string, operand: fc.Arbitrary<unknown>) => operand.map((value) => ({ [name]: value }));
const twoDistinct = <T>(values: readonly T[]) => fc.uniqueArray(pick(values), { minLength: 2, maxLength: 2 });

const numericMatcher: fc.Arbitrary<unknown> = fc.oneof(
  fc.tuple(pick(['=', '<', '<=', '>', '>=']), pick(BOUNDS)),
  fc
    .tuple(pick(['>', '>=']), twoDistinct(BOUNDS), pick(['<', '<=']))
    .map(([low, [p, q], high]) => [low, Math.min(p!, q!), high, Math.max(p!, q!)]),
);

const anythingBut: fc.Arbitrary<unknown> = fc.oneof(
  pick(STRINGS),
  pick(NUMBERS),
  twoDistinct(STRINGS),
  twoDistinct(NUMBERS),
  op('prefix', pick(AFFIXES)),
  op('suffix', pick(AFFIXES)),
  op('equals-ignore-case', fc.oneof(pick(AFFIXES), twoDistinct(AFFIXES))),
  op('wildcard', fc.oneof(pick(WILDCARDS), twoDistinct(WILDCARDS))),
);

/** One entry of a value list: a literal or an operator object. */
const matcherArb: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: pick(PRIMITIVES) },
  op('prefix', fc.oneof(pick(AFFIXES), op('equals-ignore-case', pick(AFFIXES)))),
  op('suffix', fc.oneof(pick(AFFIXES), op('equals-ignore-case', pick(AFFIXES)))),
  op('equals-ignore-case', pick(AFFIXES)),
  op('wildcard', pick(WILDCARDS)),
  { weight: 2, arbitrary: op('anything-but', anythingBut) },
  { weight: 2, arbitrary: op('numeric', numericMatcher) },
  { weight: 2, arbitrary: op('exists', fc.boolean()) },
  op('cidr', pick(CIDRS)),
);

const valueList = fc.array(matcherArb, { minLength: 1, maxLength: 3 });

/**
 * A pattern object: fields over a/b and, optionally, a `$or` whose branches use c/d, so that no
 * path is set both outside and inside a branch. Nested objects go one level deep.
 */
function patternObject(depth: number): fc.Arbitrary<Record<string, unknown>> {
  const fieldValue = depth === 0 ? fc.oneof({ weight: 3, arbitrary: valueList }, patternObject(1)) : valueList;
  const base = fc.dictionary(pick(['a', 'b']), fieldValue, { minKeys: 0, maxKeys: 2 });
  const branch = fc.dictionary(pick(['c', 'd']), fieldValue, { minKeys: 1, maxKeys: 2 });
  const or = fc.oneof(
    { weight: 2, arbitrary: fc.constant(undefined) },
    { weight: 1, arbitrary: fc.array(branch, { minLength: 2, maxLength: 3 }) },
  );
  return fc
    .tuple(base, or)
    .map(([fields, branches]) => (branches === undefined ? fields : { ...fields, $or: branches }))
    .filter((pattern) => Object.keys(pattern).length > 0);
}

const patternArb = patternObject(0);

const primitiveArb = pick(PRIMITIVES);
const eventValue: fc.Memo<unknown> = fc.memo((n) => {
  const leaves = [
    { weight: 6, arbitrary: primitiveArb },
    { weight: 2, arbitrary: fc.array(primitiveArb, { maxLength: 3 }) },
    { weight: 1, arbitrary: fc.array(fc.array(primitiveArb, { maxLength: 2 }), { maxLength: 2 }) },
  ];
  if (n <= 1) return fc.oneof(...leaves);
  const object = fc.dictionary(pick(EVENT_KEYS), eventValue(n - 1), { maxKeys: 4 });
  return fc.oneof(
    ...leaves,
    { weight: 3, arbitrary: object },
    { weight: 2, arbitrary: fc.array(object, { maxLength: 3 }) },
  );
});
const eventArb = fc.dictionary(pick(EVENT_KEYS), eventValue(3), { maxKeys: 5 });

/** JSON text with every number in exponent form (3e+2), to check matchJson reads numbers as values. */
function exponentJson(value: unknown): string {
  if (typeof value === 'number') return value.toExponential();
  if (Array.isArray(value)) return `[${value.map(exponentJson).join(', ')}]`;
  if (typeof value === 'object' && value !== null) {
    const members = Object.entries(value).map(([k, v]) => `${JSON.stringify(k)}: ${exponentJson(v)}`);
    return `{${members.join(', ')}}`;
  }
  return JSON.stringify(value);
}

const sorted = (ids: readonly number[]) => [...ids].sort((x, y) => x - y);

function naiveIds(patterns: ReadonlyMap<number, Pattern>, event: unknown): number[] {
  return [...patterns].filter(([, pattern]) => matchPattern(pattern, event)).map(([id]) => id);
}

function expectSameIds(matcher: Matcher<number>, patterns: Map<number, Pattern>, event: unknown): void {
  const expected = sorted(naiveIds(patterns, event));
  expect(sorted(matcher.match(event)), 'match(event)').toEqual(expected);
  expect(sorted(matcher.matchJson(JSON.stringify(event))), 'matchJson(JSON.stringify)').toEqual(expected);
  expect(sorted(matcher.matchJson(exponentJson(event))), 'matchJson(exponent numbers)').toEqual(expected);
}

function load(sources: readonly Record<string, unknown>[]) {
  const patterns = new Map(sources.map((source, id) => [id, parsePattern(source)] as const));
  const matcher = createMatcher<number>();
  for (const [id, pattern] of patterns) matcher.set(id, pattern);
  return { patterns, matcher };
}

describe('compiled matcher versus the naive reference', () => {
  it('generates patterns and events that match each other often enough to test something', () => {
    const sample = fc.sample(fc.tuple(patternArb, eventArb), { numRuns: 2000, seed: 20250102 });
    const matches = sample.filter(([source, event]) => matchPattern(parsePattern(source), event)).length;
    expect(matches / sample.length).toBeGreaterThan(0.05);
    expect(matches / sample.length).toBeLessThan(0.95);
  });

  it('agrees with matchPattern for one random pattern and one random event', () => {
    fc.assert(
      fc.property(patternArb, eventArb, (source, event) => {
        const pattern = parsePattern(source);
        const expected = matchPattern(pattern, event) ? [0] : [];
        const matcher = createMatcher<number>();
        matcher.set(0, pattern);
        expect(matcher.match(event), 'match(event)').toEqual(expected);
        expect(matcher.matchJson(JSON.stringify(event)), 'matchJson').toEqual(expected);
        expect(explainPattern(pattern, event).matched, 'explainPattern').toBe(expected.length === 1);
      }),
      { numRuns: 500 },
    );
  });

  it('returns exactly the ids whose pattern the naive matcher accepts, for 50 patterns at once', () => {
    fc.assert(
      fc.property(
        fc.array(patternArb, { minLength: 50, maxLength: 50 }),
        fc.array(eventArb, { minLength: 1, maxLength: 8 }),
        (sources, events) => {
          const { patterns, matcher } = load(sources);
          expect(matcher.size).toBe(50);
          for (const event of events) expectSameIds(matcher, patterns, event);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('forgets deleted patterns and keeps matching the rest', () => {
    const input = fc.tuple(
      fc.array(patternArb, { minLength: 50, maxLength: 50 }),
      fc.array(fc.boolean(), { minLength: 50, maxLength: 50 }),
      fc.array(eventArb, { minLength: 1, maxLength: 8 }),
    );
    fc.assert(
      fc.property(input, ([sources, deleteMask, events]) => {
        const { patterns, matcher } = load(sources);
        for (const [id, remove] of deleteMask.entries()) {
          if (!remove) continue;
          expect(matcher.delete(id)).toBe(true);
          expect(matcher.delete(id)).toBe(false);
          expect(matcher.has(id)).toBe(false);
          patterns.delete(id);
        }
        expect(matcher.size).toBe(patterns.size);
        for (const event of events) expectSameIds(matcher, patterns, event);
      }),
      { numRuns: 200 },
    );
  });

  it('matches with the new pattern after set replaces the pattern of an id', () => {
    const input = fc.tuple(
      fc.array(patternArb, { minLength: 20, maxLength: 20 }),
      fc.array(fc.option(patternArb, { nil: undefined }), { minLength: 20, maxLength: 20 }),
      fc.array(eventArb, { minLength: 1, maxLength: 8 }),
    );
    fc.assert(
      fc.property(input, ([sources, replacements, events]) => {
        const { patterns, matcher } = load(sources);
        for (const [id, replacement] of replacements.entries()) {
          if (replacement === undefined) continue;
          const pattern = parsePattern(replacement);
          matcher.set(id, pattern);
          patterns.set(id, pattern);
        }
        expect(matcher.size).toBe(20);
        for (const event of events) expectSameIds(matcher, patterns, event);
      }),
      { numRuns: 200 },
    );
  });
});
