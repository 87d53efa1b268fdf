/** @module The naive reference matcher: direct evaluation of one pattern against one event. */
import type { Pattern } from './types.js';

/** True when `event` (a parsed JSON value) matches `pattern`. */
export function matchPattern(_pattern: Pattern, _event: unknown): boolean {
  throw new Error('not implemented yet');
}
