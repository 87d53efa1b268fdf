/** @module Idempotency keys for deliveries and the ids of events that actions emit. */
import { sha256Hex } from './sha256.js';

/** Prefix of every key; bump the number if the derivation ever changes. */
export const IDEMPOTENCY_KEY_PREFIX = 'hst1-';

/**
 * The key of one delivery: the same (event source, event id, rule, target) always gives the same
 * key, and different ones give different keys. Each field is length-prefixed before hashing, so
 * no two tuples share an input. The result (`hst1-` + 32 hex digits, 128 bits of SHA-256) is safe
 * in URLs, headers, file names and CloudEvents ids. SHA-256 is implemented in core (sha256.ts).
 */
export function idempotencyKey(source: string, id: string, rule: string, target: string): string {
  let input = '';
  for (const field of [source, id, rule, target]) input += `${field.length}:${field}`;
  return IDEMPOTENCY_KEY_PREFIX + sha256Hex(input).slice(0, 32);
}

/**
 * The id of the `index`-th event an action emits for a delivery. Deterministic, so a repeated
 * delivery emits the same ids and the log suppresses the repeats as duplicates.
 */
export function emittedEventId(key: string, index: number): string {
  return `${key}.${index}`;
}
