/** @module EventBridge event patterns: parse and validate, a naive reference matcher, the compiled matcher. */
export type * from './types.js';
export { DEFAULT_PATTERN_LIMITS, parsePattern, type ParsePatternOptions } from './parse.js';
export { matchPattern } from './naive.js';
export { explainPattern } from './explain.js';

export { createMatcher } from './matcher.js';
