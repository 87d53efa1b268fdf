import { describe, expect, it } from 'vitest';
import type { RetryPolicy } from '../rules/types.js';
import { MAX_RETRY_AFTER_MS, nextDelay, retryDecision } from './backoff.js';

const policy: RetryPolicy = { maxAttempts: 8, maxAgeMs: 86_400_000, initialDelayMs: 100, maxDelayMs: 60_000 };
const top = () => 0.999_999_999;
const zero = () => 0;
const half = () => 0.5;

describe('nextDelay', () => {
  it('doubles the jitter cap with each attempt: 100, 200, 400, 800 ms', () => {
    expect([1, 2, 3, 4].map((n) => nextDelay(policy, n, top))).toEqual([100, 200, 400, 800]);
  });

  it('never exceeds maxDelayMs, even for huge attempt numbers', () => {
    expect(nextDelay(policy, 20, top)).toBe(60_000);
    expect(nextDelay(policy, 5000, top)).toBe(60_000);
  });

  it('draws from the whole range [0, cap] (full jitter)', () => {
    expect(nextDelay(policy, 3, zero)).toBe(0);
    expect(nextDelay(policy, 3, half)).toBe(200);
  });

  it('treats attempt numbers below 1 as the first attempt', () => {
    expect(nextDelay(policy, 0, top)).toBe(100);
  });

  it('stays within [0, cap] for any random value in [0, 1)', () => {
    for (let i = 0; i < 1000; i++) {
      const r = i / 1000;
      const d = nextDelay(policy, 4, () => r);
      expect(d).toBeGreaterThanOrEqual(0);
      expect(d).toBeLessThanOrEqual(800);
    }
  });
});

describe('retryDecision', () => {
  const base = { policy, firstSeenAt: 1_000_000, now: 1_000_500, random: top };

  it('schedules a retry after the jittered backoff', () => {
    expect(retryDecision({ ...base, attempts: 1, outcome: { retry: 'yes' } })).toEqual({ retry: true, at: 1_000_600 });
    expect(retryDecision({ ...base, attempts: 3, outcome: { retry: 'yes' } })).toEqual({ retry: true, at: 1_000_900 });
  });

  it("gives up at once when the action says 'do not retry'", () => {
    expect(retryDecision({ ...base, attempts: 1, outcome: { retry: 'no' } })).toEqual({
      retry: false,
      reason: 'not-retryable',
    });
  });

  it('gives up after maxAttempts attempts', () => {
    expect(retryDecision({ ...base, attempts: 7, outcome: { retry: 'yes' } }).retry).toBe(true);
    expect(retryDecision({ ...base, attempts: 8, outcome: { retry: 'yes' } })).toEqual({
      retry: false,
      reason: 'max-attempts',
    });
  });

  it('never retries when maxAttempts is 1', () => {
    const once = { ...policy, maxAttempts: 1 };
    expect(retryDecision({ ...base, policy: once, attempts: 1, outcome: { retry: 'yes' } })).toEqual({
      retry: false,
      reason: 'max-attempts',
    });
  });

  it('waits at least the retryAfterMs the action asked for', () => {
    const d = retryDecision({ ...base, attempts: 1, outcome: { retry: 'yes', retryAfterMs: 5_000 } });
    expect(d).toEqual({ retry: true, at: 1_005_500 });
  });

  it('keeps the backoff when it is longer than retryAfterMs', () => {
    const d = retryDecision({ ...base, attempts: 7, outcome: { retry: 'yes', retryAfterMs: 10 } });
    expect(d).toEqual({ retry: true, at: 1_000_500 + 6_400 });
  });

  it('caps retryAfterMs at one hour', () => {
    const d = retryDecision({ ...base, random: zero, attempts: 1, outcome: { retry: 'yes', retryAfterMs: 1e12 } });
    expect(d).toEqual({ retry: true, at: 1_000_500 + MAX_RETRY_AFTER_MS });
  });

  it('gives up when the next attempt would fall after maxAge', () => {
    const short = { ...policy, maxAgeMs: 550 };
    expect(retryDecision({ ...base, policy: short, attempts: 1, random: zero, outcome: { retry: 'yes' } })).toEqual({
      retry: true,
      at: 1_000_500,
    });
    expect(retryDecision({ ...base, policy: short, attempts: 1, outcome: { retry: 'yes' } })).toEqual({
      retry: false,
      reason: 'max-age',
    });
  });

  it('gives up when retryAfterMs would push the retry past maxAge', () => {
    const hour = { ...policy, maxAgeMs: 3_600_000 };
    const d = retryDecision({ ...base, policy: hour, attempts: 1, outcome: { retry: 'yes', retryAfterMs: 3_600_000 } });
    expect(d).toEqual({ retry: false, reason: 'max-age' });
  });

  it('checks do-not-retry before attempts and age', () => {
    const d = retryDecision({ ...base, attempts: 99, now: 1e15, outcome: { retry: 'no' } });
    expect(d).toEqual({ retry: false, reason: 'not-retryable' });
  });
});
