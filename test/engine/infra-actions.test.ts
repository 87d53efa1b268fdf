import { pino } from 'pino';
import { beforeEach, describe, expect, it } from 'vitest';
import { createManualClock } from '../../src/core/clock.js';
import type { CloudEvent } from '../../src/core/event.js';
import type { Resource } from '../../src/core/infra/types.js';
import { DEFAULT_SAFETY } from '../../src/core/safety/parse.js';
import { createInfraActionTargets } from '../../src/engine/automation/actions.js';
import { createActionGate, type ManagedActionGate } from '../../src/engine/automation/gate.js';
import type { GroupView, InfraControl } from '../../src/engine/automation/types.js';
import type { DeliveryOutcome, Target } from '../../src/ports/target.js';
import { deliveryRequest, targetSpec } from '../actions/helpers.js';
import { createTestApprovals } from './memory-approvals.js';

type Call = [string, ...unknown[]];

/** An in-process InfraControl that records what it is asked to do: group web (desired 2, 2 instances). */
function fakeInfra(options: { failWith?: Error } = {}) {
  const calls: Call[] = [];
  let desired = 2;
  const instance = (name: string): Resource<'Instance'> => ({
    kind: 'Instance',
    name,
    spec: { group: 'web' },
    status: { group: 'web', phase: 'running', healthy: true },
    tags: {},
    pricePerHour: 0.01,
    provider: 'sim',
  });
  const instances = [instance('web-1'), instance('web-2')];
  const view = (): GroupView => ({
    name: 'web',
    provider: 'sim',
    desired,
    min: 1,
    max: 10,
    instanceType: 'sim.small',
    pricePerHour: 0.01,
    tags: {},
    instances,
    held: false,
  });
  const act = async (...call: Call): Promise<void> => {
    if (options.failWith) throw options.failWith;
    calls.push(call);
  };
  const infra: InfraControl = {
    resources: async () => instances,
    group: async (name) => (name === 'web' ? view() : undefined),
    groups: async () => [view()],
    async scaleGroup(group, to, cause) {
      await act('scaleGroup', group, to, cause);
      const from = desired;
      desired = to;
      return { from, to };
    },
    replaceInstance: (name, cause) => act('replaceInstance', name, cause),
    restartInstance: (name, cause) => act('restartInstance', name, cause),
    stopInstance: (name, cause) => act('stopInstance', name, cause),
    holdGroup: (group, reason, cause) => act('holdGroup', group, reason, cause),
    releaseGroup: (group, cause) => act('releaseGroup', group, cause),
    async revert(kind, name, cause) {
      await act('revert', kind, name, cause);
      return kind === 'SecurityRule';
    },
    patch: (kind, name, patch, cause) => act('patch', kind, name, patch, cause),
  };
  return { infra, calls };
}

const clock = createManualClock(Date.UTC(2026, 0, 1));
let gate: ManagedActionGate;
let fake: ReturnType<typeof fakeInfra>;
let targets: Map<string, Target>;

function setup(options: { failWith?: Error } = {}): void {
  fake = fakeInfra(options);
  gate = createActionGate({
    clock,
    logger: pino({ level: 'silent' }),
    approvals: createTestApprovals(() => clock.now()),
    publish: async () => [],
  });
  targets = new Map(createInfraActionTargets({ gate, infra: () => fake.infra }).map((t) => [t.action, t]));
}

beforeEach(() => setup());

function event(subject: string | undefined, id = 'evt-1'): CloudEvent {
  return {
    specversion: '1.0',
    id,
    source: 'test/infra',
    type: 'infra.instance.unhealthy',
    ...(subject ? { subject } : {}),
  };
}

async function deliver(action: string, options: Record<string, unknown>, subject?: string, id?: string) {
  const target = targets.get(action)!;
  return target.deliver(deliveryRequest(targetSpec(action, options), { event: event(subject, id), rule: 'heal' }));
}

function ok(o: DeliveryOutcome): Record<string, unknown> {
  if (!o.ok) throw new Error(`expected ok, got ${JSON.stringify(o)}`);
  return o.detail ?? {};
}

describe('infrastructure actions as rule targets', () => {
  it('offers every action and validates options with pointers relative to with', () => {
    expect([...targets.keys()]).toEqual(['scale', 'replace', 'restart', 'stop', 'revert', 'patch', 'hold', 'release']);
    expect(targets.get('scale')!.validate({ group: 'web', to: 3, by: 1 })).toEqual([
      { pointer: '', message: 'give exactly one of to (the new size) or by (a step, e.g. 2 or -1)' },
    ]);
    expect(
      targets
        .get('scale')!
        .validate({ by: 0, size: 1 })
        .map((p) => p.pointer),
    ).toEqual(['/size', '/by']);
    expect(
      targets
        .get('patch')!
        .validate({ kind: 'Bucket' })
        .map((p) => p.pointer),
    ).toEqual(['/name', '/kind', '/patch']);
    expect(
      targets
        .get('revert')!
        .validate({ name: 'ssh' })
        .map((p) => p.pointer),
    ).toEqual(['']);
    expect(targets.get('replace')!.validate({})).toEqual([]);
  });

  it('scales a group by a step, through the gate, as policy Rule/<rule>', async () => {
    const detail = ok(await deliver('scale', { by: 2 }, 'instancegroup/web'));
    expect(detail).toMatchObject({ outcome: 'executed', result: { group: 'web', from: 2, to: 4 } });
    expect(fake.calls).toEqual([['scaleGroup', 'web', 4, detail.actionId]]);
    expect(gate.recent()[0]).toMatchObject({
      policy: 'Rule/heal',
      action: 'scale',
      resource: 'instancegroup/web',
      direction: 'up',
      cause: 'evt-1',
      params: { group: 'web', by: 2 },
    });
  });

  it('scales a named group to a size, down being a direction too', async () => {
    ok(await deliver('scale', { group: 'web', to: 1 }, 'something-else'));
    expect(fake.calls.map((c) => c.slice(0, 3))).toEqual([['scaleGroup', 'web', 1]]);
    expect(gate.recent()[0]).toMatchObject({
      resource: 'instancegroup/web',
      direction: 'down',
      params: { group: 'web', to: 1 },
    });
  });

  it('replaces the instance named by the event subject, and the blast radius caps the share of its group', async () => {
    const first = ok(await deliver('replace', {}, 'instance/web-1', 'e1'));
    expect(fake.calls).toEqual([['replaceInstance', 'web-1', first.actionId]]);
    expect(gate.recent()[0]).toMatchObject({ group: 'web', groupSize: 2 });
    // Default cap: 50% of a group of 2, one instance per 10 minutes.
    const second = ok(await deliver('restart', { instance: 'web-2' }, undefined, 'e2'));
    expect(second).toMatchObject({ outcome: 'refused', rail: 'blast-radius' });
    expect(second.why).toContain('acted on 1 of the 2 instances of group web');
    expect(fake.calls).toHaveLength(1);
  });

  it('does nothing again for a repeated delivery of the same event', async () => {
    const a = ok(await deliver('stop', {}, 'instance/web-2'));
    const b = ok(await deliver('stop', {}, 'instance/web-2'));
    expect(b.actionId).toBe(a.actionId);
    expect(fake.calls).toEqual([['stopInstance', 'web-2', a.actionId]]);
  });

  it('reverts and patches resources, and holds and releases groups', async () => {
    ok(await deliver('revert', {}, 'securityrule/ssh', 'e1'));
    ok(
      await deliver('patch', { kind: 'SecurityRule', name: 'ssh', patch: { allow: ['10.0.0.0/8'] } }, undefined, 'e2'),
    );
    ok(await deliver('hold', { group: 'web', reason: 'crash loop' }, undefined, 'e3'));
    ok(await deliver('release', {}, 'instancegroup/web', 'e4'));
    expect(fake.calls.map((c) => c.slice(0, -1))).toEqual([
      ['revert', 'SecurityRule', 'ssh'],
      ['patch', 'SecurityRule', 'ssh', { allow: ['10.0.0.0/8'] }],
      ['holdGroup', 'web', 'crash loop'],
      ['releaseGroup', 'web'],
    ]);
  });

  it('fails without retry when there is nothing to revert to, or no resource to act on', async () => {
    const none = await deliver('revert', { kind: 'LoadBalancer', name: 'edge' });
    expect(none).toMatchObject({ ok: false, retry: 'no', error: { code: 'E_NOT_FOUND' } });
    const bad = await deliver('replace', {}, 'web-1');
    expect(bad).toMatchObject({ ok: false, retry: 'no', error: { code: 'E_ACTION_CONFIG' } });
    expect(!bad.ok && bad.error.message).toContain('is not a resource ref');
  });

  it('fails with retry when the infrastructure fails', async () => {
    setup({ failWith: new Error('provider unreachable') });
    const out = await deliver('restart', {}, 'instance/web-1');
    expect(out).toMatchObject({
      ok: false,
      retry: 'yes',
      error: { code: 'E_ACTION_FAILED', message: 'provider unreachable' },
    });
    expect(gate.recent()[0]?.outcome).toBe('failed');
  });

  it('in dry-run records the action and does not touch the infrastructure', async () => {
    gate.configure('Rule/heal', { ...DEFAULT_SAFETY, mode: 'dry-run' });
    expect(ok(await deliver('scale', { to: 5 }, 'instancegroup/web'))).toMatchObject({ outcome: 'dry-run' });
    expect(fake.calls).toEqual([]);
  });

  it('records a replayed delivery as a dry run: a replay never changes infrastructure again', async () => {
    const target = targets.get('scale')!;
    const request = deliveryRequest(targetSpec('scale', { to: 5 }), {
      event: event('instancegroup/web', 'past-1'),
      rule: 'heal',
      replayed: true,
    });
    expect(ok(await target.deliver(request))).toMatchObject({ outcome: 'dry-run' });
    expect(fake.calls).toEqual([]);
  });
});
