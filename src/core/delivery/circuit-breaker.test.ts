import { describe, expect, it } from 'vitest';
import { createCircuitBreaker } from './circuit-breaker.js';

const policy = { failureThreshold: 3, cooldownMs: 1_000 };

describe('createCircuitBreaker', () => {
  it('starts closed and lets every delivery pass', () => {
    const cb = createCircuitBreaker(policy);
    expect(cb.state).toBe('closed');
    expect(cb.canPass(0)).toBe(true);
    expect(cb.canPass(0)).toBe(true);
  });

  it('opens after failureThreshold consecutive failures and holds deliveries for cooldownMs', () => {
    const cb = createCircuitBreaker(policy);
    cb.onFailure(10);
    cb.onFailure(20);
    expect(cb.state).toBe('closed');
    cb.onFailure(30);
    expect(cb.state).toBe('open');
    expect(cb.openUntil).toBe(1_030);
    expect(cb.canPass(500)).toBe(false);
    expect(cb.canPass(1_029)).toBe(false);
  });

  it('counts only consecutive failures: a success resets the count', () => {
    const cb = createCircuitBreaker(policy);
    cb.onFailure(1);
    cb.onFailure(2);
    cb.onSuccess(3);
    cb.onFailure(4);
    cb.onFailure(5);
    expect(cb.state).toBe('closed');
    expect(cb.failures).toBe(2);
  });

  it('lets exactly one trial through after the cooldown', () => {
    const cb = createCircuitBreaker(policy);
    for (let i = 0; i < 3; i++) cb.onFailure(0);
    expect(cb.canPass(1_000)).toBe(true);
    expect(cb.state).toBe('half-open');
    expect(cb.canPass(1_001)).toBe(false);
    expect(cb.canPass(1_999)).toBe(false);
    expect(cb.openUntil).toBe(2_000);
  });

  it('replaces a trial that never reports after another cooldown, so it cannot stay stuck', () => {
    const cb = createCircuitBreaker(policy);
    for (let i = 0; i < 3; i++) cb.onFailure(0);
    expect(cb.canPass(1_000)).toBe(true);
    expect(cb.canPass(1_500)).toBe(false);
    expect(cb.canPass(2_000)).toBe(true);
    expect(cb.state).toBe('half-open');
    expect(cb.canPass(2_001)).toBe(false);
  });

  it('closes when the trial succeeds', () => {
    const cb = createCircuitBreaker(policy);
    for (let i = 0; i < 3; i++) cb.onFailure(0);
    cb.canPass(1_000);
    cb.onSuccess(1_100);
    expect(cb.state).toBe('closed');
    expect(cb.openUntil).toBeUndefined();
    expect(cb.canPass(1_101)).toBe(true);
    expect(cb.canPass(1_101)).toBe(true);
  });

  it('reopens for another cooldown when the trial fails', () => {
    const cb = createCircuitBreaker(policy);
    for (let i = 0; i < 3; i++) cb.onFailure(0);
    cb.canPass(1_000);
    cb.onFailure(1_200);
    expect(cb.state).toBe('open');
    expect(cb.openUntil).toBe(2_200);
    expect(cb.canPass(2_199)).toBe(false);
    expect(cb.canPass(2_200)).toBe(true);
  });

  it('does not extend the cooldown for late failures of attempts started before it opened', () => {
    const cb = createCircuitBreaker(policy);
    for (let i = 0; i < 3; i++) cb.onFailure(0);
    cb.onFailure(900);
    expect(cb.openUntil).toBe(1_000);
  });

  it('is disabled by a threshold of 0: never opens', () => {
    const cb = createCircuitBreaker({ failureThreshold: 0, cooldownMs: 1_000 });
    for (let i = 0; i < 100; i++) cb.onFailure(i);
    expect(cb.state).toBe('closed');
    expect(cb.canPass(100)).toBe(true);
  });
});
