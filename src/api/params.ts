/** @module Query-string parsing for the API: lists, integers and times, with errors naming the parameter. */
import { parseDuration } from '../core/durations.js';
import { ErrorCode, HomeostatError } from '../core/errors.js';
import { isRfc3339 } from '../core/event.js';

export type Query = Record<string, string | string[] | undefined>;

function bad(name: string, value: unknown, allowed: string): HomeostatError {
  return new HomeostatError(
    ErrorCode.INVALID,
    `query parameter '${name}': ${JSON.stringify(value)} is not allowed; ${allowed}`,
    {
      problems: [{ pointer: `?${name}`, message: allowed }],
    },
  );
}

function single(q: Query, name: string): string | undefined {
  const v = q[name];
  return Array.isArray(v) ? v[v.length - 1] : v;
}

/** Repeated or comma-separated values: `?type=a&type=b` or `?type=a,b`. */
export function listParam(q: Query, name: string): string[] | undefined {
  const v = q[name];
  if (v === undefined) return undefined;
  const values = (Array.isArray(v) ? v : [v]).flatMap((s) => s.split(',')).filter((s) => s.length > 0);
  return values.length > 0 ? values : undefined;
}

export function intParam(q: Query, name: string, min: number, max: number): number | undefined {
  const v = single(q, name);
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) throw bad(name, v, `use an integer from ${min} to ${max}`);
  return n;
}

/** A time: RFC 3339, epoch milliseconds, or a duration ago such as '15m'. */
export function timeParam(q: Query, name: string, now: number): number | undefined {
  const v = single(q, name);
  if (v === undefined || v === '') return undefined;
  if (/^\d{10,}$/.test(v)) return Number(v);
  if (isRfc3339(v)) return Date.parse(v);
  try {
    return now - parseDuration(v, name);
  } catch {
    throw bad(name, v, `use an RFC 3339 time (2026-11-24T10:00:00Z), epoch milliseconds, or a duration ago (15m)`);
  }
}

export function enumParam<T extends string>(q: Query, name: string, allowed: readonly T[]): T | undefined {
  const v = single(q, name);
  if (v === undefined || v === '') return undefined;
  if (!allowed.includes(v as T)) throw bad(name, v, `use one of ${allowed.join(', ')}`);
  return v as T;
}
