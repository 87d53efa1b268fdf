/** @module Failure kinds of instance events, and crash-loop windows. */
import { describe, expect, it } from 'vitest';
import { classifyFailure, noteCrash } from './failure.js';

describe('classifyFailure', () => {
  it('tells a crash, a hang (health-check timeout) and an unhealthy answer apart', () => {
    expect(classifyFailure('infra.instance.crashed', { exitCode: 1 })).toBe('crashed');
    expect(classifyFailure('infra.instance.unhealthy', { reason: 'no answer from /healthz within 500 ms' })).toBe(
      'hung',
    );
    expect(classifyFailure('infra.instance.unhealthy', { reason: 'health-check-timeout' })).toBe('hung');
    expect(classifyFailure('infra.instance.unhealthy', { reason: 'HTTP 503 from /healthz' })).toBe('unhealthy');
    expect(classifyFailure('infra.instance.unhealthy', { reason: '/healthz: ECONNREFUSED' })).toBe('unhealthy');
    expect(classifyFailure('infra.instance.unhealthy', undefined)).toBe('unhealthy');
  });

  it('is no failure for other events', () => {
    expect(classifyFailure('infra.instance.stopped', {})).toBeUndefined();
    expect(classifyFailure('infra.instance.ready', {})).toBeUndefined();
  });
});

describe('noteCrash', () => {
  const spec = { crashes: 3, withinMs: 60_000 };

  it('is a loop at the Nth failure within the window, not before', () => {
    let w: number[] = [];
    const loops = [0, 10_000, 59_000].map((at) => {
      const r = noteCrash(w, at, spec);
      w = r.window;
      return r.loop;
    });
    expect(loops).toEqual([false, false, true]);
  });

  it('forgets failures older than the window', () => {
    const r = noteCrash([0, 1_000], 61_001, spec);
    expect(r).toEqual({ window: [61_001], loop: false });
    expect(noteCrash([0, 1_000], 60_000, spec).loop).toBe(true);
  });

  it('counts a failure that arrives late (older than the newest) inside the window', () => {
    expect(noteCrash([30_000, 40_000], 20_000, spec)).toEqual({ window: [20_000, 30_000, 40_000], loop: true });
  });
});
