/** @module The benchmark's rule groups (ruler-bench/patterns) compiled into our pattern model. */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Pattern, parsePattern } from '../../src/core/pattern/index.js';
import { RULER_BENCH } from './data.js';

export interface RuleGroup {
  readonly name: string;
  readonly rules: readonly { readonly name: string; readonly source: unknown; readonly pattern: Pattern }[];
}

interface GroupFile {
  readonly group: string;
  readonly rules?: readonly { name: string; pattern: unknown; pattern_text?: string }[];
  /** Combination groups: every rule of these groups, in this order. */
  readonly groups_in_order?: readonly string[];
}

/** Every group file in name order; rules r0..rN in file order, parsed from their original text. */
export function loadGroups(): RuleGroup[] {
  const dir = join(RULER_BENCH, 'patterns');
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((file) => JSON.parse(readFileSync(join(dir, file), 'utf8')) as GroupFile);
  const byName = new Map<string, RuleGroup>();
  for (const g of files.filter((f) => f.rules)) {
    const rules = g.rules!.map((r) => ({
      name: r.name,
      source: r.pattern,
      pattern: parsePattern(r.pattern_text ?? r.pattern),
    }));
    byName.set(g.group, { name: g.group, rules });
  }
  return files.map((g) => {
    if (g.rules) return byName.get(g.group)!;
    const rules = (g.groups_in_order ?? []).flatMap((name) => byName.get(name)?.rules ?? []);
    return { name: g.group, rules: rules.map((r, i) => ({ ...r, name: `r${i}` })) };
  });
}
