/** @module Circuit breaker: pauses a failing target (closed → open → half-open) without dropping work. */
import type { CircuitBreakerPolicy } from '../rules/types.js';

export type CircuitState = 'closed' | 'open' | 'half-open';

/**
 * One target's breaker. It only says when deliveries may be tried; callers keep the deliveries
 * it holds back and ask again later, so pausing loses nothing.
 */
export interface CircuitBreaker {
  readonly state: CircuitState;
  /**
   * When the breaker next lets a delivery through while it holds them back (ms): the end of the
   * cooldown (open), or of the trial's grace period (half-open with the trial out). Undefined
   * when a delivery may pass now.
   */
  readonly openUntil: number | undefined;
  /** Consecutive failures counted while closed. */
  readonly failures: number;
  /**
   * True when a delivery may start now. Closed: always. Open: false until `openUntil`, then the
   * breaker turns half-open and lets exactly one trial through. Half-open: false while the trial
   * is out, for at most `cooldownMs`: a trial that never reports (the caller did not start it
   * after all) is replaced by a new one, so the breaker cannot stay stuck.
   */
  canPass(now: number): boolean;
  /** A delivery succeeded: the breaker closes and the failure count resets. */
  onSuccess(now: number): void;
  /** A delivery failed: counts towards the threshold; a failed trial reopens the breaker. */
  onFailure(now: number): void;
}

/**
 * Creates a breaker that opens after `failureThreshold` consecutive failures and stays open for
 * `cooldownMs`. A threshold of 0 disables it (always closed).
 */
export function createCircuitBreaker(policy: CircuitBreakerPolicy): CircuitBreaker {
  let state: CircuitState = 'closed';
  let failures = 0;
  let openUntil: number | undefined;
  let trialOut = false;
  let trialAt = 0;
  const enabled = policy.failureThreshold > 0;

  const open = (now: number): void => {
    state = 'open';
    openUntil = now + policy.cooldownMs;
    trialOut = false;
  };

  return {
    get state() {
      return state;
    },
    get openUntil() {
      return state === 'half-open' && trialOut ? trialAt + policy.cooldownMs : openUntil;
    },
    get failures() {
      return failures;
    },
    canPass(now) {
      if (state === 'closed') return true;
      if (state === 'open') {
        if (now < (openUntil ?? 0)) return false;
        state = 'half-open';
        openUntil = undefined;
        trialOut = false;
      }
      if (trialOut && now < trialAt + policy.cooldownMs) return false;
      trialOut = true;
      trialAt = now;
      return true;
    },
    onSuccess() {
      state = 'closed';
      failures = 0;
      openUntil = undefined;
      trialOut = false;
    },
    onFailure(now) {
      if (!enabled) return;
      // A late failure of an attempt started before the breaker opened does not extend the cooldown.
      if (state === 'open') return;
      if (state === 'half-open') return open(now);
      failures++;
      if (failures >= policy.failureThreshold) open(now);
    },
  };
}
