/** @module Field readers for sim inputs: each collects a problem with its JSON pointer instead of throwing. */
import { type Problem, hasCode, ErrorCode, pointerSegment } from '../../core/errors.js';
import { parseDuration } from '../../core/durations.js';

export type Fields = Readonly<Record<string, unknown>>;

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Reads the fields of one object, collecting problems under `base`. */
export class Reader {
  constructor(
    readonly fields: Fields,
    readonly base: string,
    readonly problems: Problem[],
  ) {}

  pointer(key: string): string {
    return `${this.base}/${pointerSegment(key)}`;
  }

  problem(key: string, message: string): void {
    this.problems.push({ pointer: key === '' ? this.base : this.pointer(key), message });
  }

  /** Reports keys not in `allowed`. */
  only(allowed: readonly string[]): void {
    for (const key of Object.keys(this.fields)) {
      if (!allowed.includes(key)) this.problem(key, `unknown field; allowed: ${allowed.join(', ')}`);
    }
  }

  /** A finite number >= `min` (and <= `max`); `fallback` when absent, or a problem if none. */
  number(key: string, fallback: number | undefined, min = 0, max = Number.POSITIVE_INFINITY): number {
    const raw = this.fields[key];
    if (raw === undefined && fallback !== undefined) return fallback;
    if (typeof raw !== 'number' || !Number.isFinite(raw) || raw < min || raw > max) {
      const range = max === Number.POSITIVE_INFINITY ? `>= ${min}` : `between ${min} and ${max}`;
      this.problem(key, `${JSON.stringify(raw) ?? 'missing'}: expected a number ${range}`);
      return fallback ?? min;
    }
    return raw;
  }

  /** An integer >= `min`. */
  integer(key: string, fallback: number | undefined, min = 0): number {
    const value = this.number(key, fallback, min);
    if (!Number.isInteger(value)) this.problem(key, `${value}: expected a whole number`);
    return value;
  }

  /** A duration ('30s', '5m' or ms) in ms. */
  duration(key: string, fallback: number | undefined): number {
    const raw = this.fields[key];
    if (raw === undefined && fallback !== undefined) return fallback;
    if (typeof raw !== 'number' && typeof raw !== 'string') {
      this.problem(key, `${JSON.stringify(raw) ?? 'missing'}: expected a duration such as '30s' or a number of ms`);
      return fallback ?? 0;
    }
    try {
      return parseDuration(raw, this.pointer(key));
    } catch (err) {
      if (!hasCode(err, ErrorCode.INVALID)) throw err;
      this.problem(key, `${JSON.stringify(raw)}: expected a duration such as '30s' or a number of ms`);
      return fallback ?? 0;
    }
  }

  /** A string; one of `choices` when given. */
  string<T extends string>(key: string, fallback: T | undefined, choices?: readonly T[]): T {
    const raw = this.fields[key];
    if (raw === undefined && fallback !== undefined) return fallback;
    if (typeof raw !== 'string' || raw === '' || (choices !== undefined && !choices.includes(raw as T))) {
      const expected = choices === undefined ? 'a non-empty string' : `one of ${choices.join(', ')}`;
      this.problem(key, `${JSON.stringify(raw) ?? 'missing'}: expected ${expected}`);
      return fallback ?? ((choices?.[0] ?? '') as T);
    }
    return raw as T;
  }

  /** An optional string (undefined when absent). */
  optionalString(key: string): string | undefined {
    return this.fields[key] === undefined ? undefined : this.string(key, undefined);
  }

  /** A nested object, read with its own reader; an empty one when absent and `optional`. */
  object(key: string, optional: boolean): Reader {
    const raw = this.fields[key];
    if (raw === undefined && optional) return new Reader({}, this.pointer(key), this.problems);
    if (!isRecord(raw)) {
      this.problem(key, `${JSON.stringify(raw) ?? 'missing'}: expected an object`);
      return new Reader({}, this.pointer(key), this.problems);
    }
    return new Reader(raw, this.pointer(key), this.problems);
  }

  /** A non-empty array of objects, each with its own reader. */
  objects(key: string): Reader[] {
    const raw = this.fields[key];
    if (!Array.isArray(raw) || raw.length === 0) {
      this.problem(key, `${JSON.stringify(raw) ?? 'missing'}: expected a non-empty list`);
      return [];
    }
    return raw.flatMap((item, i) => {
      if (isRecord(item)) return [new Reader(item, `${this.pointer(key)}/${i}`, this.problems)];
      this.problems.push({ pointer: `${this.pointer(key)}/${i}`, message: 'expected an object' });
      return [];
    });
  }
}
