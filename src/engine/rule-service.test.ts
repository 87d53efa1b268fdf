import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createManualClock } from '../core/clock.js';
import { ErrorCode, type HomeostatError } from '../core/errors.js';
import type { RuleValidationContext } from '../core/rules/manifest.js';
import type { RuleSpec } from '../core/rules/types.js';
import type { Target } from '../ports/target.js';
import type { SqliteDatabase } from '../store/sqlite/database.js';
import { createSqliteRuleStore } from '../store/sqlite/rule-store.js';
import { openStateDatabase } from '../store/sqlite/state.js';
import { createRuleService, type RuleService, ruleValidationContext } from './rule-service.js';

function target(action: string, validate: Target['validate'] = () => []): Target {
  return { action, validate, deliver: async () => ({ ok: true }) };
}

const registry = new Map<string, Target>([
  ['log', target('log')],
  ['http', target('http', (o) => (typeof o.url === 'string' ? [] : [{ pointer: '/url', message: 'required' }]))],
]);

function manifest(name: string, spec: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    apiVersion: 'homeostat/v1',
    kind: 'Rule',
    metadata: { name },
    spec: { match: { type: ['host.cpu.high'] }, targets: [{ action: 'log' }], ...spec },
  };
}

type Change = [string, boolean | undefined];

describe('RuleService', () => {
  let dir: string;
  let db: SqliteDatabase;
  let changes: Change[];
  let invalid: string[];
  const clock = createManualClock();

  function open(context: RuleValidationContext = ruleValidationContext(registry)): RuleService {
    return createRuleService({
      store: createSqliteRuleStore(db, clock),
      clock,
      context,
      onChange: (name: string, spec: RuleSpec | undefined) => changes.push([name, spec?.enabled]),
      onInvalid: (name) => invalid.push(name),
    });
  }

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'homeostat-rule-service-'));
    db = openStateDatabase({ path: join(dir, 'state.db'), fsync: 'normal' });
    changes = [];
    invalid = [];
  });
  afterEach(() => {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('creates, replaces and leaves unchanged a rule on apply, telling the router each change', async () => {
    const rules = open();
    await rules.load();
    const first = await rules.apply(manifest('cpu'));
    expect(first).toMatchObject({ created: true, changed: true, record: { generation: 1 } });
    const same = await rules.apply(manifest('cpu'));
    expect(same).toMatchObject({ created: false, changed: false, record: { generation: 1 } });
    const replaced = await rules.apply(manifest('cpu', { description: 'new' }));
    expect(replaced).toMatchObject({ created: false, changed: true, record: { generation: 2 } });
    expect(replaced.record.spec.description).toBe('new');
    expect(changes).toEqual([
      ['cpu', true],
      ['cpu', true],
    ]);
  });

  it('stores the manifest normalised to apiVersion, kind, metadata and spec', async () => {
    const rules = open();
    const doc = { spec: manifest('cpu').spec, metadata: { name: 'cpu' }, kind: 'Rule', apiVersion: 'homeostat/v1' };
    const { record } = await rules.apply(doc);
    expect(Object.keys(record.manifest)).toEqual(['apiVersion', 'kind', 'metadata', 'spec']);
    expect(record.manifest).toEqual(manifest('cpu'));
  });

  it('rejects an invalid manifest and stores nothing', async () => {
    const rules = open();
    await expect(rules.apply(manifest('cpu', { targets: [{ action: 'page' }] }))).rejects.toMatchObject({
      code: ErrorCode.INVALID,
      problems: [{ pointer: '/spec/targets/0/action', message: expect.stringMatching(/known actions: http, log/) }],
    });
    expect(await rules.list()).toEqual([]);
    expect(changes).toEqual([]);
  });

  it('refuses to create a rule whose name exists, saying how to replace it', async () => {
    const rules = open();
    await rules.create(manifest('cpu'));
    const err = (await rules.create(manifest('cpu')).catch((e: unknown) => e)) as HomeostatError;
    expect(err.code).toBe(ErrorCode.CONFLICT);
    expect(err.message).toMatch(/rule 'cpu' already exists; replace it with PUT \/v1\/rules\/cpu/);
  });

  it('creates a rule once when the same new rule is applied concurrently', async () => {
    const rules = open();
    const results = await Promise.all([1, 2, 3].map(() => rules.apply(manifest('cpu'))));
    expect(results.filter((r) => r.created)).toHaveLength(1);
    expect((await rules.get('cpu'))?.generation).toBe(1);
  });

  it('lists rules by name and gets one', async () => {
    const rules = open();
    for (const name of ['web', 'cpu', 'disk']) await rules.apply(manifest(name));
    expect((await rules.list()).map((r) => r.spec.name)).toEqual(['cpu', 'disk', 'web']);
    expect((await rules.get('disk'))?.spec.targets[0]?.id).toBe('log-0');
    expect(await rules.get('nope')).toBeUndefined();
  });

  it('deletes a rule and tells the router', async () => {
    const rules = open();
    await rules.apply(manifest('cpu'));
    expect(await rules.delete('cpu')).toBe(true);
    expect(await rules.delete('cpu')).toBe(false);
    expect(await rules.get('cpu')).toBeUndefined();
    expect(changes).toEqual([
      ['cpu', true],
      ['cpu', undefined],
    ]);
  });

  it('disables and enables a rule, keeping the manifest in step', async () => {
    const rules = open();
    await rules.apply(manifest('cpu'));
    const disabled = await rules.setEnabled('cpu', false);
    expect(disabled.spec.enabled).toBe(false);
    expect(disabled.generation).toBe(2);
    expect((disabled.manifest.spec as Record<string, unknown>).enabled).toBe(false);
    expect((await rules.setEnabled('cpu', false)).generation).toBe(2);
    expect((await rules.setEnabled('cpu', true)).spec.enabled).toBe(true);
    expect(changes).toEqual([
      ['cpu', true],
      ['cpu', false],
      ['cpu', true],
    ]);
  });

  it('answers E_NOT_FOUND for enabling a missing rule, saying how to list rules', async () => {
    await expect(open().setEnabled('ghost', true)).rejects.toMatchObject({
      code: ErrorCode.NOT_FOUND,
      message: expect.stringContaining('homeostat get rules'),
    });
  });

  it('loads stored rules after a restart and reports each to the router', async () => {
    const before = open();
    await before.apply(manifest('cpu'));
    await before.apply(manifest('disk', { enabled: false }));
    changes = [];
    const after = open();
    await after.load();
    expect(changes).toEqual([
      ['cpu', true],
      ['disk', false],
    ]);
    expect((await after.get('disk'))?.generation).toBe(1);
  });

  it('skips a stored rule that no longer validates, reports it, and still lets it be replaced or deleted', async () => {
    await open().apply(manifest('hook', { targets: [{ action: 'http', with: { url: 'http://127.0.0.1:9' } }] }));
    await open().apply(manifest('cpu'));
    changes = [];
    const withoutHttp = open(ruleValidationContext(new Map([['log', target('log')]])));
    await withoutHttp.load();
    expect(invalid).toEqual(['hook']);
    expect(changes).toEqual([['cpu', true]]);
    expect(await withoutHttp.get('hook')).toBeUndefined();
    expect((await withoutHttp.apply(manifest('hook'))).created).toBe(false);
    expect(await withoutHttp.delete('hook')).toBe(true);
  });

  it('tests a pattern against an event', () => {
    const rules = open();
    expect(rules.test({ type: ['a'] }, { type: 'a' })).toEqual({ matched: true, failures: [] });
    expect(rules.test({ type: ['a'] }, { type: 'b' }).failures[0]?.pointer).toBe('/pattern/type');
    expect(() => rules.test({ type: 'a' }, 'x')).toThrow(/invalid rules test/);
  });

  it('builds its validation context from the registered actions', () => {
    const ctx = ruleValidationContext(registry, { maxFields: 2 });
    expect(ctx.knownActions).toEqual(['http', 'log']);
    expect(ctx.validateAction('http', {})).toEqual([{ pointer: '/url', message: 'required' }]);
    expect(ctx.validateAction('exec', {})).toBeUndefined();
    expect(ctx.patternLimits).toEqual({ maxFields: 2 });
  });
});
