/**
 * @module Workflow expressions: CEL (core/cel.ts) with the workflow's variables, plus a check that
 * `steps.<name>` names a step of the workflow. `evaluate` returns failures as data, never throws.
 */
import { compileCel, evaluateCel } from '../cel.js';
import { hasCode } from '../errors.js';

/** A compiled expression. `evaluate` never throws. */
export interface Expression {
  readonly source: string;
  evaluate(bindings: Readonly<Record<string, unknown>>): ExprResult;
}

export type ExprResult =
  { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly message: string };

/** What an expression may refer to: its variables and, per variable, the fields it has (if fixed). */
export interface ExprScope {
  readonly variables: readonly string[];
  /** For `steps`: the step names, so `steps.typo` is reported when the workflow is applied. */
  readonly fields?: Readonly<Record<string, readonly string[]>>;
}

/** The source with the insides of string literals blanked, so names are only found in code. */
function blankStrings(source: string): string {
  let out = '';
  for (let i = 0; i < source.length; i++) {
    const c = source[i]!;
    if (c !== '"' && c !== "'") {
      out += c;
      continue;
    }
    const quote = source.startsWith(c.repeat(3), i) ? c.repeat(3) : c;
    let j = i + quote.length;
    while (j < source.length && !source.startsWith(quote, j)) j += source[j] === '\\' ? 2 : 1;
    out += `${quote}${' '.repeat(Math.max(0, Math.min(j, source.length) - i - quote.length))}${quote}`;
    i = j + quote.length - 1;
  }
  return out;
}

/** `[variable, field]` for every `variable.field` in the expression (not after a '.', not in a string). */
function selects(source: string, variables: readonly string[]): [string, string][] {
  const out: [string, string][] = [];
  const code = blankStrings(source);
  for (const variable of variables) {
    const re = new RegExp(`(^|[^.\\w])${variable}\\s*\\.\\s*([A-Za-z_][A-Za-z0-9_]*)`, 'g');
    for (const m of code.matchAll(re)) out.push([variable, m[2]!]);
  }
  return out;
}

function fieldProblems(source: string, scope: ExprScope): string[] {
  if (!scope.fields) return [];
  const problems: string[] = [];
  for (const [variable, field] of selects(source, Object.keys(scope.fields))) {
    const known = scope.fields[variable];
    if (!known || known.includes(field)) continue;
    const hint = known.some((k) => k.startsWith(`${field}-`))
      ? ` (a name with '-' is written ${variable}['name'])`
      : '';
    problems.push(`'${variable}.${field}': no such name; known: ${known.join(', ') || '(none)'}${hint}`);
  }
  return problems;
}

/** Compiles `source`; returns the expression, or the problems (syntax, unknown names) as messages. */
export function compileExpression(source: string, scope: ExprScope): Expression | string[] {
  let program: ReturnType<typeof compileCel>;
  try {
    program = compileCel(source, '', { variables: scope.variables });
  } catch (err) {
    if (!hasCode(err, 'E_INVALID')) throw err;
    return err.problems.length > 0 ? err.problems.map((p) => p.message) : [err.message];
  }
  const problems = fieldProblems(source, scope);
  if (problems.length > 0) return problems;
  return Object.freeze({
    source,
    evaluate(bindings: Readonly<Record<string, unknown>>): ExprResult {
      try {
        return { ok: true, value: evaluateCel(program, bindings) };
      } catch (err) {
        const e = err as { problems?: readonly { message: string }[]; message?: string };
        return { ok: false, message: `${source}: ${e.problems?.[0]?.message ?? e.message ?? String(err)}` };
      }
    },
  });
}

/** True for the values CEL conditions count as true (only the boolean `true`). */
export function isTrue(value: unknown): boolean {
  return value === true;
}
