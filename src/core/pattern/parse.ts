/** @module Pattern parsing and validation (EventBridge / event-ruler pattern language). */
import { ErrorCode, invalid, pointerSegment, type Problem } from '../errors.js';
import { parseCidr } from './ip.js';
import type { AnythingBut, Branch, FieldCondition, Pattern, PatternLimits, ValueMatcher } from './types.js';
import { exactKey } from './values.js';

export const DEFAULT_PATTERN_LIMITS: PatternLimits = Object.freeze({
  maxFields: 64,
  maxValuesPerField: 256,
  maxBranches: 256,
  maxWildcardStars: 16,
  maxDepth: 16,
  maxValueLength: 4096,
});

export interface ParsePatternOptions {
  readonly limits?: Partial<PatternLimits>;
  /** Prefix for problem pointers, e.g. '/spec/match'. */
  readonly pointer?: string;
}

const OPERATORS = ['prefix', 'suffix', 'equals-ignore-case', 'wildcard', 'anything-but', 'numeric', 'exists', 'cidr'];

/** A parsed object: its own fields plus `$or` groups, each a list of alternative objects. */
interface Node {
  readonly fields: FieldCondition[];
  readonly ors: Node[][];
}

class Parser {
  readonly problems: Problem[] = [];
  constructor(
    readonly limits: PatternLimits,
    readonly base: string,
  ) {}

  fail(pointer: string, message: string): undefined {
    this.problems.push({ pointer: this.base + pointer, message });
    return undefined;
  }

  object(obj: Record<string, unknown>, path: string, pointer: string, depth: number, node: Node): void {
    if (depth > this.limits.maxDepth) {
      this.fail(pointer, `nested deeper than ${this.limits.maxDepth} levels (limit maxDepth)`);
      return;
    }
    for (const [key, value] of Object.entries(obj)) {
      const ptr = `${pointer}/${pointerSegment(key)}`;
      if (key === '$or' && Array.isArray(value)) {
        this.or(value, path, ptr, depth, node);
        continue;
      }
      const fieldPath = path === '' ? key : `${path}.${key}`;
      if (Array.isArray(value)) {
        const matchers = this.valueList(value, ptr);
        if (matchers) node.fields.push({ path: fieldPath, pointer: this.base + ptr, matchers });
      } else if (isObject(value)) {
        if (Object.keys(value).length === 0) this.fail(ptr, 'an empty object matches nothing; give field conditions');
        else this.object(value, fieldPath, ptr, depth + 1, node);
      } else {
        this.fail(ptr, `must be an array of values or an object of fields, e.g. [${JSON.stringify(value)}]`);
      }
    }
  }

  or(alternatives: unknown[], path: string, pointer: string, depth: number, node: Node): void {
    if (alternatives.length < 2) {
      this.fail(pointer, '$or needs an array of at least two pattern objects');
      return;
    }
    const group: Node[] = [];
    alternatives.forEach((alt, i) => {
      if (!isObject(alt) || Object.keys(alt).length === 0) {
        this.fail(`${pointer}/${i}`, '$or alternatives must be non-empty pattern objects');
        return;
      }
      const child: Node = { fields: [], ors: [] };
      this.object(alt, path, `${pointer}/${i}`, depth + 1, child);
      group.push(child);
    });
    node.ors.push(group);
  }

  valueList(values: unknown[], pointer: string): ValueMatcher[] | undefined {
    if (values.length === 0) return this.fail(pointer, 'an empty list matches nothing; give at least one value');
    let count = 0;
    const out: ValueMatcher[] = [];
    values.forEach((v, i) => {
      const m = this.value(v, `${pointer}/${i}`);
      if (!m) return;
      count += m.kind === 'anything-but' ? m.not.values.length : 1;
      out.push(m);
    });
    if (count > this.limits.maxValuesPerField) {
      return this.fail(
        pointer,
        `${count} values in one field; at most ${this.limits.maxValuesPerField} (limit maxValuesPerField)`,
      );
    }
    return out.length === values.length ? out : undefined;
  }

  value(v: unknown, pointer: string): ValueMatcher | undefined {
    if (v === null || typeof v === 'boolean') return { kind: 'exact', value: v };
    if (typeof v === 'number') return this.number(v, pointer) ? { kind: 'exact', value: v } : undefined;
    if (typeof v === 'string') return this.string(v, pointer) ? { kind: 'exact', value: exactKey(v) } : undefined;
    if (Array.isArray(v)) return this.fail(pointer, 'nested arrays are not allowed in a value list');
    if (!isObject(v)) return this.fail(pointer, 'unsupported value');
    const keys = Object.keys(v);
    if (keys.length !== 1) {
      return this.fail(pointer, `an operator object has exactly one key, one of: ${OPERATORS.join(', ')}`);
    }
    const op = keys[0]!;
    return this.operator(op, v[op], `${pointer}/${pointerSegment(op)}`);
  }

  operator(op: string, arg: unknown, pointer: string): ValueMatcher | undefined {
    switch (op) {
      case 'prefix':
      case 'suffix':
        return this.affix(op, arg, pointer);
      case 'equals-ignore-case':
        return this.string(arg, pointer) ? { kind: 'equals-ignore-case', value: arg } : undefined;
      case 'wildcard':
        return this.wildcard(arg, pointer) ? { kind: 'wildcard', value: arg } : undefined;
      case 'numeric':
        return this.numeric(arg, pointer);
      case 'exists':
        return typeof arg === 'boolean' ? { kind: 'exists', value: arg } : this.fail(pointer, 'must be true or false');
      case 'cidr':
        if (!this.string(arg, pointer)) return undefined;
        return parseCidr(arg)
          ? { kind: 'cidr', value: arg }
          : this.fail(pointer, `'${arg}' is not CIDR notation; e.g. 10.0.0.0/8 or 2001:db8::/32`);
      case 'anything-but': {
        const not = this.anythingBut(arg, pointer);
        return not ? { kind: 'anything-but', not } : undefined;
      }
      default:
        return this.fail(pointer, `unknown operator '${op}'; allowed: ${OPERATORS.join(', ')}`);
    }
  }

  affix(op: 'prefix' | 'suffix', arg: unknown, pointer: string): ValueMatcher | undefined {
    if (isObject(arg)) {
      const keys = Object.keys(arg);
      if (keys.length !== 1 || keys[0] !== 'equals-ignore-case') {
        return this.fail(pointer, `${op} takes a string or { "equals-ignore-case": "<string>" }`);
      }
      const inner = arg['equals-ignore-case'];
      return this.string(inner, `${pointer}/equals-ignore-case`)
        ? { kind: op, value: inner, ignoreCase: true }
        : undefined;
    }
    return this.string(arg, pointer) ? { kind: op, value: arg, ignoreCase: false } : undefined;
  }

  numeric(arg: unknown, pointer: string): ValueMatcher | undefined {
    const hint = 'e.g. [">", 0, "<=", 5] or ["=", 300]';
    if (!Array.isArray(arg) || (arg.length !== 2 && arg.length !== 4)) {
      return this.fail(pointer, `numeric takes [op, number] or [">"|">=", low, "<"|"<=", high]; ${hint}`);
    }
    for (let i = 1; i < arg.length; i += 2) {
      if (!this.number(arg[i], `${pointer}/${i}`)) return undefined;
    }
    const [op1, n1, op2, n2] = arg as [unknown, number, unknown, number | undefined];
    const lowerOps = ['>', '>='];
    const upperOps = ['<', '<='];
    if (arg.length === 2) {
      if (op1 === '=') return { kind: 'numeric', lower: n1, lowerInclusive: true, upper: n1, upperInclusive: true };
      if (lowerOps.includes(op1 as string))
        return { kind: 'numeric', lower: n1, lowerInclusive: op1 === '>=', upperInclusive: false };
      if (upperOps.includes(op1 as string))
        return { kind: 'numeric', upper: n1, upperInclusive: op1 === '<=', lowerInclusive: false };
      return this.fail(`${pointer}/0`, `unknown numeric operator ${JSON.stringify(op1)}; use =, <, <=, >, >=`);
    }
    if (!lowerOps.includes(op1 as string)) return this.fail(`${pointer}/0`, `a range starts with > or >=; ${hint}`);
    if (!upperOps.includes(op2 as string)) return this.fail(`${pointer}/2`, `a range ends with < or <=; ${hint}`);
    if (!(n1 < n2!)) return this.fail(pointer, `the lower bound ${n1} must be below the upper bound ${n2}`);
    return { kind: 'numeric', lower: n1, lowerInclusive: op1 === '>=', upper: n2, upperInclusive: op2 === '<=' };
  }

  anythingBut(arg: unknown, pointer: string): AnythingBut | undefined {
    if (typeof arg === 'string')
      return this.string(arg, pointer) ? { kind: 'values', values: [exactKey(arg)] } : undefined;
    if (typeof arg === 'number') return this.number(arg, pointer) ? { kind: 'values', values: [arg] } : undefined;
    if (Array.isArray(arg)) return this.anythingButList(arg, pointer);
    if (!isObject(arg) || Object.keys(arg).length !== 1) {
      return this.fail(
        pointer,
        'anything-but takes a string, a number, a list of them, or one of { prefix | suffix | equals-ignore-case | wildcard }',
      );
    }
    const op = Object.keys(arg)[0]!;
    const inner = arg[op];
    const ptr = `${pointer}/${pointerSegment(op)}`;
    if (!['prefix', 'suffix', 'equals-ignore-case', 'wildcard'].includes(op)) {
      return this.fail(ptr, `anything-but cannot take '${op}'; allowed: prefix, suffix, equals-ignore-case, wildcard`);
    }
    const list = Array.isArray(inner) ? inner : [inner];
    if (list.length === 0) return this.fail(ptr, 'give at least one value');
    const ok = list.every((s, i) => {
      const p = Array.isArray(inner) ? `${ptr}/${i}` : ptr;
      if (op === 'wildcard') return this.wildcard(s, p);
      if (!this.string(s, p)) return false;
      if (s === '' && (op === 'prefix' || op === 'suffix')) {
        return this.fail(p, `an empty ${op} would exclude every string; give at least one character`) ?? false;
      }
      return true;
    });
    return ok ? ({ kind: op, values: list as string[] } as AnythingBut) : undefined;
  }

  anythingButList(list: unknown[], pointer: string): AnythingBut | undefined {
    if (list.length === 0) return this.fail(pointer, 'anything-but needs at least one value');
    const strings = list.every((v) => typeof v === 'string');
    const numbers = list.every((v) => typeof v === 'number');
    if (!strings && !numbers) return this.fail(pointer, 'an anything-but list holds only strings or only numbers');
    const ok = list.every((v, i) => (strings ? this.string(v, `${pointer}/${i}`) : this.number(v, `${pointer}/${i}`)));
    if (!ok) return undefined;
    return { kind: 'values', values: strings ? (list as string[]).map(exactKey) : (list as number[]) };
  }

  string(v: unknown, pointer: string): v is string {
    if (typeof v !== 'string') return this.fail(pointer, 'must be a string') ?? false;
    if (v.length > this.limits.maxValueLength) {
      return (
        this.fail(pointer, `${v.length} characters; at most ${this.limits.maxValueLength} (limit maxValueLength)`) ??
        false
      );
    }
    return true;
  }

  number(v: unknown, pointer: string): v is number {
    if (typeof v !== 'number' || !Number.isFinite(v)) return this.fail(pointer, 'must be a finite number') ?? false;
    return true;
  }

  wildcard(v: unknown, pointer: string): v is string {
    if (!this.string(v, pointer)) return false;
    let stars = 0;
    for (let i = 0; i < v.length; i++) {
      const c = v[i];
      if (c === '\\') {
        const next = v[i + 1];
        if (next !== '*' && next !== '\\') {
          return this.fail(pointer, `invalid escape at position ${i}: only \\* and \\\\ are allowed`) ?? false;
        }
        i++;
      } else if (c === '*') {
        if (v[i + 1] === '*')
          return this.fail(pointer, `consecutive wildcards at position ${i}; use a single *`) ?? false;
        stars++;
      }
    }
    if (stars > this.limits.maxWildcardStars) {
      return (
        this.fail(pointer, `${stars} wildcards; at most ${this.limits.maxWildcardStars} (limit maxWildcardStars)`) ??
        false
      );
    }
    return true;
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Expands `$or` groups into branches (a conjunction each), stopping past the cap. */
function expand(node: Node, cap: number): FieldCondition[][] | undefined {
  let branches: FieldCondition[][] = [node.fields];
  for (const group of node.ors) {
    const next: FieldCondition[][] = [];
    for (const alt of group) {
      const altBranches = expand(alt, cap);
      if (!altBranches) return undefined;
      for (const b of branches) for (const a of altBranches) next.push([...b, ...a]);
      if (next.length > cap) return undefined;
    }
    branches = next;
  }
  return branches;
}

function toBranch(fields: FieldCondition[], parser: Parser): Branch | undefined {
  const sorted = [...fields].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i]!.path === sorted[i - 1]!.path) {
      return parser.fail(
        '',
        `field '${sorted[i]!.path}' is given twice (by nesting and by a dotted key); give it once`,
      );
    }
  }
  if (sorted.length > parser.limits.maxFields) {
    return parser.fail('', `${sorted.length} fields; at most ${parser.limits.maxFields} per pattern (limit maxFields)`);
  }
  return { fields: sorted };
}

function readInput(input: unknown, parser: Parser): Record<string, unknown> | undefined {
  let value = input;
  if (typeof input === 'string') {
    try {
      value = JSON.parse(input);
    } catch (e) {
      return parser.fail('', `not valid JSON: ${(e as Error).message}`);
    }
  }
  if (!isObject(value))
    return parser.fail('', 'a pattern is a JSON object of fields, e.g. {"type": ["host.cpu.high"]}');
  if (Object.keys(value).length === 0) {
    return parser.fail('', 'an empty pattern is not allowed; to match every event use {"id": [{"exists": true}]}');
  }
  return value;
}

/**
 * Parses a pattern given as a JSON value or as JSON text (duplicate keys: last wins).
 * Throws E_INVALID with one problem per error, each with a JSON pointer into the pattern.
 */
export function parsePattern(input: unknown, options: ParsePatternOptions = {}): Pattern {
  const limits = { ...DEFAULT_PATTERN_LIMITS, ...options.limits };
  const parser = new Parser(limits, options.pointer ?? '');
  const source = readInput(input, parser);
  const root: Node = { fields: [], ors: [] };
  if (source) parser.object(source, '', '', 1, root);
  const expanded = parser.problems.length === 0 ? expand(root, limits.maxBranches) : [];
  if (!expanded) parser.fail('', `$or expands to more than ${limits.maxBranches} alternatives (limit maxBranches)`);
  const branches = (expanded ?? []).map((fields) => toBranch(fields, parser));
  if (parser.problems.length > 0 || !source) throw invalid('invalid pattern', parser.problems, ErrorCode.INVALID);
  const paths = [...new Set(branches.flatMap((b) => b!.fields.map((f) => f.path)))].sort();
  return { branches: branches as Branch[], paths, source };
}
