import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { createTargetRegistry, validateAction } from '../../src/actions/registry.js';
import { createManualClock, systemClock } from '../../src/core/clock.js';
import { parseRuleManifest, type RuleValidationContext } from '../../src/core/rules/manifest.js';
import { CONDITION_FIRED_TYPE } from '../../src/core/rules/types.js';
import { conditionFingerprint, createRuleCondition, firedRuleOf, firingId } from '../../src/engine/condition-rule.js';
import type { LogRecord } from '../../src/ports/event-log.js';
import { createSqliteConditionStore } from '../../src/store/sqlite/condition-store.js';
import { openStateDatabase } from '../../src/store/sqlite/state.js';

const ctx: RuleValidationContext = { knownActions: ['log'], validateAction: () => [] };
const rule = (spec: Record<string, unknown>, name = 'r') =>
  parseRuleManifest({ apiVersion: 'homeostat/v1', kind: 'Rule', metadata: { name }, spec }, ctx);

let offset = 0;
const record = (appendedAt: number, event: Record<string, unknown> = {}): LogRecord => ({
  offset: offset++,
  partition: 0,
  partitionKey: 'k',
  appendedAt,
  event: { specversion: '1.0', id: `e${offset}`, source: '/t', type: 'x', ...event },
});

describe('a rule condition', () => {
  it('gives a firing the same id for the same rule, generation, group, time and trigger, and another otherwise', () => {
    const firing = { group: 'g', at: 5, detail: {} };
    const trigger = record(5).event;
    const id = firingId('r', 1, firing, trigger);
    expect(firingId('r', 1, { ...firing }, { ...trigger })).toBe(id);
    expect(id).toMatch(/^hsc1-[0-9a-f]{32}$/);
    const others = [
      firingId('r2', 1, firing, trigger),
      firingId('r', 2, firing, trigger),
      firingId('r', 1, { ...firing, group: 'h' }, trigger),
      firingId('r', 1, { ...firing, at: 6 }, trigger),
      firingId('r', 1, firing, { ...trigger, id: 'other' }),
      firingId('r', 1, firing),
    ];
    expect(new Set([id, ...others]).size).toBe(7);
  });

  it('has a fingerprint that ignores key order and targets but not the match or when', () => {
    const base = rule({ match: { type: ['a'], source: ['s'] }, when: { count: { atLeast: 2, within: '1m' } } });
    const reordered = rule({
      when: { count: { within: 60_000, atLeast: 2 } },
      match: { source: ['s'], type: ['a'] },
      targets: [{ action: 'log' }],
    });
    expect(conditionFingerprint(reordered)).toBe(conditionFingerprint(base));
    const otherWhen = rule({ match: { type: ['a'], source: ['s'] }, when: { count: { atLeast: 3, within: '1m' } } });
    const otherMatch = rule({ match: { type: ['b'], source: ['s'] }, when: { count: { atLeast: 2, within: '1m' } } });
    expect(conditionFingerprint(otherWhen)).not.toBe(conditionFingerprint(base));
    expect(conditionFingerprint(otherMatch)).not.toBe(conditionFingerprint(base));
  });

  it('knows its own fired events by type and source only', () => {
    expect(firedRuleOf({ ...record(0).event, type: CONDITION_FIRED_TYPE, source: 'homeostat/rules/x' })).toBe('x');
    expect(firedRuleOf({ ...record(0).event, type: CONDITION_FIRED_TYPE, source: '/elsewhere' })).toBeUndefined();
    expect(firedRuleOf({ ...record(0).event, source: 'homeostat/rules/x' })).toBeUndefined();
  });

  it('runs the deadlines up to an event before the event: a silence fires before the event that ends it', () => {
    const cond = createRuleCondition(rule({ match: { type: ['x'] }, when: { absent: '10s', groupBy: 'subject' } }), 1);
    expect(cond.feed(record(0, { subject: 'a' }))).toEqual([]);
    const fired = cond.feed(record(10_000, { subject: 'a' }));
    expect(fired.map((f) => [f.event.subject, (f.event.data as { at: string }).at, f.trigger])).toEqual([
      ['a', new Date(10_000).toISOString(), undefined],
    ]);
  });

  it('restores a snapshot: the restored condition fires the same firing as the original', () => {
    const spec = rule({ match: { type: ['x'] }, when: { count: { atLeast: 3, within: '1m' } } });
    const a = createRuleCondition(spec, 4);
    a.feed(record(0));
    a.feed(record(1));
    const b = createRuleCondition(spec, 4, { snapshot: a.state.snapshot() });
    const trigger = record(2);
    expect(b.feed(trigger).map((f) => f.event.id)).toEqual(a.feed(trigger).map((f) => f.event.id));
  });
});

describe('the SQLite condition store', () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });

  it('upserts, advances without ever lowering an offset, and removes rows in one save', async () => {
    dir = mkdtempSync(join(tmpdir(), 'homeostat-condition-store-'));
    const db = openStateDatabase({ path: join(dir, 'state.db'), fsync: 'normal' });
    const clock = createManualClock(1000);
    const store = createSqliteConditionStore(db, clock);
    const row = (rule: string, offset: number) => ({
      rule,
      fingerprint: 'f',
      generation: 1,
      offset,
      snapshot: { v: 1, groups: [[rule, { n: offset }]] },
      savedAt: 5,
    });
    await store.save({ put: [row('a', 10), row('b', 50), row('c', 1)] });
    clock.set(2000);
    await store.save({ remove: ['c'], advance: { rules: ['a', 'b', 'missing'], offset: 20 } });
    expect((await store.list()).map((r) => [r.rule, r.offset, r.savedAt, r.snapshot])).toEqual([
      ['a', 20, 2000, { v: 1, groups: [['a', { n: 10 }]] }],
      ['b', 50, 5, { v: 1, groups: [['b', { n: 50 }]] }],
    ]);
    db.close();
    await expect(store.list()).rejects.toMatchObject({ code: 'E_CLOSED' });
  });
});

describe('the examples in examples/rules/conditions', () => {
  it('are valid rules, each with a when', async () => {
    const dir = new URL('../../examples/rules/conditions/', import.meta.url);
    const targets = createTargetRegistry({
      logger: pino({ level: 'silent' }),
      publish: async () => [],
      exec: { allow: {} },
      clock: systemClock,
    });
    const real = { validateAction: validateAction(targets), knownActions: [...targets.keys()] };
    const files = readdirSync(dir).filter((f) => f.endsWith('.yaml'));
    expect(files.length).toBeGreaterThanOrEqual(5);
    const kinds = files.map((f) => {
      const spec = parseRuleManifest(parseYaml(readFileSync(new URL(f, dir), 'utf8')), real);
      return Object.keys(spec.when ?? {}).find((k) => ['for', 'count', 'absent', 'sequence', 'aggregate'].includes(k));
    });
    expect(kinds.sort()).toEqual(['absent', 'aggregate', 'count', 'for', 'sequence']);
    await targets.close();
  });
});
