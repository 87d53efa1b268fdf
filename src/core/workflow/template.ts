/**
 * @module `${ <CEL> }` templates inside JSON values (a workflow step's `with`, `payload`, `match`,
 * an approval's summary). A string that is exactly one `${...}` becomes the expression's value with
 * its type (a number, an object, ...); otherwise each `${...}` is replaced by its value as text
 * (strings as is, other values as JSON). `$${` writes a literal `${`.
 */
import { pointerSegment, type Problem } from '../errors.js';
import { compileExpression, type Expression, type ExprScope } from './expr.js';

export type RenderResult =
  | { readonly ok: true; readonly value: unknown }
  | { readonly ok: false; readonly message: string; readonly pointer: string };

/** A compiled JSON value; `dynamic` is false when it holds no expression (render returns it as is). */
export interface JsonTemplate {
  readonly dynamic: boolean;
  /** The value as written in the manifest. */
  readonly source: unknown;
  render(bindings: Readonly<Record<string, unknown>>): RenderResult;
}

type Piece = string | { readonly expr: Expression };

/**
 * Finds the end of a `${` expression starting at `start` (just after the `${`): the index of its
 * closing `}`, skipping braces inside CEL string literals and nested `{...}` map literals; -1 if
 * it is not closed.
 */
function closingBrace(text: string, start: number): number {
  let depth = 0;
  for (let i = start; i < text.length; i++) {
    const c = text[i];
    if (c === '"' || c === "'") {
      const triple = text.startsWith(c.repeat(3), i);
      const quote = triple ? c.repeat(3) : c;
      i += quote.length;
      while (i < text.length && !text.startsWith(quote, i)) i += text[i] === '\\' ? 2 : 1;
      i += quote.length - 1;
    } else if (c === '{') depth++;
    else if (c === '}') {
      if (depth === 0) return i;
      depth--;
    }
  }
  return -1;
}

/** Splits a string into literal text and expressions; problems name the column of each `${`. */
function splitString(text: string, scope: ExprScope, problems: string[]): Piece[] {
  const pieces: Piece[] = [];
  let literal = '';
  for (let i = 0; i < text.length; i++) {
    if (text.startsWith('$${', i)) {
      literal += '${';
      i += 2;
      continue;
    }
    if (!text.startsWith('${', i)) {
      literal += text[i];
      continue;
    }
    const end = closingBrace(text, i + 2);
    if (end < 0) {
      problems.push(`the \${ at column ${i + 1} is not closed with }; write $\${ for a literal \${`);
      return pieces;
    }
    const compiled = compileExpression(text.slice(i + 2, end).trim(), scope);
    if (Array.isArray(compiled)) problems.push(...compiled.map((m) => `in \${...} at column ${i + 1}: ${m}`));
    else {
      if (literal) pieces.push(literal);
      literal = '';
      pieces.push({ expr: compiled });
    }
    i = end;
  }
  if (literal) pieces.push(literal);
  return pieces;
}

function asText(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value ?? null);
}

type Node = (bindings: Readonly<Record<string, unknown>>, at: string) => RenderResult;

function stringNode(text: string, pieces: Piece[]): Node | undefined {
  if (pieces.every((p) => typeof p === 'string')) return undefined;
  const only = pieces.length === 1 ? pieces[0] : undefined;
  if (only !== undefined && typeof only !== 'string') {
    return (b, at) => {
      const r = only.expr.evaluate(b);
      return r.ok ? r : { ok: false, message: r.message, pointer: at };
    };
  }
  return (b, at) => {
    let out = '';
    for (const p of pieces) {
      if (typeof p === 'string') out += p;
      else {
        const r = p.expr.evaluate(b);
        if (!r.ok) return { ok: false, message: `${text}: ${r.message}`, pointer: at };
        out += asText(r.value);
      }
    }
    return { ok: true, value: out };
  };
}

function compileNode(value: unknown, at: string, scope: ExprScope, problems: Problem[]): Node | undefined {
  if (typeof value === 'string') {
    const messages: string[] = [];
    const pieces = splitString(value, scope, messages);
    for (const message of messages) problems.push({ pointer: at, message });
    if (messages.length > 0) return undefined;
    return (
      stringNode(value, pieces) ?? (value.includes('$${') ? () => ({ ok: true, value: pieces.join('') }) : undefined)
    );
  }
  if (Array.isArray(value)) {
    const items = value.map((v, i) => compileNode(v, `${at}/${i}`, scope, problems));
    if (items.every((n) => n === undefined)) return undefined;
    return (b, p) => {
      const out: unknown[] = [];
      for (let i = 0; i < value.length; i++) {
        const r = items[i] ? items[i]!(b, `${p}/${i}`) : { ok: true as const, value: value[i] };
        if (!r.ok) return r;
        out.push(r.value);
      }
      return { ok: true, value: out };
    };
  }
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value).map(
      ([k, v]) => [k, v, compileNode(v, `${at}/${pointerSegment(k)}`, scope, problems)] as const,
    );
    if (entries.every(([, , n]) => n === undefined)) return undefined;
    return (b, p) => {
      const out: Record<string, unknown> = {};
      for (const [k, v, n] of entries) {
        const r = n ? n(b, `${p}/${pointerSegment(k)}`) : { ok: true as const, value: v };
        if (!r.ok) return r;
        out[k] = r.value;
      }
      return { ok: true, value: out };
    };
  }
  return undefined;
}

/**
 * Compiles every `${...}` inside `value`. Problems carry the pointer of the string that holds the
 * expression (`at` + the path inside `value`); the template is undefined when there are problems.
 */
export function compileTemplate(
  value: unknown,
  at: string,
  scope: ExprScope,
): { template?: JsonTemplate; problems: Problem[] } {
  const problems: Problem[] = [];
  const node = compileNode(value, at, scope, problems);
  if (problems.length > 0) return { problems };
  const template: JsonTemplate = Object.freeze({
    dynamic: node !== undefined,
    source: value,
    render: (bindings: Readonly<Record<string, unknown>>): RenderResult =>
      node ? node(bindings, '') : { ok: true, value },
  });
  return { template, problems };
}

/** Pointers (relative to `value`) of the strings that hold a `${...}`: their final value is only known at run time. */
export function dynamicPointers(value: unknown, at = ''): string[] {
  if (typeof value === 'string') return value.replaceAll('$${', '').includes('${') ? [at] : [];
  if (Array.isArray(value)) return value.flatMap((v, i) => dynamicPointers(v, `${at}/${i}`));
  if (typeof value === 'object' && value !== null) {
    return Object.entries(value).flatMap(([k, v]) => dynamicPointers(v, `${at}/${pointerSegment(k)}`));
  }
  return [];
}

/** A copy of `value` with every string holding a `${...}` replaced by `placeholder` (for static checks). */
export function withPlaceholders(value: unknown, placeholder: string): unknown {
  if (typeof value === 'string') return dynamicPointers(value).length > 0 ? placeholder : value;
  if (Array.isArray(value)) return value.map((v) => withPlaceholders(v, placeholder));
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, withPlaceholders(v, placeholder)]));
  }
  return value;
}
