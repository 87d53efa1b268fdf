import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { createManualClock, type ManualClock } from '../../core/clock.js';
import type { CloudEvent } from '../../core/event.js';
import { ErrorCode, HomeostatError } from '../../core/errors.js';
import type { Resource, ResourceKind } from '../../core/infra/types.js';
import { matchPattern } from '../../core/pattern/index.js';
import { parseRuleManifest } from '../../core/rules/manifest.js';
import type { SafetySpec } from '../../core/safety/types.js';
import type { ActionGate, ActionRecord, ActionRequest, GroupView, InfraControl } from '../automation/types.js';
import { ruleValidationContext } from '../rule-service.js';
import { type Compliance, type ComplianceTimers, createCompliance } from './compliance.js';
import { compiledRuleManifest } from './service.js';
import { createPolicyTarget } from './target.js';
import type { PolicyContext, PolicyInstance } from './types.js';

type Perform = (actionId: string) => Promise<Record<string, unknown>>;

/** A gate that honours the request's mode and records every outcome; approvals wait for `approve`. */
function fakeGate(clock: ManualClock) {
  const records: ActionRecord[] = [];
  const waiting = new Map<string, { request: ActionRequest; perform: Perform; id: string }>();
  const modes = new Map<string, SafetySpec['mode']>();
  let seq = 0;
  const record = (request: ActionRequest, id: string, rest: Partial<ActionRecord>): ActionRecord => {
    const r = { ...request, id, at: clock.now(), outcome: 'executed' as const, ...rest };
    // A decided approval replaces its pending record: one record per action id.
    const earlier = records.findIndex((x) => x.id === id);
    if (earlier >= 0) records.splice(earlier, 1);
    records.unshift(r);
    return r;
  };
  async function run(request: ActionRequest, perform: Perform, id: string): Promise<ActionRecord> {
    try {
      return record(request, id, { outcome: 'executed', result: await perform(id) });
    } catch (err) {
      return record(request, id, { outcome: 'failed', why: (err as Error).message });
    }
  }
  const gate: ActionGate = {
    configure: (policy, safety) => void modes.set(policy, safety.mode),
    remove: (policy) => void modes.delete(policy),
    async submit(request, perform) {
      const id = `act-${++seq}`;
      const mode = request.mode ?? modes.get(request.policy) ?? 'enforce';
      if (mode === 'dry-run') return record(request, id, { outcome: 'dry-run' });
      if (mode === 'approval') {
        waiting.set(`apr-${seq}`, { request, perform, id });
        return record(request, id, { outcome: 'pending-approval', approval: `apr-${seq}` });
      }
      return run(request, perform, id);
    },
    recent: (filter = {}) =>
      records
        .filter((r) => filter.policy === undefined || r.policy === filter.policy)
        .filter((r) => filter.resource === undefined || r.resource === filter.resource)
        .slice(0, filter.limit ?? 100),
    frozen: () => [],
    unfreeze: async () => {
      throw new HomeostatError(ErrorCode.NOT_FOUND, 'nothing is frozen');
    },
  };
  return {
    gate,
    records,
    async approve(approval: string): Promise<ActionRecord> {
      const w = waiting.get(approval)!;
      waiting.delete(approval);
      return run(w.request, w.perform, w.id);
    },
    reject(approval: string): ActionRecord {
      const w = waiting.get(approval)!;
      waiting.delete(approval);
      return record(w.request, w.id, { outcome: 'rejected', why: 'not now' });
    },
  };
}

/** Resources in memory; `declared` is what stacks declare (the target of `revert`). */
function fakeInfra(clock: ManualClock, resources: Resource[], declared: Resource[]) {
  const calls: string[] = [];
  const reads = { count: 0 };
  const find = (kind: ResourceKind, name: string) => resources.findIndex((r) => r.kind === kind && r.name === name);
  const infra: InfraControl = {
    resources: async () => {
      reads.count++;
      return resources.map((r) => structuredClone(r));
    },
    group: async () => undefined as GroupView | undefined,
    groups: async () => [],
    scaleGroup: async (group, desired, cause) => {
      calls.push(`scale ${group} ${desired} ${cause}`);
      return { from: 3, to: desired };
    },
    replaceInstance: async () => undefined,
    restartInstance: async () => undefined,
    stopInstance: async (name, cause) => {
      calls.push(`stop ${name} ${cause}`);
      resources.splice(find('Instance', name), 1);
    },
    holdGroup: async () => undefined,
    releaseGroup: async () => undefined,
    async revert(kind, name, cause) {
      calls.push(`revert ${kind}/${name} ${cause}`);
      const want = declared.find((r) => r.kind === kind && r.name === name);
      if (!want) return false;
      clock.advance(250); // the provider takes a while
      resources[find(kind, name)] = structuredClone(want);
      return true;
    },
    async patch(kind, name, patch, cause) {
      calls.push(`patch ${kind}/${name} ${JSON.stringify(patch)} ${cause}`);
      const i = find(kind, name);
      resources[i] = { ...resources[i]!, spec: { ...resources[i]!.spec, ...patch } as Resource['spec'] };
    },
  };
  return { infra, calls, reads };
}

function fakeTimers(): ComplianceTimers & { fire(): void; intervals: number[] } {
  const callbacks = new Map<number, () => void>();
  const intervals: number[] = [];
  let next = 0;
  return {
    intervals,
    setInterval(fn, ms) {
      intervals.push(ms);
      callbacks.set(++next, fn);
      return next;
    },
    clearInterval: (handle) => void callbacks.delete(handle as number),
    fire: () => callbacks.forEach((fn) => fn()),
  };
}

function securityRule(name: string, allow: string[], port = 22, tags: Record<string, string> = {}): Resource {
  return {
    kind: 'SecurityRule',
    name,
    spec: { loadBalancer: 'web-lb', allow, port },
    tags,
    pricePerHour: 0,
    provider: 'local',
  };
}

function group(name: string, tags: Record<string, string>): Resource {
  return {
    kind: 'InstanceGroup',
    name,
    spec: {
      template: { command: 'node', args: [], env: {}, port: 0 },
      desired: 2,
      min: 1,
      max: 4,
      instanceType: 'local.small',
      healthCheck: { path: '/healthz', intervalMs: 1000, timeoutMs: 500, unhealthyThreshold: 2, healthyThreshold: 1 },
    },
    status: { running: 2, healthy: 2, instances: [] },
    tags,
    pricePerHour: 0.02,
    provider: 'local',
  };
}

function instance(name: string, groupName: string): Resource {
  return {
    kind: 'Instance',
    name,
    spec: { group: groupName },
    status: { group: groupName, phase: 'running', healthy: true },
    tags: {},
    pricePerHour: 0.01,
    provider: 'local',
  };
}

const SSH =
  "has(resource.spec.port) && resource.spec.port in [22, 3389] && resource.spec.allow.exists(c, c in ['0.0.0.0/0', '::/0'])";

function policy(name: string, spec: Record<string, unknown>): Record<string, unknown> {
  return { apiVersion: 'homeostat/v1', kind: 'CompliancePolicy', metadata: { name }, spec };
}

let changeSeq = 0;
function change(ref: string, clock: ManualClock, causationid?: string): CloudEvent {
  return {
    specversion: '1.0',
    id: `chg-${++changeSeq}`,
    source: 'homeostat/provider/local',
    type: 'infra.resource.changed',
    subject: ref,
    time: new Date(clock.now()).toISOString(),
    ...(causationid === undefined ? {} : { causationid }),
    data: {},
  };
}

interface Harness {
  clock: ManualClock;
  compliance: Compliance;
  instance: PolicyInstance;
  events: CloudEvent[];
  resources: Resource[];
  calls: string[];
  reads: { count: number };
  gate: ReturnType<typeof fakeGate>;
  timers: ReturnType<typeof fakeTimers>;
  notified: { url: string; body: unknown; key: string }[];
}

let harnesses: Harness[] = [];
afterEach(async () => {
  for (const h of harnesses) await h.compliance.close();
  harnesses = [];
});

async function setup(
  manifest: Record<string, unknown>,
  resources: Resource[],
  declared: Resource[] = resources.map((r) => structuredClone(r)),
): Promise<Harness> {
  const clock = createManualClock();
  const gate = fakeGate(clock);
  const { infra, calls, reads } = fakeInfra(clock, resources, declared);
  const events: CloudEvent[] = [];
  const notified: Harness['notified'] = [];
  const timers = fakeTimers();
  const context: PolicyContext = {
    clock,
    logger: pino({ level: 'silent' }),
    infra,
    gate: gate.gate,
    publish: async (batch) => void events.push(...batch),
    notify: async (url, body, key) => void notified.push({ url, body, key }),
  };
  const compliance = createCompliance({ clock, timers });
  const spec = compliance.kind.parse(manifest);
  gate.gate.configure(`CompliancePolicy/${spec.name}`, spec.safety);
  const inst = await compliance.kind.start(spec, context);
  await compliance.settled();
  const h = { clock, compliance, instance: inst, events, resources, calls, reads, gate, timers, notified };
  harnesses.push(h);
  return h;
}

const ofType = (h: Harness, type: string) => h.events.filter((e) => e.type === type);

describe('CompliancePolicy', () => {
  it('opens a violation on an out-of-band change, reverts it through the gate and resolves it', async () => {
    const h = await setup(
      policy('no-open-ssh', { resources: { kind: 'SecurityRule' }, violation: SSH, remedy: 'revert' }),
      [securityRule('ssh', ['10.0.0.0/8'])],
    );
    expect(h.events).toEqual([]);
    h.resources[0] = securityRule('ssh', ['0.0.0.0/0']);
    const trigger = change('securityrule/ssh', h.clock);
    const result = await h.instance.onEvent('change', trigger);

    const [opened] = ofType(h, 'compliance.violation.opened');
    expect(opened).toMatchObject({
      subject: 'securityrule/ssh',
      causationid: trigger.id,
      source: 'homeostat/policy/CompliancePolicy/no-open-ssh',
      data: {
        policy: 'CompliancePolicy/no-open-ssh',
        resource: 'securityrule/ssh',
        remedy: 'revert',
        trigger: trigger.id,
      },
    });
    const [action] = h.gate.records;
    expect(action).toMatchObject({
      policy: 'CompliancePolicy/no-open-ssh',
      action: 'revert',
      resource: 'securityrule/ssh',
      direction: 'revert',
      cause: trigger.id,
      outcome: 'executed',
    });
    expect(h.calls).toEqual([`revert SecurityRule/ssh ${action!.id}`]);
    const [resolved] = ofType(h, 'compliance.violation.resolved');
    expect(resolved).toMatchObject({
      subject: 'securityrule/ssh',
      causationid: action!.id,
      data: {
        resolution: 'compliant',
        timeToRemediateMs: 250,
        trigger: trigger.id,
        actions: [action!.id],
        resolvedBy: action!.id,
        violation: opened!.data && (opened!.data as { violation: string }).violation,
      },
    });
    expect(result).toMatchObject({ state: 'violating', action: action!.id, outcome: 'executed' });

    const report = h.compliance.report();
    expect(report.totals).toMatchObject({ policies: 1, evaluated: 1, compliant: 1, violating: 0, open: 0 });
    expect(report.totals.timeToRemediate).toEqual({ count: 1, meanMs: 250, maxMs: 250 });
    expect(report.policies[0]!.closed).toEqual([
      expect.objectContaining({
        resource: 'securityrule/ssh',
        resolution: 'compliant',
        timeToRemediateMs: 250,
        actions: [action!.id],
      }),
    ]);
  });

  it('ignores the change its own remedy causes and does not remedy twice', async () => {
    const h = await setup(
      policy('no-open-ssh', { resources: { kind: 'SecurityRule' }, violation: SSH, remedy: 'revert' }),
      [securityRule('ssh', ['10.0.0.0/8'])],
    );
    h.resources[0] = securityRule('ssh', ['0.0.0.0/0']);
    await h.instance.onEvent('change', change('securityrule/ssh', h.clock));
    const actionId = h.gate.records[0]!.id;
    expect(await h.instance.onEvent('change', change('securityrule/ssh', h.clock, actionId))).toMatchObject({
      state: 'compliant',
    });
    expect(h.gate.records).toHaveLength(1);
    expect(ofType(h, 'compliance.violation.resolved')).toHaveLength(1);
  });

  it('waits for approval, then resolves on the change the approved action causes', async () => {
    const h = await setup(
      policy('no-open-ssh', { resources: { kind: 'SecurityRule' }, violation: SSH, remedy: 'revert', approval: true }),
      [securityRule('ssh', ['10.0.0.0/8'])],
    );
    h.resources[0] = securityRule('ssh', ['::/0'], 3389);
    await h.instance.onEvent('change', change('securityrule/ssh', h.clock));
    const [pending] = h.gate.records;
    expect(pending).toMatchObject({ outcome: 'pending-approval', mode: 'approval', approval: 'apr-1' });
    expect(h.calls).toEqual([]);
    let open = h.compliance.report().policies[0]!.open;
    expect(open).toEqual([
      expect.objectContaining({ resource: 'securityrule/ssh', remedy: 'revert', outcome: 'pending-approval' }),
    ]);
    expect(open[0]!.attempts[0]).toMatchObject({ action: pending!.id, approval: 'apr-1' });

    // A scan does not ask again while the approval is pending.
    h.clock.advance(10 * 60_000);
    h.timers.fire();
    await h.compliance.settled();
    expect(h.gate.records).toHaveLength(1);

    h.clock.advance(30_000);
    const approved = await h.gate.approve('apr-1');
    expect(approved.outcome).toBe('executed');
    const after = change('securityrule/ssh', h.clock, approved.id);
    expect(await h.instance.onEvent('change', after)).toMatchObject({ state: 'compliant' });
    const [resolved] = ofType(h, 'compliance.violation.resolved');
    expect(resolved).toMatchObject({ causationid: after.id, data: { resolvedBy: after.id, actions: [pending!.id] } });
    open = h.compliance.report().policies[0]!.open;
    expect(open).toEqual([]);
    expect(h.compliance.report().policies[0]!.timeToRemediate.maxMs).toBe(10 * 60_000 + 30_000 + 250);
  });

  it('records a rejected approval and does not ask again', async () => {
    const h = await setup(
      policy('no-open-ssh', { resources: { kind: 'SecurityRule' }, violation: SSH, remedy: 'revert', approval: true }),
      [securityRule('ssh', ['0.0.0.0/0'])],
    );
    expect(h.gate.records[0]!.outcome).toBe('pending-approval');
    h.gate.reject('apr-1');
    h.clock.advance(5 * 60_000);
    h.timers.fire();
    await h.compliance.settled();
    expect(h.gate.records.map((r) => r.outcome)).toEqual(['rejected']);
    expect(h.compliance.report().policies[0]!.open[0]!.outcome).toBe('rejected');
  });

  it('evaluates every resource periodically and finds a change no event announced', async () => {
    const h = await setup(
      policy('require-owner', {
        resources: { kind: 'InstanceGroup' },
        violation: "!('owner' in resource.tags)",
        remedy: 'alert',
        every: '1m',
      }),
      [group('web', { owner: 'team-web' }), group('api', { owner: 'team-api' })],
    );
    expect(h.timers.intervals).toEqual([60_000]);
    expect(h.compliance.report().policies[0]).toMatchObject({ evaluated: 2, compliant: 2, violating: 0 });
    h.resources[1] = group('api', {});
    h.clock.advance(60_000);
    h.timers.fire();
    await h.compliance.settled();
    const [opened] = ofType(h, 'compliance.violation.opened');
    expect(opened).toMatchObject({ subject: 'instancegroup/api' });
    expect(opened!.causationid).toBeUndefined();
    expect(h.gate.records).toEqual([]);
    const report = h.compliance.report().policies[0]!;
    expect(report).toMatchObject({
      evaluated: 2,
      compliant: 1,
      violating: 1,
      lastScanAt: new Date(h.clock.now()).toISOString(),
    });
    expect(report.open).toEqual([expect.objectContaining({ resource: 'instancegroup/api', remedy: 'alert' })]);
    expect(report.open[0]!.outcome).toBeUndefined();
  });

  it('alerts only: opens and resolves without any action, and notifies the webhook', async () => {
    const h = await setup(
      policy('require-owner', {
        resources: { kind: 'InstanceGroup' },
        violation: "!('owner' in resource.tags)",
        remedy: 'alert',
        notify: 'https://hooks.example/compliance',
      }),
      [group('web', {})],
    );
    expect(ofType(h, 'compliance.violation.opened')).toHaveLength(1);
    expect(h.compliance.report().policies[0]!.open[0]!.trigger).toBeUndefined();
    h.clock.advance(90_000);
    h.resources[0] = group('web', { owner: 'me' });
    const fix = change('instancegroup/web', h.clock);
    await h.instance.onEvent('change', fix);
    expect(h.gate.records).toEqual([]);
    expect(h.calls).toEqual([]);
    expect(ofType(h, 'compliance.violation.resolved')[0]).toMatchObject({
      causationid: fix.id,
      data: { resolution: 'compliant', timeToRemediateMs: 90_000 },
    });
    expect(h.notified.map((n) => [n.url, (n.body as { type: string }).type])).toEqual([
      ['https://hooks.example/compliance', 'compliance.violation.opened'],
      ['https://hooks.example/compliance', 'compliance.violation.resolved'],
    ]);
    expect(h.notified[0]!.key).toBe(ofType(h, 'compliance.violation.opened')[0]!.id);
  });

  it('retries a failed remedy on a later scan only', async () => {
    const h = await setup(
      policy('no-open-ssh', { resources: { kind: 'SecurityRule' }, violation: SSH, remedy: 'revert', every: '1m' }),
      [securityRule('ssh', ['0.0.0.0/0'])],
      [],
    );
    expect(h.gate.records[0]).toMatchObject({
      outcome: 'failed',
      why: expect.stringContaining('no stack declares it'),
    });
    await h.instance.onEvent('change', change('securityrule/ssh', h.clock));
    expect(h.gate.records).toHaveLength(1);
    h.clock.advance(60_000);
    h.timers.fire();
    await h.compliance.settled();
    expect(h.gate.records).toHaveLength(2);
    expect(h.gate.records[0]!.cause).toBe(ofType(h, 'compliance.violation.opened')[0]!.id);
    expect(h.compliance.report().policies[0]!.open[0]!.attempts).toHaveLength(2);
  });

  it('patches a violating resource and notes a patch that does not fix it', async () => {
    const h = await setup(
      policy('no-open-ssh', {
        resources: { kind: 'SecurityRule', names: ['web-*'] },
        violation: SSH,
        remedy: 'patch',
        patch: { allow: ['10.0.0.0/8'] },
      }),
      [securityRule('web-ssh', ['0.0.0.0/0']), securityRule('db-ssh', ['0.0.0.0/0'])],
    );
    const [action] = h.gate.records;
    expect(action).toMatchObject({
      action: 'patch',
      direction: 'change',
      params: { patch: { allow: ['10.0.0.0/8'] } },
    });
    expect(h.calls).toEqual([`patch SecurityRule/web-ssh {"allow":["10.0.0.0/8"]} ${action!.id}`]);
    expect(h.compliance.report().policies[0]).toMatchObject({ evaluated: 1, compliant: 1, open: [] });

    const bad = await setup(
      policy('no-open-ssh', {
        resources: { kind: 'SecurityRule' },
        violation: SSH,
        remedy: 'patch',
        patch: { port: 3389 },
      }),
      [securityRule('ssh', ['0.0.0.0/0'])],
    );
    expect(bad.compliance.report().policies[0]!.open[0]!.note).toContain('still violates the policy');
  });

  it('stops a violating instance with its group and group size', async () => {
    const h = await setup(
      policy('no-big', { resources: { kind: 'Instance' }, violation: "resource.name == 'web-2'", remedy: 'stop' }),
      [instance('web-1', 'web'), instance('web-2', 'web')],
    );
    const [action] = h.gate.records;
    expect(action).toMatchObject({
      action: 'stop',
      direction: 'stop',
      resource: 'instance/web-2',
      group: 'web',
      groupSize: 2,
    });
    expect(h.calls).toEqual([`stop web-2 ${action!.id}`]);
    expect(action!.key).toBe(`CompliancePolicy/no-big:${ofType(h, 'compliance.violation.opened')[0]!.id}:0`);
    expect(ofType(h, 'compliance.violation.resolved')[0]).toMatchObject({ data: { resolution: 'deleted' } });
  });

  it('scales a violating group down with remedy: stop', async () => {
    const h = await setup(
      policy('no-untagged', {
        resources: { kind: 'InstanceGroup' },
        violation: 'size(resource.tags) == 0',
        remedy: 'stop',
      }),
      [group('web', {})],
    );
    expect(h.gate.records[0]).toMatchObject({ action: 'scale', direction: 'down', group: 'web', params: { to: 0 } });
    expect(h.calls).toEqual([`scale web 0 ${h.gate.records[0]!.id}`]);
  });

  it('records dry-run remedies and does not retry them', async () => {
    const h = await setup(
      policy('no-open-ssh', {
        resources: { kind: 'SecurityRule' },
        violation: SSH,
        remedy: 'revert',
        safety: { mode: 'dry-run' },
      }),
      [securityRule('ssh', ['0.0.0.0/0'])],
    );
    expect(h.gate.records.map((r) => r.outcome)).toEqual(['dry-run']);
    h.clock.advance(10 * 60_000);
    h.timers.fire();
    await h.compliance.settled();
    expect(h.gate.records).toHaveLength(1);
    expect(h.calls).toEqual([]);
  });

  it('resolves a violation when its resource is deleted, and reports evaluation errors', async () => {
    const h = await setup(
      policy('port-check', {
        resources: { kind: 'SecurityRule' },
        violation: 'resource.spec.port == 22',
        remedy: 'alert',
      }),
      [
        securityRule('ssh', ['0.0.0.0/0']),
        { ...securityRule('web', ['0.0.0.0/0']), spec: { loadBalancer: 'lb', allow: [] } },
      ],
    );
    const report = h.compliance.report().policies[0]!;
    expect(report).toMatchObject({ evaluated: 2, violating: 1 });
    expect(report.errors).toEqual([
      { resource: 'securityrule/web', message: expect.stringContaining('field not found: port') },
    ]);
    h.resources.splice(0, 1);
    await h.instance.onEvent('change', change('securityrule/ssh', h.clock));
    expect(ofType(h, 'compliance.violation.resolved')[0]).toMatchObject({ data: { resolution: 'deleted' } });
    expect(h.compliance.report().policies[0]).toMatchObject({ evaluated: 1, open: [] });
  });

  it('skips events of kinds it does not check', async () => {
    const h = await setup(
      policy('no-open-ssh', { resources: { kind: 'SecurityRule' }, violation: SSH, remedy: 'alert' }),
      [],
    );
    expect(await h.instance.onEvent('change', change('instancegroup/web', h.clock))).toMatchObject({
      skipped: expect.stringContaining('not a resource this policy checks'),
    });
    expect(await h.instance.onEvent('other', change('securityrule/x', h.clock))).toMatchObject({
      skipped: expect.stringContaining("unknown hook 'other'"),
    });
  });

  it('batches concurrent changes into one read of the resources', async () => {
    const h = await setup(
      policy('no-open-ssh', { resources: { kind: 'SecurityRule' }, violation: SSH, remedy: 'alert' }),
      [securityRule('a', ['10.0.0.0/8']), securityRule('b', ['10.0.0.0/8'])],
    );
    h.resources[0] = securityRule('a', ['0.0.0.0/0']);
    h.resources[1] = securityRule('b', ['0.0.0.0/0']);
    const readsBefore = h.reads.count;
    const stackChange = change('securityrule/a', h.clock, 'stack-shop-1');
    const outOfBand = change('securityrule/a', h.clock);
    const drifted = { ...change('securityrule/a', h.clock, outOfBand.id), type: 'infra.resource.drifted' };
    const results = await Promise.all([
      h.instance.onEvent('change', stackChange),
      h.instance.onEvent('change', change('securityrule/b', h.clock)),
      h.instance.onEvent('change', outOfBand),
      h.instance.onEvent('change', drifted),
    ]);
    expect(h.reads.count - readsBefore).toBe(1);
    expect(results.map((r) => (r as { state: string }).state)).toEqual([
      'violating',
      'violating',
      'violating',
      'violating',
    ]);
    const opened = ofType(h, 'compliance.violation.opened');
    expect(opened.map((e) => e.subject)).toEqual(['securityrule/a', 'securityrule/b']);
    // The trigger of a batch is its latest out-of-band change: the root cause.
    expect(opened[0]!.causationid).toBe(outOfBand.id);
  });

  it('keeps its history across a re-apply and reports one policy or refuses an unknown one', async () => {
    const manifest = policy('no-open-ssh', { resources: { kind: 'SecurityRule' }, violation: SSH, remedy: 'alert' });
    const h = await setup(manifest, [securityRule('ssh', ['0.0.0.0/0'])]);
    expect(h.compliance.report().totals.open).toBe(1);
    await h.instance.close();
    expect(h.compliance.report().policies).toEqual([]);
    const again = await h.compliance.kind.start(h.compliance.kind.parse(manifest), {
      clock: h.clock,
      logger: pino({ level: 'silent' }),
      infra: fakeInfra(h.clock, h.resources, []).infra,
      gate: h.gate.gate,
      publish: async (batch) => void h.events.push(...batch),
      notify: async () => undefined,
    });
    await h.compliance.settled();
    expect(ofType(h, 'compliance.violation.opened')).toHaveLength(1);
    expect(h.compliance.report({ policy: 'CompliancePolicy/no-open-ssh' }).totals.open).toBe(1);
    expect(again.status()).toMatchObject({ evaluated: 1, violating: 1, open: 1 });
    expect(() => h.compliance.report({ policy: 'nope' })).toThrow(HomeostatError);
    try {
      h.compliance.report({ policy: 'nope' });
    } catch (err) {
      expect((err as HomeostatError).code).toBe(ErrorCode.NOT_FOUND);
    }
  });

  it('compiles to a valid rule that matches the changes of the kinds it checks', () => {
    const compliance = createCompliance({ clock: createManualClock(), timers: fakeTimers() });
    const spec = compliance.kind.parse(
      policy('p', {
        resources: { kind: ['SecurityRule', 'Instance'], names: ['web-*', 'ssh'] },
        violation: 'true',
        remedy: 'alert',
      }),
    );
    const [rule] = compliance.kind.compile(spec);
    expect(rule!.suffix).toBe('change');
    expect(rule!.spec.targets).toEqual([
      { name: 'evaluate', action: 'policy', with: { policy: 'CompliancePolicy/p', hook: 'change' } },
    ]);
    const ctx = ruleValidationContext(new Map([['policy', createPolicyTarget(() => undefined)]]));
    const parsed = parseRuleManifest(compiledRuleManifest('CompliancePolicy', 'p', rule!), ctx);
    expect(parsed.name).toBe('compliancepolicy.p.change');
    const ev = (type: string, subject: string, source = 'homeostat/provider/local') => ({
      specversion: '1.0',
      id: 'x',
      source,
      type,
      subject,
    });
    expect(matchPattern(parsed.match, ev('infra.resource.changed', 'securityrule/ssh'))).toBe(true);
    expect(matchPattern(parsed.match, ev('infra.resource.drifted', 'securityrule/web-1'))).toBe(true);
    expect(matchPattern(parsed.match, ev('infra.instance.crashed', 'instance/web-3'))).toBe(true);
    expect(matchPattern(parsed.match, ev('infra.resource.changed', 'securityrule/db'))).toBe(false);
    expect(matchPattern(parsed.match, ev('infra.resource.changed', 'loadbalancer/ssh'))).toBe(false);
    expect(matchPattern(parsed.match, ev('infra.metrics', 'instance/web-3'))).toBe(false);
    expect(matchPattern(parsed.match, ev('infra.resource.changed', 'securityrule/ssh', 'someone/else'))).toBe(false);
  });
});
