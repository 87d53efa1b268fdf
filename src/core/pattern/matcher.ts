/** @module The compiled matcher: every pattern in one structure. */
import type { Matcher } from './types.js';

export function createMatcher<Id>(): Matcher<Id> {
  throw new Error('not implemented yet');
}
