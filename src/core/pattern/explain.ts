/** @module Explains why a pattern does (not) match an event, for `rules test`. */
import { type FlatEvent, flattenEvent, searchBranch } from './flatten.js';
import type { FieldCondition, MatchExplanation, Pattern, ValueMatcher } from './types.js';
import { acceptsAbsence, valueMatches } from './values.js';

function describe(m: ValueMatcher): string {
  switch (m.kind) {
    case 'exact':
      return JSON.stringify(m.value);
    case 'prefix':
    case 'suffix':
      return `${m.kind}${m.ignoreCase ? ' (ignoring case)' : ''} ${JSON.stringify(m.value)}`;
    case 'numeric': {
      const lo = m.lower === undefined ? '' : `${m.lowerInclusive ? '>=' : '>'} ${m.lower}`;
      const hi = m.upper === undefined ? '' : `${m.upperInclusive ? '<=' : '<'} ${m.upper}`;
      return m.lower === m.upper ? `numeric = ${m.lower}` : `numeric ${[lo, hi].filter(Boolean).join(' and ')}`;
    }
    case 'exists':
      return m.value ? 'exists' : 'does not exist';
    case 'anything-but':
      return `anything but ${m.not.kind === 'values' ? '' : `${m.not.kind} `}${JSON.stringify(m.not.values)}`;
    default:
      return `${m.kind} ${JSON.stringify(m.value)}`;
  }
}

function reason(field: FieldCondition, flat: FlatEvent): string {
  const values = flat.get(field.path) ?? [];
  const wanted = field.matchers.map(describe).join(' or ');
  if (values.length === 0) return `the event has no value at '${field.path}'; the pattern wants ${wanted}`;
  const shown = values
    .slice(0, 5)
    .map((v) => JSON.stringify(v.value))
    .join(', ');
  const anyMatch = values.some((v) => field.matchers.some((m) => valueMatches(m, v.value)));
  if (anyMatch) {
    return `'${field.path}' has a matching value, but not in the same array element as the fields matched before it`;
  }
  if (acceptsAbsence(field.matchers) && field.matchers.length === 1) {
    return `'${field.path}' is present (${shown}) but the pattern wants it absent`;
  }
  return `'${field.path}' is ${shown}${values.length > 5 ? ', ...' : ''}; the pattern wants ${wanted}`;
}

/** Whether `pattern` matches `event` and, if not, the first failing field of each branch. */
export function explainPattern(pattern: Pattern, event: unknown): MatchExplanation {
  const flat = flattenEvent(event);
  const failures: { pointer: string; path: string; reason: string }[] = [];
  for (const branch of pattern.branches) {
    const result = searchBranch(branch, flat);
    if (result.matched) return { matched: true, failures: [] };
    const field = branch.fields[result.failedField]!;
    failures.push({ pointer: field.pointer, path: field.path, reason: reason(field, flat) });
  }
  return { matched: false, failures };
}
