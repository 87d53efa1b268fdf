/** @module Hand-written manifest field readers: each collects problems with JSON pointers and applies a default. */
import { parseDuration } from '../durations.js';
import { pointerSegment, type Problem } from '../errors.js';

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const UNITS: readonly (readonly [string, number])[] = [
  ['d', 86_400_000],
  ['h', 3_600_000],
  ['m', 60_000],
  ['s', 1000],
];

/** Writes milliseconds in the largest unit that divides them: 90000 → '90s', 3600000 → '1h'. */
export function formatDuration(ms: number): string {
  for (const [unit, size] of UNITS) if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  return `${ms}ms`;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      row.push(Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + cost));
    }
    prev = row;
  }
  return prev[b.length]!;
}

/** The candidate closest to `word` (ignoring case) when it is a plausible typo of it, else undefined. */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  const lower = word.toLowerCase();
  let best: string | undefined;
  let bestDistance = Math.max(1, Math.floor(word.length / 3)) + 1;
  for (const c of candidates) {
    const d = editDistance(lower, c.toLowerCase());
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  return best;
}

/** A deep copy of a JSON value, frozen at every level. */
export function freezeCopy<T>(value: T): T {
  if (Array.isArray(value)) return Object.freeze(value.map((v: unknown) => freezeCopy(v))) as T;
  if (isRecord(value)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = freezeCopy(v);
    return Object.freeze(out) as T;
  }
  return value;
}

/** Reads manifest fields, collecting every problem instead of stopping at the first. */
export interface ManifestReader {
  readonly problems: Problem[];
  add(pointer: string, message: string): void;
  /** The value as an object, or a problem "must be <what>" (also when missing). */
  object(value: unknown, at: string, what: string): Record<string, unknown> | undefined;
  /** The value as an object; `{}` when missing, or (with a problem) when not an object. */
  optionalObject(value: unknown, at: string, what: string): Record<string, unknown>;
  /** Reports fields not in `allowed`, with a "did you mean" hint when one is close. */
  fields(obj: Record<string, unknown>, at: string, allowed: readonly string[]): void;
  boolean(value: unknown, at: string, fallback: boolean): boolean;
  /** An optional string of at most `max` characters. */
  text(value: unknown, at: string, max: number): string | undefined;
  integer(value: unknown, at: string, min: number, max: number, fallback: number): number;
  /** A duration ('10s', '5m', or a number of ms) from `min` to `max` ms. */
  duration(value: unknown, at: string, min: number, max: number, fallback: number): number;
  formatDuration(ms: number): string;
}

/** A reader with an empty problem list. */
export function newReader(): ManifestReader {
  const problems: Problem[] = [];
  const add = (pointer: string, message: string): void => {
    problems.push({ pointer, message });
  };
  const kind = (v: unknown) => (Array.isArray(v) ? 'a list' : v === null ? 'null' : JSON.stringify(v));
  return {
    problems,
    add,
    formatDuration,
    object(value, at, what) {
      if (isRecord(value)) return value;
      add(at, value === undefined ? `required: ${what}` : `must be ${what}, not ${kind(value)}`);
      return undefined;
    },
    optionalObject(value, at, what) {
      if (value === undefined) return {};
      if (isRecord(value)) return value;
      add(at, `must be ${what}, not ${kind(value)}`);
      return {};
    },
    fields(obj, at, allowed) {
      for (const key of Object.keys(obj)) {
        if (allowed.includes(key)) continue;
        const hint = closest(key, allowed);
        const mean = hint ? `did you mean '${hint}'? ` : '';
        add(`${at}/${pointerSegment(key)}`, `unknown field '${key}'; ${mean}allowed here: ${allowed.join(', ')}`);
      }
    },
    boolean(value, at, fallback) {
      if (value === undefined) return fallback;
      if (typeof value === 'boolean') return value;
      add(at, `must be true or false (default ${fallback}), not ${kind(value)}`);
      return fallback;
    },
    text(value, at, max) {
      if (value === undefined) return undefined;
      if (typeof value === 'string' && value.length <= max) return value;
      add(at, typeof value === 'string' ? `is longer than ${max} characters` : `must be a string, not ${kind(value)}`);
      return undefined;
    },
    integer(value, at, min, max, fallback) {
      if (value === undefined) return fallback;
      if (typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max) return value;
      add(at, `must be an integer from ${min} to ${max} (default ${fallback}), not ${kind(value)}`);
      return fallback;
    },
    duration(value, at, min, max, fallback) {
      if (value === undefined) return fallback;
      const ms = typeof value === 'string' || typeof value === 'number' ? tryDuration(value) : undefined;
      if (ms !== undefined && ms >= min && ms <= max) return ms;
      const range = `from ${formatDuration(min)} to ${formatDuration(max)}`;
      add(
        at,
        `must be a duration ${range} such as '30s' or '5m' (default ${formatDuration(fallback)}), not ${kind(value)}`,
      );
      return fallback;
    },
  };
}

function tryDuration(value: string | number): number | undefined {
  try {
    const ms = parseDuration(value);
    return Number.isFinite(ms) ? Math.round(ms) : undefined;
  } catch {
    return undefined;
  }
}
