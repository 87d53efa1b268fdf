/**
 * @module The peer: json-rules-engine (a popular JS rules library) running the same groups.
 * Patterns are translated to its conditions with its built-in operators (in, notIn, equal,
 * lessThan, ...) plus small custom operators for what it lacks (prefix, suffix, ignore-case,
 * wildcard, presence). Groups it cannot express faithfully (array-consistent matching, CIDR)
 * are reported as not comparable rather than approximated.
 */
import { Engine, type NestedCondition, type TopLevelCondition } from 'json-rules-engine';
import type { FieldCondition, ValueMatcher } from '../../src/core/pattern/index.js';
import type { RuleGroup } from './groups.js';

const present = (v: unknown) => v !== undefined;
const isString = (v: unknown): v is string => typeof v === 'string';

function globRegex(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '\\') re += `\\${glob[++i]}`;
    else if (c === '*') re += '.*';
    else re += c.replace(/[.+?^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`, 's');
}

function addOperators(engine: Engine): void {
  engine.addOperator('present', (v) => present(v));
  engine.addOperator('absent', (v) => !present(v));
  engine.addOperator('startsWith', (v, p: string) => isString(v) && v.startsWith(p));
  engine.addOperator('endsWith', (v, p: string) => isString(v) && v.endsWith(p));
  engine.addOperator('startsWithCi', (v, p: string) => isString(v) && v.toLowerCase().startsWith(p.toLowerCase()));
  engine.addOperator('endsWithCi', (v, p: string) => isString(v) && v.toLowerCase().endsWith(p.toLowerCase()));
  engine.addOperator('equalsCi', (v, p: string) => isString(v) && v.toLowerCase() === p.toLowerCase());
  engine.addOperator('glob', (v, p: string) => isString(v) && globRegex(p).test(v));
  engine.addOperator('notIn', (v, list: unknown[]) => present(v) && !list.includes(v));
  engine.addOperator(
    'notInCi',
    (v, list: string[]) => present(v) && !(isString(v) && list.some((s) => s.toLowerCase() === v.toLowerCase())),
  );
  engine.addOperator(
    'notStartsWith',
    (v, list: string[]) => present(v) && !(isString(v) && list.some((p) => v.startsWith(p))),
  );
  engine.addOperator(
    'notEndsWith',
    (v, list: string[]) => present(v) && !(isString(v) && list.some((p) => v.endsWith(p))),
  );
  engine.addOperator(
    'notGlob',
    (v, list: string[]) => present(v) && !(isString(v) && list.some((p) => globRegex(p).test(v))),
  );
}

type Leaf = { fact: string; path: string; operator: string; value: unknown };

function matcherConditions(m: ValueMatcher, path: string): Leaf[] | undefined {
  const c = (operator: string, value: unknown): Leaf => ({ fact: 'event', path, operator, value });
  switch (m.kind) {
    case 'exact':
      return [c('equal', m.value)];
    case 'prefix':
      return [c(m.ignoreCase ? 'startsWithCi' : 'startsWith', m.value)];
    case 'suffix':
      return [c(m.ignoreCase ? 'endsWithCi' : 'endsWith', m.value)];
    case 'equals-ignore-case':
      return [c('equalsCi', m.value)];
    case 'wildcard':
      return [c('glob', m.value)];
    case 'exists':
      return [c(m.value ? 'present' : 'absent', null)];
    case 'numeric': {
      const out: Leaf[] = [];
      if (m.lower !== undefined) out.push(c(m.lowerInclusive ? 'greaterThanInclusive' : 'greaterThan', m.lower));
      if (m.upper !== undefined) out.push(c(m.upperInclusive ? 'lessThanInclusive' : 'lessThan', m.upper));
      return out;
    }
    case 'anything-but': {
      const op = {
        values: 'notIn',
        prefix: 'notStartsWith',
        suffix: 'notEndsWith',
        'equals-ignore-case': 'notInCi',
        wildcard: 'notGlob',
      };
      return [c(op[m.not.kind], m.not.values)];
    }
    case 'cidr':
      return undefined;
  }
}

function fieldCondition(field: FieldCondition): NestedCondition | undefined {
  const path = `$.${field.path}`;
  const alternatives: NestedCondition[] = [];
  for (const m of field.matchers) {
    const leaves = matcherConditions(m, path);
    if (!leaves) return undefined;
    alternatives.push(leaves.length === 1 ? leaves[0]! : { all: leaves });
  }
  return alternatives.length === 1 ? alternatives[0] : { any: alternatives };
}

/** An engine holding the group's rules, or why the group cannot be expressed. */
export function buildEngine(group: RuleGroup): Engine | string {
  if (group.rules.some((r) => r.pattern.paths.some((p) => p.startsWith('geometry.coordinates')))) {
    return 'array-consistent matching inside event arrays is not expressible';
  }
  const engine = new Engine([], { allowUndefinedFacts: true });
  addOperators(engine);
  for (const rule of group.rules) {
    const branches: TopLevelCondition[] = [];
    for (const branch of rule.pattern.branches) {
      const all = branch.fields.map(fieldCondition);
      if (all.some((c) => c === undefined)) return 'cidr has no equivalent';
      branches.push({ all: all as NestedCondition[] });
    }
    const conditions = branches.length === 1 ? branches[0]! : { any: branches as NestedCondition[] };
    engine.addRule({ conditions, event: { type: rule.name } });
  }
  return engine;
}

/** Runs `events` through the engine; per-rule match counts. */
export async function runEngine(
  engine: Engine,
  events: readonly unknown[],
  ruleNames: readonly string[],
): Promise<number[]> {
  const counts = new Map(ruleNames.map((n) => [n, 0]));
  for (const event of events) {
    const { events: fired } = await engine.run({ event });
    for (const e of fired) counts.set(e.type, (counts.get(e.type) ?? 0) + 1);
  }
  return ruleNames.map((n) => counts.get(n)!);
}
