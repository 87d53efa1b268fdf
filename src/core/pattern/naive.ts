/** @module The naive reference matcher: direct evaluation of one pattern against one event. */
import { flattenEvent, searchBranch } from './flatten.js';
import type { Pattern } from './types.js';

/** True when `event` (a parsed JSON value) matches `pattern`. */
export function matchPattern(pattern: Pattern, event: unknown): boolean {
  const flat = flattenEvent(event);
  return pattern.branches.some((branch) => searchBranch(branch, flat).matched);
}
