import { describe, expect, it } from 'vitest';
import type { Problem } from '../errors.js';
import { DEFAULT_SAFETY, parseSafety } from './parse.js';

function parse(raw: unknown): { spec: ReturnType<typeof parseSafety>; problems: Problem[] } {
  const problems: Problem[] = [];
  return { spec: parseSafety(raw, '/spec/safety', problems), problems };
}

describe('parseSafety', () => {
  it('gives the defaults when the block is absent', () => {
    const { spec, problems } = parse(undefined);
    expect(problems).toEqual([]);
    expect(spec).toBe(DEFAULT_SAFETY);
    expect(spec).toEqual({
      mode: 'enforce',
      cooldownMs: 0,
      rateLimit: { max: 60, perMs: 60_000 },
      blastRadius: { maxResources: 20, maxPercent: 50, perMs: 600_000 },
      flap: { maxReversals: 4, withinMs: 600_000 },
    });
  });

  it('reads every field, durations in milliseconds, and freezes the result', () => {
    const { spec, problems } = parse({
      mode: 'dry-run',
      cooldown: '30s',
      rateLimit: { max: 10, per: '1m' },
      blastRadius: { maxResources: 5, maxPercent: 25, per: '10m' },
      flap: { maxReversals: 3, within: '10m' },
    });
    expect(problems).toEqual([]);
    expect(spec).toEqual({
      mode: 'dry-run',
      cooldownMs: 30_000,
      rateLimit: { max: 10, perMs: 60_000 },
      blastRadius: { maxResources: 5, maxPercent: 25, perMs: 600_000 },
      flap: { maxReversals: 3, withinMs: 600_000 },
    });
    expect(Object.isFrozen(spec)).toBe(true);
    expect(Object.isFrozen(spec.blastRadius)).toBe(true);
  });

  it('fills the fields a partial block leaves out with the defaults', () => {
    const { spec, problems } = parse({ mode: 'approval', rateLimit: { max: 2 } });
    expect(problems).toEqual([]);
    expect(spec.mode).toBe('approval');
    expect(spec.rateLimit).toEqual({ max: 2, perMs: 60_000 });
    expect(spec.flap).toEqual(DEFAULT_SAFETY.flap);
  });

  it('reports every problem with its pointer and the fix', () => {
    const { problems } = parse({
      mode: 'yolo',
      cooldown: 'soon',
      rateLimit: { max: 0, per: '1m', burst: 3 },
      blastRadius: { maxPercent: 150 },
      flap: { maxReversals: 'many', within: '0s' },
      coolDown: '1s',
    });
    const byPointer = Object.fromEntries(problems.map((p) => [p.pointer, p.message]));
    expect(Object.keys(byPointer).sort()).toEqual([
      '/spec/safety/blastRadius/maxPercent',
      '/spec/safety/coolDown',
      '/spec/safety/cooldown',
      '/spec/safety/flap/maxReversals',
      '/spec/safety/flap/within',
      '/spec/safety/mode',
      '/spec/safety/rateLimit/burst',
      '/spec/safety/rateLimit/max',
    ]);
    expect(byPointer['/spec/safety/mode']).toBe(
      'must be one of enforce, dry-run, approval (default enforce), not "yolo"',
    );
    expect(byPointer['/spec/safety/coolDown']).toContain("did you mean 'cooldown'?");
    expect(byPointer['/spec/safety/cooldown']).toContain("such as '30s'");
    expect(byPointer['/spec/safety/rateLimit/max']).toBe('must be an integer from 1 to 100000 (default 60), not 0');
    expect(byPointer['/spec/safety/blastRadius/maxPercent']).toContain('at most 100');
    expect(byPointer['/spec/safety/flap/within']).toContain('from 1s to 7d');
  });

  it('reports a block that is not an object and returns the defaults', () => {
    const { spec, problems } = parse('strict');
    expect(spec).toBe(DEFAULT_SAFETY);
    expect(problems).toEqual([
      {
        pointer: '/spec/safety',
        message: 'must be an object with any of mode, cooldown, rateLimit, blastRadius, flap, not "strict"',
      },
    ]);
  });

  it('appends to the problems it is given', () => {
    const problems: Problem[] = [{ pointer: '/spec/target', message: 'required' }];
    parseSafety({ mode: 1 }, '/spec/safety', problems);
    expect(problems.map((p) => p.pointer)).toEqual(['/spec/target', '/spec/safety/mode']);
  });
});
