/** @module Retry math: exponential backoff with full jitter, and the retry-or-give-up decision. */
import type { RetryPolicy } from '../rules/types.js';

/** The most a `retryAfterMs` hint from an action may push a retry out (1 h). */
export const MAX_RETRY_AFTER_MS = 3_600_000;

/**
 * The wait before the retry that follows failed attempt number `attempt` (1 for the first
 * attempt): full jitter, a value in [0, min(maxDelayMs, initialDelayMs * 2^(attempt-1))].
 * `random` returns a number in [0, 1) (Math.random in production, a fixed sequence in tests).
 */
export function nextDelay(policy: RetryPolicy, attempt: number, random: () => number): number {
  const exponent = Math.max(0, Math.floor(attempt) - 1);
  const cap = Math.max(0, Math.min(policy.maxDelayMs, policy.initialDelayMs * 2 ** exponent));
  return Math.min(cap, Math.floor(random() * (cap + 1)));
}

/** What the failed attempt said about retrying (the failure half of a DeliveryOutcome). */
export interface FailureSignal {
  readonly retry: 'yes' | 'no';
  readonly retryAfterMs?: number;
}

export interface RetryInput {
  readonly policy: RetryPolicy;
  /** Attempts made so far, the failed one included. */
  readonly attempts: number;
  /** When the event was appended to the log (ms); `maxAgeMs` counts from here. */
  readonly firstSeenAt: number;
  readonly now: number;
  readonly outcome: FailureSignal;
  /** Source of jitter in [0, 1). Default Math.random. */
  readonly random?: () => number;
}

export type GiveUpReason = 'max-attempts' | 'max-age' | 'not-retryable';

export type RetryDecision =
  { readonly retry: true; readonly at: number } | { readonly retry: false; readonly reason: GiveUpReason };

/**
 * Decides whether a failed delivery is retried and when. Gives up when the action said
 * `retry: 'no'`, when `maxAttempts` are used up, or when the next attempt would fall after the
 * event's `maxAgeMs` (counted from `firstSeenAt`). The wait is the jittered backoff, but at least
 * the action's `retryAfterMs` (capped at 1 h).
 */
export function retryDecision(input: RetryInput): RetryDecision {
  const { policy, attempts, firstSeenAt, now, outcome } = input;
  if (outcome.retry === 'no') return { retry: false, reason: 'not-retryable' };
  if (attempts >= policy.maxAttempts) return { retry: false, reason: 'max-attempts' };
  const backoff = nextDelay(policy, attempts, input.random ?? Math.random);
  const hint = Math.min(MAX_RETRY_AFTER_MS, Math.max(0, outcome.retryAfterMs ?? 0));
  const at = now + Math.max(backoff, hint);
  if (at > firstSeenAt + policy.maxAgeMs) return { retry: false, reason: 'max-age' };
  return { retry: true, at };
}
