/** @module Conformance: event-ruler's verified cases and the EventBridge table, through every matcher. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ErrorCode, hasCode, type HomeostatError } from '../../src/core/errors.js';
import { createMatcher, explainPattern, matchPattern, parsePattern } from '../../src/core/pattern/index.js';
import { eventBridgeCases, invalidPatterns, type PatternCase } from './eventbridge-cases.js';

/** A case ready to run: the pattern as given plus every JSON text of the event to try. */
interface RunnableCase {
  readonly name: string;
  /** Passed to parsePattern as is (a JSON value, or JSON text). */
  readonly pattern: unknown;
  /** Other forms of the same pattern that must give the same verdict (the raw text of a line). */
  readonly patternForms: readonly unknown[];
  readonly event: unknown;
  readonly eventTexts: readonly string[];
  readonly match: boolean;
}

const CONFORMANCE_FILE = new URL('../../../shared/ruler-bench/conformance.jsonl', import.meta.url);

function skipString(text: string, at: number): number {
  let i = at + 1;
  while (text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
  return i + 1;
}

/** Index just past the JSON value starting at `at` (the text is valid JSON). */
function skipValue(text: string, at: number): number {
  if (text[at] === '"') return skipString(text, at);
  let depth = 0;
  let i = at;
  while (i < text.length) {
    const ch = text[i]!;
    if (ch === '"') {
      i = skipString(text, i);
      continue;
    }
    if (ch === '{' || ch === '[') depth += 1;
    else if (ch === '}' || ch === ']') {
      if (depth === 0) return i;
      depth -= 1;
      if (depth === 0) return i + 1;
    } else if (depth === 0 && (ch === ',' || /\s/.test(ch))) return i;
    i += 1;
  }
  return i;
}

/** The raw text of each member of a top-level JSON object, so number literals stay as written. */
function rawMembers(text: string): Map<string, string> {
  const members = new Map<string, string>();
  const skipSpace = (i: number): number => (/\s/.test(text[i] ?? '') ? skipSpace(i + 1) : i);
  let i = skipSpace(text.indexOf('{') + 1);
  while (text[i] === '"') {
    const keyEnd = skipString(text, i);
    const key = JSON.parse(text.slice(i, keyEnd)) as string;
    const valueStart = skipSpace(skipSpace(keyEnd) + 1);
    const valueEnd = skipValue(text, valueStart);
    members.set(key, text.slice(valueStart, valueEnd));
    i = skipSpace(valueEnd);
    if (text[i] === ',') i = skipSpace(i + 1);
  }
  return members;
}

function loadConformance(): RunnableCase[] {
  const lines = readFileSync(CONFORMANCE_FILE, 'utf8').split('\n');
  return lines
    .filter((line) => line.trim() !== '')
    .map((line) => {
      const parsed = JSON.parse(line) as { name: string; pattern: unknown; event: unknown; match: boolean };
      const raw = rawMembers(line);
      const patternForms = typeof parsed.pattern === 'string' ? [] : [raw.get('pattern')!];
      return {
        name: parsed.name,
        pattern: parsed.pattern,
        patternForms,
        event: parsed.event,
        eventTexts: [JSON.stringify(parsed.event), raw.get('event')!],
        match: parsed.match,
      };
    });
}

function fromTable(c: PatternCase): RunnableCase {
  const eventTexts = [JSON.stringify(c.event), ...(c.eventJson === undefined ? [] : [c.eventJson])];
  return { name: c.name, pattern: c.pattern, patternForms: [], event: c.event, eventTexts, match: c.match };
}

/** The pattern as a JSON value, to resolve explanation pointers against. */
function patternDocument(pattern: unknown): unknown {
  return typeof pattern === 'string' ? JSON.parse(pattern) : pattern;
}

/** True when an RFC 6901 pointer names a value inside `doc`. */
function pointerExists(doc: unknown, pointer: string): boolean {
  if (pointer === '') return true;
  if (!pointer.startsWith('/')) return false;
  let node = doc;
  for (const segment of pointer.slice(1).split('/')) {
    const key = segment.replaceAll('~1', '/').replaceAll('~0', '~');
    if (Array.isArray(node)) {
      if (!/^(0|[1-9]\d*)$/.test(key) || Number(key) >= node.length) return false;
      node = node[Number(key)];
    } else if (typeof node === 'object' && node !== null && Object.hasOwn(node, key)) {
      node = (node as Record<string, unknown>)[key];
    } else {
      return false;
    }
  }
  return true;
}

function expectInvalid(run: () => unknown): HomeostatError {
  try {
    run();
  } catch (err) {
    if (hasCode(err, ErrorCode.INVALID)) return err;
    throw err;
  }
  throw new Error('expected parsePattern to throw E_INVALID, but it accepted the pattern');
}

function runSuite(suite: string, cases: readonly RunnableCase[]): void {
  describe(suite, () => {
    it.each(cases)('naive matcher: $name', (c) => {
      expect(matchPattern(parsePattern(c.pattern), c.event)).toBe(c.match);
      for (const form of c.patternForms) expect(matchPattern(parsePattern(form), c.event), String(form)).toBe(c.match);
    });

    it.each(cases)('compiled matcher: $name', (c) => {
      const matcher = createMatcher<string>();
      matcher.set('p', parsePattern(c.pattern));
      const expected = c.match ? ['p'] : [];
      expect(matcher.match(c.event), 'match(event)').toEqual(expected);
      for (const text of c.eventTexts) expect(matcher.matchJson(text), `matchJson(${text})`).toEqual(expected);
    });

    it.each(cases)('explanation: $name', (c) => {
      const explanation = explainPattern(parsePattern(c.pattern), c.event);
      expect(explanation.matched).toBe(c.match);
      if (c.match) return;
      expect(explanation.failures.length).toBeGreaterThan(0);
      const doc = patternDocument(c.pattern);
      for (const failure of explanation.failures) {
        expect(pointerExists(doc, failure.pointer), `failure pointer ${failure.pointer}`).toBe(true);
        expect(failure.reason).not.toBe('');
      }
    });
  });
}

const conformance = loadConformance();
const table = eventBridgeCases.map(fromTable);

describe('the case files', () => {
  it('holds the 60 verified event-ruler cases, half of them matches', () => {
    expect(conformance).toHaveLength(60);
    expect(conformance.filter((c) => c.match)).toHaveLength(30);
  });

  it('holds at least 170 EventBridge cases with unique names, both verdicts well represented', () => {
    expect(table.length).toBeGreaterThanOrEqual(170);
    expect(new Set(table.map((c) => c.name)).size).toBe(table.length);
    expect(table.filter((c) => c.match).length).toBeGreaterThan(table.length / 3);
    expect(table.filter((c) => !c.match).length).toBeGreaterThan(table.length / 3);
  });

  it('holds at least 30 invalid patterns with unique names', () => {
    expect(invalidPatterns.length).toBeGreaterThanOrEqual(30);
    expect(new Set(invalidPatterns.map((c) => c.name)).size).toBe(invalidPatterns.length);
  });
});

runSuite('event-ruler conformance cases (../shared/ruler-bench/conformance.jsonl)', conformance);
runSuite('EventBridge documentation cases', table);

describe('invalid patterns', () => {
  it.each(invalidPatterns)('rejects $name with E_INVALID at $pointer', (c) => {
    const err = expectInvalid(() => parsePattern(c.pattern, c.limits === undefined ? {} : { limits: c.limits }));
    expect(err.message).not.toBe('');
    expect(err.problems.map((p) => p.pointer)).toContain(c.pointer);
    for (const problem of err.problems) expect(problem.message.trim()).not.toBe('');
  });

  it('prefixes problem pointers with the pointer option', () => {
    const err = expectInvalid(() => parsePattern({ detail: { state: 'running' } }, { pointer: '/spec/match' }));
    expect(err.problems.map((p) => p.pointer)).toContain('/spec/match/detail/state');
  });

  it('escapes ~ and / in problem pointers', () => {
    const err = expectInvalid(() => parsePattern({ 'a/b~c': 'x' }));
    expect(err.problems.map((p) => p.pointer)).toContain('/a~1b~0c');
  });

  it('reports every problem of a pattern at once', () => {
    const err = expectInvalid(() => parsePattern({ a: 'x', b: [], c: [{ exists: 'yes' }] }));
    expect(err.problems.map((p) => p.pointer)).toEqual(expect.arrayContaining(['/a', '/b', '/c/0/exists']));
  });

  it('accepts a pattern at exactly the field cap', () => {
    const pattern = { a: ['1'], b: ['2'] };
    expect(() => parsePattern(pattern, { limits: { maxFields: 2 } })).not.toThrow();
  });
});
