/** @module Parses a rule's `when` (manifest input) into a frozen WhenSpec, reporting every problem with its pointer. */
import { parseJsonPath } from '../delivery/json-path.js';
import { parseDuration } from '../durations.js';
import { invalid, type Problem } from '../errors.js';
import { AggregateFn, CompareOp, type WhenSpec } from './types.js';

/** Largest `count.atLeast` (the count window keeps this many timestamps per group). */
export const MAX_COUNT = 10_000;
/** Longest window or duration a condition accepts: 30 days. */
export const MAX_WINDOW_MS = 30 * 86_400_000;

const KINDS = ['for', 'count', 'absent', 'sequence', 'aggregate'] as const;
const COMMON = ['groupBy', 'debounce', 'cooldown'];
const FNS = Object.values(AggregateFn) as readonly string[];
const OPS = Object.values(CompareOp) as readonly string[];

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

class Reader {
  readonly problems: Problem[] = [];

  add(pointer: string, message: string): void {
    this.problems.push({ pointer, message });
  }

  duration(raw: unknown, pointer: string, min = 1): number {
    if (raw === undefined) {
      this.add(pointer, "is required; give a duration like '30s'");
      return 0;
    }
    let ms: number;
    try {
      ms = typeof raw === 'string' || typeof raw === 'number' ? parseDuration(raw, pointer) : Number.NaN;
    } catch {
      ms = Number.NaN;
    }
    if (Number.isNaN(ms))
      this.add(pointer, `${JSON.stringify(raw)} is not a duration; use e.g. '30s', '5m' or milliseconds`);
    else if (ms < min || ms > MAX_WINDOW_MS) this.add(pointer, `must be between ${min}ms and 30d, got ${ms}ms`);
    return ms;
  }

  optionalDuration(raw: unknown, pointer: string, fallback: number): number {
    return raw === undefined ? fallback : this.duration(raw, pointer, 0);
  }

  path(raw: unknown, pointer: string): string {
    if (typeof raw !== 'string' || raw === '') {
      this.add(pointer, "must be a field path such as 'subject' or 'data.instance'");
      return '';
    }
    const parsed = parseJsonPath(toJsonPath(raw));
    if (typeof parsed === 'string') this.add(pointer, `${JSON.stringify(raw)} ${parsed}`);
    return raw;
  }

  object(raw: unknown, pointer: string, allowed: readonly string[]): Obj {
    if (!isObj(raw)) {
      this.add(pointer, `must be an object with ${allowed.join(', ')}`);
      return {};
    }
    for (const key of Object.keys(raw)) {
      if (!allowed.includes(key)) this.add(`${pointer}/${key}`, `unknown field; allowed: ${allowed.join(', ')}`);
    }
    return raw;
  }

  oneOf(raw: unknown, pointer: string, allowed: readonly string[]): string {
    if (typeof raw !== 'string' || !allowed.includes(raw)) {
      this.add(pointer, `${JSON.stringify(raw)} is not one of ${allowed.join(', ')}`);
    }
    return String(raw);
  }

  id(raw: unknown, pointer: string): string {
    if (typeof raw !== 'string' || raw === '') this.add(pointer, 'must be a non-empty step id');
    return String(raw);
  }
}

/** Turns `data.cpu` or `$.data.cpu` into the JSONPath form the path reader takes. */
export function toJsonPath(text: string): string {
  return text.startsWith('$') ? text : `$.${text}`;
}

/**
 * Validates a `when` value and resolves it: durations ('30s' or ms) to milliseconds, defaults
 * (`debounce` 0, `cooldown` 0, `maxGap` = `for`) applied, frozen. Throws E_INVALID listing every
 * problem with its JSON pointer (under `pointer`, e.g. `/spec/when`).
 */
export function parseWhen(input: unknown, pointer: string): WhenSpec {
  const r = new Reader();
  const obj = r.object(input, pointer, [...KINDS, ...COMMON, 'maxGap']);
  const kinds = KINDS.filter((k) => obj[k] !== undefined);
  if (isObj(input) && kinds.length !== 1) {
    const found = kinds.length === 0 ? 'none' : kinds.join(' and ');
    r.add(pointer, `needs exactly one of ${KINDS.join(', ')} (found ${found})`);
  }
  const common = {
    ...(obj.groupBy === undefined ? {} : { groupBy: r.path(obj.groupBy, `${pointer}/groupBy`) }),
    debounce: r.optionalDuration(obj.debounce, `${pointer}/debounce`, 0),
    cooldown: r.optionalDuration(obj.cooldown, `${pointer}/cooldown`, 0),
  };
  if (obj.maxGap !== undefined && kinds[0] !== 'for') r.add(`${pointer}/maxGap`, "only applies to 'for'; remove it");
  const spec = kinds.length === 1 ? parseKind(r, obj, pointer, kinds[0]!, common) : undefined;
  if (r.problems.length > 0 || spec === undefined) throw invalid('invalid when', r.problems);
  return deepFreeze(spec);
}

function parseKind(r: Reader, obj: Obj, pointer: string, kind: (typeof KINDS)[number], common: Obj): WhenSpec {
  const at = `${pointer}/${kind}`;
  switch (kind) {
    case 'for': {
      const ms = r.duration(obj.for, at);
      return { ...common, for: ms, maxGap: r.optionalDuration(obj.maxGap, `${pointer}/maxGap`, ms) } as WhenSpec;
    }
    case 'absent':
      return { ...common, absent: r.duration(obj.absent, at) } as WhenSpec;
    case 'count':
      return { ...common, count: parseCount(r, obj.count, at) } as WhenSpec;
    case 'sequence':
      if (common.debounce !== 0)
        r.add(`${pointer}/debounce`, 'does not apply to sequence (it fires on the second event); remove it');
      return { ...common, sequence: parseSequence(r, obj.sequence, at) } as WhenSpec;
    case 'aggregate':
      return { ...common, aggregate: parseAggregate(r, obj.aggregate, at) } as WhenSpec;
  }
}

function parseCount(r: Reader, raw: unknown, at: string): Obj {
  const o = r.object(raw, at, ['atLeast', 'within']);
  const n = o.atLeast;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > MAX_COUNT) {
    r.add(`${at}/atLeast`, `must be a whole number from 1 to ${MAX_COUNT}, got ${JSON.stringify(n)}`);
  }
  return { atLeast: n, within: r.duration(o.within, `${at}/within`) };
}

function parseSequence(r: Reader, raw: unknown, at: string): Obj {
  const o = r.object(raw, at, ['first', 'then', 'within']);
  const first = r.id(o.first, `${at}/first`);
  const then = r.id(o.then, `${at}/then`);
  if (first === then && typeof o.first === 'string')
    r.add(`${at}/then`, `must differ from first (${JSON.stringify(first)})`);
  return { first, then, within: r.duration(o.within, `${at}/within`) };
}

function parseAggregate(r: Reader, raw: unknown, at: string): Obj {
  const o = r.object(raw, at, ['fn', 'field', 'op', 'value', 'within']);
  const value = o.value;
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    r.add(`${at}/value`, `must be a finite number to compare with, got ${JSON.stringify(value)}`);
  }
  return {
    fn: r.oneOf(o.fn, `${at}/fn`, FNS),
    field: r.path(o.field, `${at}/field`),
    op: r.oneOf(o.op, `${at}/op`, OPS),
    value,
    within: r.duration(o.within, `${at}/within`),
  };
}

function deepFreeze<T>(value: T): T {
  if (isObj(value)) for (const v of Object.values(value)) deepFreeze(v);
  return Object.freeze(value);
}
