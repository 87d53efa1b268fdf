/** @module Whether one event leaf value satisfies one value matcher: the semantics every matcher shares. */
import { type Cidr, canonicalIp, cidrContains, parseCidr, parseIp } from './ip.js';
import type { AnythingBut, ValueMatcher } from './types.js';

/** A JSON leaf value as found in an event. */
export type Leaf = string | number | boolean | null;

/** A wildcard split at its unescaped stars: parts[0] * parts[1] * ... * parts[n-1]. */
export interface Glob {
  readonly parts: readonly string[];
}

/** Splits a (validated) wildcard into literal parts; `\*` is a literal star, `\\` a backslash. */
export function compileGlob(pattern: string): Glob {
  const parts: string[] = [];
  let current = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '\\' && i + 1 < pattern.length) {
      current += pattern[++i]!;
    } else if (c === '*') {
      parts.push(current);
      current = '';
    } else {
      current += c;
    }
  }
  parts.push(current);
  return { parts };
}

/** Glob match in O(n * m): first part anchored left, last anchored right, middle parts leftmost. */
export function globMatches(glob: Glob, value: string): boolean {
  const { parts } = glob;
  const first = parts[0]!;
  if (parts.length === 1) return value === first;
  const last = parts[parts.length - 1]!;
  if (value.length < first.length + last.length) return false;
  if (!value.startsWith(first) || !value.endsWith(last)) return false;
  let pos = first.length;
  const end = value.length - last.length;
  for (let i = 1; i < parts.length - 1; i++) {
    const part = parts[i]!;
    const at = value.indexOf(part, pos);
    if (at < 0 || at + part.length > end) return false;
    pos = at + part.length;
  }
  return true;
}

const globCache = new Map<string, Glob>();
const cidrCache = new Map<string, Cidr | undefined>();

function glob(pattern: string): Glob {
  let g = globCache.get(pattern);
  if (!g) {
    g = compileGlob(pattern);
    if (globCache.size < 100_000) globCache.set(pattern, g);
  }
  return g;
}

function cidr(text: string): Cidr | undefined {
  if (cidrCache.has(text)) return cidrCache.get(text);
  const c = parseCidr(text);
  if (cidrCache.size < 100_000) cidrCache.set(text, c);
  return c;
}

/** The value an exact string comparison uses: IP addresses in canonical form. */
export function exactKey(value: string): string {
  return canonicalIp(value);
}

function excluded(not: AnythingBut, value: Leaf): boolean {
  switch (not.kind) {
    case 'values':
      if (typeof value === 'string') {
        const key = exactKey(value);
        return not.values.some((v) => v === key);
      }
      return typeof value === 'number' && not.values.some((v) => v === value);
    case 'prefix':
      return typeof value === 'string' && not.values.some((p) => value.startsWith(p));
    case 'suffix':
      return typeof value === 'string' && not.values.some((s) => value.endsWith(s));
    case 'equals-ignore-case': {
      if (typeof value !== 'string') return false;
      const lower = value.toLowerCase();
      return not.values.some((v) => v.toLowerCase() === lower);
    }
    case 'wildcard':
      return typeof value === 'string' && not.values.some((w) => globMatches(glob(w), value));
  }
}

function inRange(m: Extract<ValueMatcher, { kind: 'numeric' }>, n: number): boolean {
  if (m.lower !== undefined && (m.lowerInclusive ? n < m.lower : n <= m.lower)) return false;
  if (m.upper !== undefined && (m.upperInclusive ? n > m.upper : n >= m.upper)) return false;
  return true;
}

/** True when the present leaf `value` satisfies `m` (`exists: false` is never satisfied by a value). */
export function valueMatches(m: ValueMatcher, value: Leaf): boolean {
  switch (m.kind) {
    case 'exact':
      return typeof value === 'string' && typeof m.value === 'string' ? exactKey(value) === m.value : value === m.value;
    case 'prefix':
      if (typeof value !== 'string') return false;
      return m.ignoreCase ? value.toLowerCase().startsWith(m.value.toLowerCase()) : value.startsWith(m.value);
    case 'suffix':
      if (typeof value !== 'string') return false;
      return m.ignoreCase ? value.toLowerCase().endsWith(m.value.toLowerCase()) : value.endsWith(m.value);
    case 'equals-ignore-case':
      return typeof value === 'string' && value.toLowerCase() === m.value.toLowerCase();
    case 'wildcard':
      return typeof value === 'string' && globMatches(glob(m.value), value);
    case 'numeric':
      return typeof value === 'number' && inRange(m, value);
    case 'cidr': {
      if (typeof value !== 'string') return false;
      const range = cidr(m.value);
      const ip = parseIp(value);
      return range !== undefined && ip !== undefined && cidrContains(range, ip);
    }
    case 'exists':
      return m.value;
    case 'anything-but':
      return !excluded(m.not, value);
  }
}

/** True when a field with these matchers is satisfied by the field being absent. */
export function acceptsAbsence(matchers: readonly ValueMatcher[]): boolean {
  return matchers.some((m) => m.kind === 'exists' && !m.value);
}
