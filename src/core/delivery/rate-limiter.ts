/** @module Token-bucket rate limiter for a target's deliveries; time is passed in. */
import { ErrorCode, HomeostatError } from '../errors.js';
import type { RateLimit } from '../rules/types.js';

export interface RateLimiter {
  /** Takes a token when one is available and returns 0; otherwise returns the ms until one is. */
  tryTake(now: number): number;
}

/**
 * A bucket of `burst` tokens refilled at `perSecond`; it starts full at the first call. Time going
 * backwards refills nothing.
 */
export function createRateLimiter(limit: RateLimit): RateLimiter {
  if (!(limit.perSecond > 0) || !(limit.burst >= 1)) {
    throw new HomeostatError(
      ErrorCode.INVALID,
      `rate limit needs perSecond > 0 and burst >= 1 (got perSecond ${limit.perSecond}, burst ${limit.burst})`,
    );
  }
  const perMs = limit.perSecond / 1000;
  let tokens = limit.burst;
  let last: number | undefined;
  return {
    tryTake(now) {
      if (last !== undefined && now > last) tokens = Math.min(limit.burst, tokens + (now - last) * perMs);
      if (last === undefined || now > last) last = now;
      if (tokens >= 1) {
        tokens -= 1;
        return 0;
      }
      return Math.max(1, Math.ceil((1 - tokens) / perMs));
    },
  };
}
