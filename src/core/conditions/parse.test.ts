import { describe, expect, it } from 'vitest';
import { hasCode, ErrorCode, type HomeostatError } from '../errors.js';
import { parseWhen } from './parse.js';

function problemsOf(input: unknown): { pointer: string; message: string }[] {
  try {
    parseWhen(input, '/spec/when');
  } catch (err) {
    expect(hasCode(err, ErrorCode.INVALID)).toBe(true);
    return [...(err as HomeostatError).problems];
  }
  throw new Error('expected parseWhen to throw');
}

describe('parseWhen', () => {
  it('resolves durations to milliseconds and applies defaults', () => {
    expect(parseWhen({ count: { atLeast: 20, within: '1m' }, groupBy: 'subject' }, '')).toEqual({
      count: { atLeast: 20, within: 60_000 },
      groupBy: 'subject',
      debounce: 0,
      cooldown: 0,
    });
    expect(parseWhen({ for: '30s' }, '')).toEqual({ for: 30_000, maxGap: 30_000, debounce: 0, cooldown: 0 });
    expect(parseWhen({ for: '30s', maxGap: '5s', cooldown: '2m' }, '')).toMatchObject({
      maxGap: 5000,
      cooldown: 120_000,
    });
    expect(parseWhen({ absent: 1500, debounce: '250ms' }, '')).toEqual({ absent: 1500, debounce: 250, cooldown: 0 });
  });

  it('resolves sequences and aggregates and freezes the result', () => {
    const seq = parseWhen({ sequence: { first: 'deploy', then: 'errors', within: '5m' } }, '');
    expect(seq).toMatchObject({ sequence: { first: 'deploy', then: 'errors', within: 300_000 } });
    const agg = parseWhen(
      { aggregate: { fn: 'p95', field: 'data.cpu', op: '>', value: 90, within: '1m' }, groupBy: 'data.instance' },
      '',
    );
    expect(agg).toMatchObject({ aggregate: { fn: 'p95', field: 'data.cpu', op: '>', value: 90, within: 60_000 } });
    expect(Object.isFrozen(agg)).toBe(true);
    expect(Object.isFrozen((agg as { aggregate: object }).aggregate)).toBe(true);
  });

  it('asks for exactly one kind of condition', () => {
    expect(problemsOf({ groupBy: 'subject' })).toEqual([
      { pointer: '/spec/when', message: expect.stringMatching(/exactly one of for, count, absent.*found none/) },
    ]);
    expect(problemsOf({ for: '1s', absent: '1s' })[0]?.message).toMatch(/found for and absent/);
    expect(problemsOf('30s')[0]).toMatchObject({
      pointer: '/spec/when',
      message: expect.stringMatching(/must be an object/),
    });
  });

  it('points at every bad field at once', () => {
    const problems = problemsOf({
      aggregate: { fn: 'median', field: '', op: '=>', value: 'high', within: 'soon' },
      cooldown: -5,
      colldown: '1s',
    });
    expect(problems.map((p) => p.pointer).sort()).toEqual([
      '/spec/when/aggregate/field',
      '/spec/when/aggregate/fn',
      '/spec/when/aggregate/op',
      '/spec/when/aggregate/value',
      '/spec/when/aggregate/within',
      '/spec/when/colldown',
      '/spec/when/cooldown',
    ]);
    expect(problems.find((p) => p.pointer.endsWith('/fn'))?.message).toMatch(
      /"median" is not one of avg, max, min, sum, p95, p99/,
    );
    expect(problems.find((p) => p.pointer.endsWith('/within'))?.message).toMatch(/'30s'/);
  });

  it('rejects counts that are not whole positive numbers and zero windows', () => {
    const problems = problemsOf({ count: { atLeast: 0.5, within: 0 } });
    expect(problems).toEqual([
      { pointer: '/spec/when/count/atLeast', message: expect.stringMatching(/whole number from 1 to 10000/) },
      { pointer: '/spec/when/count/within', message: expect.stringMatching(/between 1ms and 30d, got 0ms/) },
    ]);
    expect(problemsOf({ count: { atLeast: 3 } })).toEqual([
      { pointer: '/spec/when/count/within', message: expect.stringMatching(/is required/) },
    ]);
  });

  it('rejects debounce on a sequence, identical steps and maxGap outside for', () => {
    const problems = problemsOf({ sequence: { first: 'a', then: 'a', within: '1m' }, debounce: '1s', maxGap: '1s' });
    expect(problems.map((p) => p.pointer).sort()).toEqual([
      '/spec/when/debounce',
      '/spec/when/maxGap',
      '/spec/when/sequence/then',
    ]);
  });

  it('rejects group paths that do not parse', () => {
    expect(problemsOf({ absent: '1m', groupBy: 'data..instance' })[0]).toMatchObject({
      pointer: '/spec/when/groupBy',
      message: expect.stringMatching(/empty name/),
    });
  });
});
