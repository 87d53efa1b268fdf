import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createManualClock } from '../../core/clock.js';
import type { CloudEvent } from '../../core/event.js';
import { ErrorCode, HomeostatError, type HomeostatError as HE } from '../../core/errors.js';
import type { SafetySpec } from '../../core/safety/types.js';
import type { RuleSpec } from '../../core/rules/types.js';
import type { Target } from '../../ports/target.js';
import type { SqliteDatabase } from '../../store/sqlite/database.js';
import { createSqlitePolicyStore, createSqliteRuleStore } from '../../store/sqlite/rule-store.js';
import { openStateDatabase } from '../../store/sqlite/state.js';
import type { ActionGate, InfraControl } from '../automation/types.js';
import { createRuleService, type RuleService, ruleValidationContext } from '../rule-service.js';
import { createPolicyService, type PolicyService } from './service.js';
import { createPolicyTarget } from './target.js';
import type { PolicyBase, PolicyContext, PolicyKind } from './types.js';

const SAFETY: SafetySpec = {
  mode: 'enforce',
  cooldownMs: 0,
  rateLimit: { max: 60, perMs: 60_000 },
  blastRadius: { maxResources: 20, maxPercent: 50, perMs: 600_000 },
  flap: { maxReversals: 4, withinMs: 600_000 },
};

interface EchoSpec extends PolicyBase {
  readonly type: string;
}

/** A toy kind: one rule per policy on events of `spec.type`; the instance remembers what it got. */
function echoKind(log: string[]): PolicyKind<EchoSpec> {
  return {
    kind: 'EchoPolicy',
    parse(m) {
      const spec = m.spec as { type?: unknown } | undefined;
      const name = (m.metadata as { name?: string }).name ?? '';
      if (typeof spec?.type !== 'string')
        throw new HomeostatError(ErrorCode.INVALID, 'invalid EchoPolicy', {
          problems: [{ pointer: '/spec/type', message: 'required: an event type' }],
        });
      return { kind: 'EchoPolicy', name, safety: SAFETY, type: spec.type };
    },
    compile: (s) => [
      {
        suffix: 'events',
        spec: {
          match: { type: [s.type] },
          targets: [{ action: 'policy', with: { policy: `EchoPolicy/${s.name}`, hook: 'event' } }],
        },
      },
    ],
    start: (s) => {
      log.push(`start ${s.name} ${s.type}`);
      return {
        onEvent: async (hook: string, e: CloudEvent) => {
          log.push(`${s.name} ${hook} ${e.id}`);
          return { seen: e.id };
        },
        status: () => ({ type: s.type }),
        close: async () => void log.push(`close ${s.name}`),
      };
    },
  };
}

function manifest(name: string, type: unknown): Record<string, unknown> {
  return { apiVersion: 'homeostat/v1', kind: 'EchoPolicy', metadata: { name }, spec: { type } };
}

const event = (id: string): CloudEvent => ({ specversion: '1.0', id, source: 'test', type: 'x' });

describe('PolicyService', () => {
  let dir: string;
  let db: SqliteDatabase;
  let log: string[];
  let routed: Map<string, RuleSpec>;
  let configured: string[];
  const clock = createManualClock();
  let service: PolicyService | undefined;

  const gate = {
    configure: (policy: string) => void configured.push(`+${policy}`),
    remove: (policy: string) => void configured.push(`-${policy}`),
  } as unknown as ActionGate;

  function open(): { rules: RuleService; policies: PolicyService } {
    const registry = new Map<string, Target>([['policy', createPolicyTarget(() => service?.deliver)]]);
    const rules = createRuleService({
      store: createSqliteRuleStore(db, clock),
      clock,
      context: ruleValidationContext(registry),
      onChange: (name, spec) => (spec ? routed.set(name, spec) : routed.delete(name)),
    });
    const context: PolicyContext = {
      clock,
      logger: pino({ level: 'silent' }),
      infra: {} as InfraControl,
      gate,
      publish: async () => undefined,
      notify: async () => undefined,
    };
    service = createPolicyService({
      store: createSqlitePolicyStore(db, clock),
      kinds: [echoKind(log)],
      rules,
      context,
    });
    return { rules, policies: service };
  }

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'homeostat-policy-service-'));
    db = openStateDatabase({ path: join(dir, 'state.db'), fsync: 'normal' });
    log = [];
    routed = new Map();
    configured = [];
  });
  afterEach(async () => {
    await service?.close();
    service = undefined;
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('compiles a policy to managed rules, runs its instance and configures its rails', async () => {
    const { rules, policies } = open();
    const { record, created } = await policies.apply(manifest('a', 'order.placed'));
    expect(created).toBe(true);
    expect(record).toMatchObject({ ref: 'EchoPolicy/a', rules: ['echopolicy.a.events'] });
    expect(log).toEqual(['start a order.placed']);
    expect(configured).toEqual(['+EchoPolicy/a']);
    const rule = await rules.get('echopolicy.a.events');
    expect(rule?.managedBy).toBe('EchoPolicy/a');
    expect(routed.get('echopolicy.a.events')?.match.source).toEqual({ type: ['order.placed'] });
    // Policy targets see a resource's events in order.
    expect(rule?.spec.targets[0]?.ordered).toBe(true);
    expect(await policies.deliver('EchoPolicy/a', 'event', event('e1'))).toEqual({ seen: 'e1' });
    expect(log).toContain('a event e1');
  });

  it('refuses to edit, disable or delete a generated rule, and names the policy', async () => {
    const { rules, policies } = open();
    await policies.apply(manifest('a', 'order.placed'));
    for (const attempt of [
      () => rules.delete('echopolicy.a.events'),
      () => rules.setEnabled('echopolicy.a.events', false),
      () =>
        rules.apply({
          apiVersion: 'homeostat/v1',
          kind: 'Rule',
          metadata: { name: 'echopolicy.a.events' },
          spec: {
            match: { type: ['y'] },
            targets: [{ action: 'policy', with: { policy: 'EchoPolicy/a', hook: 'x' } }],
          },
        }),
    ]) {
      const err = (await attempt().catch((e: unknown) => e)) as HE;
      expect(err.code).toBe(ErrorCode.CONFLICT);
      expect(err.message).toContain('EchoPolicy/a');
    }
  });

  it('rejects an invalid policy with pointers and stores nothing', async () => {
    const { policies } = open();
    const err = (await policies.apply(manifest('a', 42)).catch((e: unknown) => e)) as HE;
    expect(err.code).toBe(ErrorCode.INVALID);
    expect(err.problems).toEqual([{ pointer: '/spec/type', message: 'required: an event type' }]);
    const unknown = (await policies
      .apply({ ...manifest('b', 'x'), kind: 'NoSuchPolicy' })
      .catch((e: unknown) => e)) as HE;
    expect(unknown.problems[0]?.pointer).toBe('/kind');
    expect(unknown.message).toContain('EchoPolicy');
    expect(await policies.list()).toEqual([]);
    expect(routed.size).toBe(0);
  });

  it('replaces a changed policy (old instance closed, rules updated), keeps an unchanged one, deletes', async () => {
    const { policies } = open();
    await policies.apply(manifest('a', 'one'));
    expect((await policies.apply(manifest('a', 'one'))).changed).toBe(false);
    const second = await policies.apply(manifest('a', 'two'));
    expect(second).toMatchObject({ created: false, changed: true });
    expect(second.record.generation).toBe(2);
    expect(log).toEqual(['start a one', 'close a', 'start a two']);
    expect(routed.get('echopolicy.a.events')?.match.source).toEqual({ type: ['two'] });
    expect(await policies.delete('echopolicy', 'a')).toBe(true);
    expect(routed.has('echopolicy.a.events')).toBe(false);
    expect(configured).toContain('-EchoPolicy/a');
    expect(await policies.delete('EchoPolicy', 'a')).toBe(false);
    // An event for a deleted policy is dropped, not retried forever.
    expect(await policies.deliver('EchoPolicy/a', 'event', event('late'))).toEqual({
      skipped: 'no policy EchoPolicy/a',
    });
  });

  it('starts stored policies again after a restart, with their rules', async () => {
    await open().policies.apply(manifest('a', 'one'));
    await service!.close();
    routed.clear();
    const { policies } = open();
    await policies.load();
    expect(routed.has('echopolicy.a.events')).toBe(true);
    expect(policies.status('EchoPolicy', 'a')).toEqual({ type: 'one' });
  });

  it('the policy action hands the event to the instance, and validates its options', async () => {
    open();
    const target = createPolicyTarget(() => service?.deliver);
    expect(target.validate({ policy: 'web', hook: '' }).map((p) => p.pointer)).toEqual(['/policy', '/hook']);
    await service!.apply(manifest('a', 'one'));
    const outcome = await target.deliver({
      record: { offset: 0, appendedAt: 0, event: event('e9') } as never,
      rule: 'echopolicy.a.events',
      target: { with: { policy: 'EchoPolicy/a', hook: 'event' } } as never,
      attempt: 1,
      idempotencyKey: 'k',
      payload: {},
      replayed: false,
      signal: new AbortController().signal,
    });
    expect(outcome).toEqual({ ok: true, detail: { seen: 'e9' } });
    const replayed = await target.deliver({
      record: { offset: 0, appendedAt: 0, event: event('e10') } as never,
      rule: 'echopolicy.a.events',
      target: { with: { policy: 'EchoPolicy/a', hook: 'event' } } as never,
      attempt: 1,
      idempotencyKey: 'k2',
      payload: {},
      replayed: true,
      signal: new AbortController().signal,
    });
    expect(replayed).toMatchObject({ ok: true, detail: { skipped: expect.stringContaining('replayed') } });
    expect(log).not.toContain('a event e10');
  });
});
