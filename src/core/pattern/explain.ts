/** @module Explains why a pattern does (not) match an event, for `rules test`. */
import type { MatchExplanation, Pattern } from './types.js';

export function explainPattern(_pattern: Pattern, _event: unknown): MatchExplanation {
  throw new Error('not implemented yet');
}
