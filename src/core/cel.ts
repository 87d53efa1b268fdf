/**
 * @module CEL (Common Expression Language, https://cel.dev) over JSON values: compile once with
 * `compileCel`, evaluate many times with `evaluateCel` / `evaluateCelBoolean`. Used by policies
 * (CompliancePolicy `violation`) and workflows (step conditions).
 *
 * - Compilation checks the syntax, the nesting depth, the functions called and (when `variables`
 *   is given) the variables referenced; every problem is a HomeostatError E_INVALID whose problem
 *   pointer is the field the expression came from and whose message gives the line and column.
 * - Bindings are plain JSON: a number without a fraction becomes a CEL `int`, any other number a
 *   `double`; objects become maps, arrays lists. CEL compares `int` and `double` with each other
 *   (`x.price < 1`), but arithmetic needs one type (`double(x.price) * 24.0`).
 * - Results are plain JSON: `int`/`uint` become numbers (strings beyond ±2^53), maps objects,
 *   lists arrays, `bytes` base64, timestamps RFC 3339 strings, durations `'1.5s'`, types their name.
 * - `matches` uses RE2 (linear time, no catastrophic backtracking). The `strings` extension
 *   (`lowerAscii`, `split`, `join`, `replace`, `trim`, `indexOf`, `substring`, `format`, ...) is on.
 * - Pure: no I/O. Evaluation is bounded by the expression's size (at most 4,096 characters and 32
 *   levels of brackets); comprehensions over large lists cost what they iterate.
 */
import {
  type CelInput,
  type CelValue,
  celEnv,
  isCelError,
  isCelList,
  isCelMap,
  isCelType,
  isCelUint,
  parse,
  plan,
} from '@bufbuild/cel';
import { strings } from '@bufbuild/cel/ext';
import { ErrorCode, HomeostatError } from './errors.js';
import { closest } from './rules/manifest-reader.js';

/** Longest expression accepted, in characters. */
export const CEL_MAX_LENGTH = 4096;
/** Deepest nesting of (), [] and {} accepted. */
export const CEL_MAX_DEPTH = 32;

export interface CompileCelOptions {
  /**
   * The variables the expression may use. When given, any other identifier is a compile error
   * (with a "did you mean" hint); when absent, identifiers are only checked at evaluation.
   */
  readonly variables?: readonly string[];
}

/** A compiled expression; reusable and safe to share. */
export interface CelProgram {
  /** The expression as written. */
  readonly source: string;
  /** Where it came from (a JSON pointer such as `/spec/violation`), named in every error. */
  readonly pointer: string;
  /** The top-level variables it references (comprehension variables excluded). */
  readonly references: ReadonlySet<string>;
}

type Evaluate = (bindings: Record<string, CelInput>) => unknown;

interface Compiled {
  readonly evaluate: Evaluate;
  readonly positions: Readonly<Record<string, number>>;
}

const env = celEnv({ funcs: strings });
const programs = new WeakMap<CelProgram, Compiled>();
/** Type names usable as values (`type(x) == int`). */
const TYPE_IDENTS = new Set([
  'int',
  'uint',
  'double',
  'bool',
  'string',
  'bytes',
  'list',
  'map',
  'null_type',
  'type',
  'dyn',
]);

/**
 * Compiles `expr`. Throws HomeostatError E_INVALID with one problem at `pointer` naming the line,
 * column and fix: a syntax error, an unknown function, an unknown variable (with `variables`),
 * too long or too deeply nested.
 */
export function compileCel(expr: string, pointer: string, options: CompileCelOptions = {}): CelProgram {
  if (typeof expr !== 'string' || expr.trim() === '') throw celInvalid(pointer, 'must be a non-empty CEL expression');
  if (expr.length > CEL_MAX_LENGTH)
    throw celInvalid(pointer, `is ${expr.length} characters long; the limit is ${CEL_MAX_LENGTH}`);
  const nesting = scanBrackets(expr);
  if (nesting.problem === undefined && nesting.depth > CEL_MAX_DEPTH) {
    throw celInvalid(pointer, `nests brackets ${nesting.depth} deep; the limit is ${CEL_MAX_DEPTH}`);
  }
  let ast: ReturnType<typeof parse>;
  try {
    ast = parse(expr);
  } catch (err) {
    throw celInvalid(pointer, syntaxMessage(expr, err, nesting.problem), err);
  }
  const positions = ast.sourceInfo?.positions ?? {};
  const references = new Set<string>();
  const problem = checkTree(ast.expr, new Set(), references, options.variables);
  if (problem !== undefined) {
    const where = problem.id === undefined ? '' : `${at(expr, positions[problem.id.toString()])}: `;
    throw celInvalid(pointer, `${where}${problem.message}`);
  }
  const evaluate = plan(env, ast) as Evaluate;
  const program: CelProgram = Object.freeze({ source: expr, pointer, references });
  programs.set(program, { evaluate, positions });
  return program;
}

/**
 * Evaluates a compiled expression with JSON bindings and returns the result as JSON. Throws
 * HomeostatError E_INVALID (problem at the program's pointer) when a referenced variable has no
 * binding or evaluation fails (a missing key, mismatched types, division by zero, ...).
 */
export function evaluateCel(program: CelProgram, bindings: Readonly<Record<string, unknown>>): unknown {
  const compiled = programs.get(program);
  if (compiled === undefined)
    throw new HomeostatError(ErrorCode.INTERNAL, 'evaluateCel: not a program from compileCel');
  const input: Record<string, CelInput> = {};
  for (const name of program.references) {
    if (!(name in bindings) || bindings[name] === undefined) {
      throw celInvalid(program.pointer, `no value for variable '${name}'; bound: ${Object.keys(bindings).join(', ')}`);
    }
    input[name] = toCelInput(bindings[name]);
  }
  let result: unknown;
  try {
    result = compiled.evaluate(input);
  } catch (err) {
    result = err;
  }
  if (isCelError(result) || result instanceof Error) {
    const id = isCelError(result) ? result.exprId : undefined;
    const where = id === undefined ? '' : ` at ${at(program.source, compiled.positions[id.toString()])}`;
    throw celInvalid(
      program.pointer,
      `evaluation failed${where}: ${result.message}${evaluationHint(result.message)}`,
      result,
    );
  }
  return fromCel(result as CelValue);
}

/** {@link evaluateCel}, requiring a `bool` result (a condition). */
export function evaluateCelBoolean(program: CelProgram, bindings: Readonly<Record<string, unknown>>): boolean {
  const value = evaluateCel(program, bindings);
  if (typeof value === 'boolean') return value;
  throw celInvalid(
    program.pointer,
    `must evaluate to true or false, not ${JSON.stringify(value)}; compare the value, e.g. x == 1 or size(x) > 0`,
  );
}

function celInvalid(pointer: string, message: string, cause?: unknown): HomeostatError {
  return new HomeostatError(ErrorCode.INVALID, `${pointer}: ${message}`, {
    problems: [{ pointer, message }],
    ...(cause === undefined ? {} : { cause }),
  });
}

/** `line L, column C` of a character offset (1-based; the expression may span lines). */
function at(source: string, offset: number | undefined): string {
  if (offset === undefined) return 'the expression';
  const before = source.slice(0, offset);
  const line = before.split('\n').length;
  const column = offset - before.lastIndexOf('\n');
  return `line ${line}, column ${column}`;
}

interface PeggyError {
  readonly location?: { readonly start?: { readonly offset?: number } };
  readonly found?: string | null;
  readonly expected?: readonly { readonly description?: string; readonly text?: string; readonly type?: string }[];
}

function syntaxMessage(source: string, err: unknown, lexical: string | undefined): string {
  if (err instanceof RangeError) return `is nested too deeply to parse; simplify it`;
  const e = err as PeggyError;
  const offset = e.location?.start?.offset;
  const expected = [...new Set((e.expected ?? []).map((x) => x.description ?? x.text ?? x.type ?? '?'))].filter(
    (x) => x !== 'end' && x !== 'end of input',
  );
  // The parser stops where the longest valid start of the expression ends, which is often before
  // the real mistake: say what follows, and the lexical problem (unclosed quote or bracket) if any.
  const rest = offset === undefined ? '' : source.slice(offset, offset + 20).trimEnd();
  const what = rest === '' ? 'unexpected end of the expression' : `cannot parse from '${rest}' on`;
  const wanted = expected.length > 0 && expected.length <= 6 ? ` (expected ${expected.join(', ')})` : '';
  const hint = lexical ?? trailingOperator(source) ?? 'check operators, operands, brackets and quotes';
  return `syntax error at ${at(source, offset)}: ${what}${wanted}; ${hint}`;
}

const OPERATOR_AT_END = /(==|!=|<=|>=|&&|\|\||[-+*/%<>!?:.,]|\bin)\s*$/;

function trailingOperator(source: string): string | undefined {
  const m = OPERATOR_AT_END.exec(source);
  return m ? `the expression ends with '${m[1]}', which needs an operand after it` : undefined;
}

/**
 * The deepest bracket nesting, and the first lexical problem (a quote or bracket never closed, a
 * bracket that closes nothing), which explains many parse errors better than the parser can.
 */
function scanBrackets(source: string): { depth: number; problem?: string } {
  const stack: { ch: string; offset: number }[] = [];
  const pairs: Record<string, string> = { ')': '(', ']': '[', '}': '{' };
  let depth = 0;
  for (let i = 0; i < source.length; i++) {
    const ch = source[i]!;
    if (ch === '"' || ch === "'") {
      const end = skipString(source, i);
      if (end === undefined) return { depth, problem: `the string opened at ${at(source, i)} is never closed` };
      i = end;
      continue;
    }
    if (ch === '(' || ch === '[' || ch === '{') {
      stack.push({ ch, offset: i });
      depth = Math.max(depth, stack.length);
    } else if (ch in pairs) {
      const open = stack.pop();
      if (open === undefined || open.ch !== pairs[ch]) {
        return { depth, problem: `'${ch}' at ${at(source, i)} closes nothing` };
      }
    }
  }
  const open = stack.pop();
  if (open !== undefined) return { depth, problem: `'${open.ch}' at ${at(source, open.offset)} is never closed` };
  return { depth };
}

/** The index of the closing quote of the string literal opening at `start`; undefined when unclosed. */
function skipString(source: string, start: number): number | undefined {
  const quote = source[start]!;
  const triple = source.startsWith(quote.repeat(3), start);
  const raw = start > 0 && /[rR]/.test(source[start - 1]!);
  const end = triple ? quote.repeat(3) : quote;
  for (let i = start + end.length; i < source.length; i++) {
    if (!raw && source[i] === '\\') i++;
    else if (source.startsWith(end, i)) return i + end.length - 1;
  }
  return undefined;
}

interface TreeProblem {
  readonly id?: bigint;
  readonly message: string;
}

/** The parsed expression tree (cel.expr.Expr), reduced to what the checks read. */
interface Node {
  readonly id: bigint;
  readonly exprKind: { readonly case: string | undefined; readonly value?: unknown };
}

/** Walks the tree: collects referenced variables, checks functions and (optionally) variable names. */
function checkTree(
  node: Node | undefined,
  scope: ReadonlySet<string>,
  references: Set<string>,
  variables: readonly string[] | undefined,
): TreeProblem | undefined {
  if (node === undefined) return undefined;
  const walk = (child: Node | undefined, inner = scope) => checkTree(child, inner, references, variables);
  const { case: kind, value } = node.exprKind;
  switch (kind) {
    case 'identExpr': {
      const name = (value as { name: string }).name;
      if (scope.has(name) || TYPE_IDENTS.has(name)) return undefined;
      if (variables !== undefined && !variables.includes(name)) {
        const hint = closest(name, variables);
        const known = variables.length > 0 ? `the variables are ${variables.join(', ')}` : 'no variables are bound';
        return {
          id: node.id,
          message: `unknown variable '${name}'; ${hint ? `did you mean '${hint}'? ` : ''}${known}`,
        };
      }
      references.add(name);
      return undefined;
    }
    case 'selectExpr':
      return walk((value as { operand?: Node }).operand);
    case 'callExpr': {
      const call = value as { function: string; target?: Node; args: readonly Node[] };
      if (/^[A-Za-z]/.test(call.function) && env.funcs.find(call.function) === undefined) {
        return { id: node.id, message: `unknown function '${call.function}'` };
      }
      for (const child of [call.target, ...call.args]) {
        const p = walk(child);
        if (p) return p;
      }
      return undefined;
    }
    case 'listExpr':
      for (const child of (value as { elements: readonly Node[] }).elements) {
        const p = walk(child);
        if (p) return p;
      }
      return undefined;
    case 'structExpr':
      for (const entry of (value as { entries: readonly { keyKind: { value?: unknown }; value?: Node }[] }).entries) {
        const key = entry.keyKind.value;
        const p = (typeof key === 'object' ? walk(key as Node) : undefined) ?? walk(entry.value);
        if (p) return p;
      }
      return undefined;
    case 'comprehensionExpr': {
      const c = value as {
        iterVar: string;
        iterVar2: string;
        accuVar: string;
        iterRange?: Node;
        accuInit?: Node;
        loopCondition?: Node;
        loopStep?: Node;
        result?: Node;
      };
      const inner = new Set([...scope, c.iterVar, c.iterVar2, c.accuVar].filter((v) => v !== ''));
      return (
        walk(c.iterRange) ??
        walk(c.accuInit) ??
        walk(c.loopCondition, inner) ??
        walk(c.loopStep, inner) ??
        walk(c.result, new Set([...scope, c.accuVar]))
      );
    }
    default:
      return undefined;
  }
}

function evaluationHint(message: string): string {
  if (message.startsWith('field not found') || message.startsWith('no such key')) {
    return "; test for it first: has(x.field) for a field, 'key' in x for a map key";
  }
  if (message.startsWith('found no matching overload')) {
    return '; the operand types do not fit: convert with int(), double() or string()';
  }
  return '';
}

/** JSON → CEL input: integral numbers as int, objects as maps; `undefined` members are left out. */
export function toCelInput(value: unknown): CelInput {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number') return Number.isSafeInteger(value) ? BigInt(value) : value;
  if (typeof value === 'bigint') return value;
  if (Array.isArray(value)) return value.map((v: unknown) => (v === undefined ? null : toCelInput(v)));
  if (value instanceof Date) return value.toISOString();
  if (typeof value === 'object') {
    const map = new Map<string, CelInput>();
    for (const [k, v] of Object.entries(value)) if (v !== undefined) map.set(k, toCelInput(v));
    return map;
  }
  throw new HomeostatError(ErrorCode.INVALID, `a CEL binding holds a ${typeof value}, which is not JSON`);
}

/** CEL value → JSON (see the module comment for the mapping). */
export function fromCel(value: CelValue): unknown {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number') return Number.isFinite(value) ? value : null;
  if (typeof value === 'bigint') return bigintToJson(value);
  if (isCelUint(value)) return bigintToJson(value.value);
  if (value instanceof Uint8Array) return base64(value);
  if (isCelList(value)) return [...value].map((v) => fromCel(v));
  if (isCelMap(value)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of value) out[String(isCelUint(k) ? k.value : k)] = fromCel(v);
    return out;
  }
  if (isCelType(value)) return value.name;
  return messageToJson(value);
}

function base64(bytes: Uint8Array): string {
  let binary = '';
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary);
}

function bigintToJson(n: bigint): number | string {
  return n >= BigInt(Number.MIN_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n.toString();
}

/** Timestamps and durations (protobuf messages inside CEL) in their JSON forms. */
function messageToJson(value: unknown): unknown {
  const message = (value as { message?: { $typeName?: string; seconds?: bigint; nanos?: number } }).message;
  const seconds = Number(message?.seconds ?? 0n);
  const nanos = message?.nanos ?? 0;
  if (message?.$typeName === 'google.protobuf.Timestamp') return new Date(seconds * 1000 + nanos / 1e6).toISOString();
  if (message?.$typeName === 'google.protobuf.Duration') return `${seconds + nanos / 1e9}s`;
  throw new HomeostatError(
    ErrorCode.INVALID,
    `a CEL result of type ${message?.$typeName ?? 'unknown'} has no JSON form`,
  );
}
