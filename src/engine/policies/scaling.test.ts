/** @module ScalingPolicy instance against an in-memory group and gate, on a manual clock. */
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { createManualClock, type ManualClock } from '../../core/clock.js';
import type { CloudEvent } from '../../core/event.js';
import type { Resource } from '../../core/infra/types.js';
import { matchPattern } from '../../core/pattern/naive.js';
import { parseRuleManifest } from '../../core/rules/manifest.js';
import type { ScalingPolicySpec } from '../../core/scaling/index.js';
import type {
  ActionFilter,
  ActionGate,
  ActionOutcome,
  ActionRecord,
  ActionRequest,
  GroupView,
  InfraControl,
} from '../automation/types.js';
import { SCALING_HISTORY, scalingPolicyKind } from './scaling.js';
import { compiledRuleManifest } from './service.js';
import { createPolicyTarget } from './target.js';
import type { PolicyContext, PolicyInstance } from './types.js';

/** One instance group whose size follows scaleGroup at once (clamped like the real control). */
function memoryGroup(init: { desired: number; min: number; max: number }) {
  const g = { ...init };
  const scaled: { to: number; cause: string }[] = [];
  const instance = (i: number): Resource<'Instance'> => ({
    kind: 'Instance',
    name: `web-${i}`,
    spec: { group: 'web' },
    status: { group: 'web', phase: 'running', healthy: true },
    tags: {},
    pricePerHour: 0,
    provider: 'mem',
  });
  const view = (): GroupView => ({
    name: 'web',
    provider: 'mem',
    desired: g.desired,
    min: g.min,
    max: g.max,
    instanceType: 'mem.small',
    pricePerHour: 0,
    tags: {},
    instances: Array.from({ length: g.desired }, (_, i) => instance(i + 1)),
    held: false,
  });
  const unused = () => Promise.reject(new Error('not used by ScalingPolicy'));
  const infra: InfraControl = {
    resources: unused,
    group: (name) => Promise.resolve(name === 'web' ? view() : undefined),
    groups: () => Promise.resolve([view()]),
    scaleGroup: (_name, desired, cause) => {
      const from = g.desired;
      g.desired = Math.max(g.min, Math.min(g.max, desired));
      scaled.push({ to: g.desired, cause });
      return Promise.resolve({ from, to: g.desired });
    },
    replaceInstance: unused,
    restartInstance: unused,
    stopInstance: unused,
    holdGroup: unused,
    releaseGroup: unused,
    revert: unused,
    patch: unused,
  };
  return { infra, g, scaled };
}

/** A gate that answers with `answer` (enforce: performs) and keeps every request. */
function fakeGate(clock: ManualClock) {
  let n = 0;
  const state = { answer: 'executed' as ActionOutcome };
  const records: ActionRecord[] = [];
  const requests: ActionRequest[] = [];
  const gate: ActionGate = {
    configure: () => undefined,
    remove: () => undefined,
    async submit(request, perform) {
      requests.push(request);
      const id = `act-${++n}`;
      const base = { ...request, id, at: clock.now() };
      let record: ActionRecord;
      if (state.answer === 'executed') record = { ...base, outcome: 'executed', result: await perform(id) };
      else if (state.answer === 'pending-approval')
        record = { ...base, outcome: 'pending-approval', approval: `apr-${n}` };
      else record = { ...base, outcome: state.answer, why: `said ${state.answer}` };
      records.unshift(record);
      return record;
    },
    recent: (filter?: ActionFilter) => records.filter((r) => !filter?.policy || r.policy === filter.policy),
    frozen: () => [],
    unfreeze: () => Promise.reject(new Error('not used')),
  };
  /** Decides the pending approval: performs it (approve) or records it rejected. */
  async function decide(id: string, approve: boolean, perform: (to: number) => Promise<unknown>) {
    const i = records.findIndex((r) => r.id === id);
    const r = records[i]!;
    if (approve) await perform((r.params as { to: number }).to);
    records[i] = { ...r, outcome: approve ? 'executed' : 'rejected', at: clock.now() };
  }
  return { gate, state, requests, records, decide };
}

const T0 = Date.UTC(2026, 0, 1);

function setup(spec: Record<string, unknown>, group = { desired: 3, min: 2, max: 20 }) {
  const clock = createManualClock(T0);
  const mem = memoryGroup(group);
  const gate = fakeGate(clock);
  const context: PolicyContext = {
    clock,
    logger: pino({ level: 'silent' }),
    infra: mem.infra,
    gate: gate.gate,
    publish: () => Promise.resolve(),
    notify: () => Promise.resolve(),
  };
  const parsed = scalingPolicyKind.parse({
    apiVersion: 'homeostat/v1',
    kind: 'ScalingPolicy',
    metadata: { name: 'web' },
    spec: { target: 'group/web', ...spec },
  });
  const instance = scalingPolicyKind.start(parsed, context) as PolicyInstance;
  let seq = 0;
  /** A metrics event the local provider would publish now, for `rps` over the group's current instances. */
  const metrics = (rps: number, extra: Record<string, unknown> = {}): CloudEvent => ({
    specversion: '1.0',
    id: `m-${++seq}`,
    source: 'homeostat/provider/local',
    type: 'infra.metrics',
    subject: 'instancegroup/web',
    time: new Date(clock.now()).toISOString(),
    data: { group: 'web', rps, inFlight: 0, requests: Math.round(rps), instances: mem.g.desired, ...extra },
  });
  /** Delivers one metrics event `ms` after the previous one. */
  const tick = async (ms: number, rps: number) => {
    clock.advance(ms);
    return instance.onEvent('metrics', metrics(rps));
  };
  return { clock, mem, gate, instance, parsed, metrics, tick };
}

const FLASH = {
  min: 2,
  max: 20,
  metric: { field: 'data.rpsPerInstance', target: 100 },
  scaleOut: { cooldown: '5s', maxStep: 4 },
  scaleIn: { stabilization: '60s', maxStep: 1, cooldown: '30s' },
};

describe('scalingPolicyKind.compile', () => {
  it('compiles to one valid rule that matches the target group’s metrics events only', () => {
    const { parsed, metrics } = setup({ ...FLASH, metric: { ...FLASH.metric, source: 'homeostat/provider/local' } });
    const rules = scalingPolicyKind.compile(parsed);
    expect(rules).toHaveLength(1);
    const manifest = compiledRuleManifest('ScalingPolicy', 'web', rules[0]!);
    const target = createPolicyTarget(() => undefined);
    const rule = parseRuleManifest(manifest, {
      knownActions: ['policy'],
      validateAction: (action, options) => (action === 'policy' ? target.validate(options) : undefined),
    });
    expect(rule.name).toBe('scalingpolicy.web.metrics');
    expect(rule.targets[0]).toMatchObject({
      action: 'policy',
      with: { policy: 'ScalingPolicy/web', hook: 'metrics' },
      ordered: true,
    });
    const event = metrics(10);
    expect(matchPattern(rule.match, event)).toBe(true);
    expect(matchPattern(rule.match, { ...event, subject: 'instancegroup/api' })).toBe(false);
    expect(matchPattern(rule.match, { ...event, type: 'infra.instance.ready' })).toBe(false);
    expect(matchPattern(rule.match, { ...event, source: 'homeostat/scrape/web' })).toBe(false);
  });
});

describe('ScalingPolicy instance', () => {
  it('flash sale: scales out at once by maxStep on a 10× rise, respects the cooldown, scales in after stabilization', async () => {
    const t = setup(FLASH);
    expect(await t.tick(250, 300)).toMatchObject({ decision: 'none', desired: 3 });
    // load rises 10×: the first metrics event after the rise decides
    const first = await t.tick(250, 3000);
    expect(first).toMatchObject({ decision: 'up', from: 3, to: 7, outcome: 'executed', action: 'act-1' });
    expect(t.mem.g.desired).toBe(7);
    const req = t.gate.requests[0]!;
    expect(req).toMatchObject({
      policy: 'ScalingPolicy/web',
      action: 'scale',
      resource: 'instancegroup/web',
      group: 'web',
      direction: 'up',
      params: { from: 3, to: 7 },
      cause: 'm-2',
      groupSize: 3,
    });
    expect(req.inputs).toMatchObject({ value: 1000, derived: 'data.rps / data.instances', raw: 30, afterMaxStep: 7 });
    expect(req.reason).toBe(
      'data.rpsPerInstance 1000 (data.rps / data.instances) vs target 100: 3 × 10 → 30; scale out 3 → 7 (max step 4)',
    );
    expect(t.mem.scaled[0]).toEqual({ to: 7, cause: 'act-1' });
    // within the 5 s cooldown: nothing submitted
    for (let i = 0; i < 19; i++) await t.tick(250, 3000);
    expect(t.gate.requests).toHaveLength(1);
    expect(await t.tick(250, 3000)).toMatchObject({ decision: 'up', from: 7, to: 11 });
    await t.tick(5_000, 3000);
    await t.tick(5_000, 3000);
    expect(t.mem.g.desired).toBe(19);
    await t.tick(5_000, 3000);
    expect(t.mem.g.desired).toBe(20); // max
    // load drops back: no scale-in while the window still holds the high recommendations
    const drop = await t.tick(1_000, 300);
    expect(drop).toMatchObject({ decision: 'none', desired: 20 });
    for (let s = 0; s < 59; s++) await t.tick(1_000, 300);
    expect(t.mem.g.desired).toBe(20);
    expect(t.gate.requests.filter((r) => r.direction === 'down')).toHaveLength(0);
    await t.tick(1_000, 300);
    expect(t.mem.g.desired).toBe(19);
    // then one at a time, every 30 s (scale-in cooldown)
    await t.tick(29_000, 300);
    expect(t.mem.g.desired).toBe(19);
    await t.tick(1_000, 300);
    expect(t.mem.g.desired).toBe(18);
    const status = t.instance.status() as Record<string, unknown>;
    expect(status).toMatchObject({
      policy: 'ScalingPolicy/web',
      group: 'web',
      mode: 'target-tracking',
      current: 19,
      desired: 18,
      lastScaleInAt: new Date(t.clock.now()).toISOString(),
    });
    const last = status.last as Record<string, unknown>;
    expect(last).toMatchObject({ direction: 'down', outcome: 'executed', arithmetic: { mode: 'target-tracking' } });
    expect((status.recent as unknown[]).length).toBe(SCALING_HISTORY);
  });

  it('scales to zero after the idle time and back from zero on traffic', async () => {
    const t = setup(
      { metric: { field: 'data.rpsPerInstance', target: 100 }, scaleToZero: { after: '10m' } },
      { desired: 2, min: 0, max: 10 },
    );
    await t.tick(1_000, 0);
    await t.tick(299_000, 0);
    expect(t.mem.g.desired).toBe(2);
    // no traffic: target tracking scales in to the floor (1) after the 300 s stabilization
    await t.tick(1_000, 0);
    expect(t.mem.g.desired).toBe(1);
    await t.tick(299_000, 0);
    expect(t.mem.g.desired).toBe(1);
    expect(await t.tick(1_000, 0)).toMatchObject({ decision: 'down', from: 1, to: 0, outcome: 'executed' });
    expect(t.mem.g.desired).toBe(0);
    expect(await t.tick(60_000, 0)).toMatchObject({ decision: 'none', desired: 0 });
    // traffic reaches the balancer with no instances: 250 requests per second answered 503
    const back = await t.tick(1_000, 250);
    expect(back).toMatchObject({ decision: 'up', from: 0, to: 3, outcome: 'executed' });
    expect(t.gate.requests.at(-1)?.inputs).toMatchObject({ mode: 'activation', total: 250, raw: 3 });
  });

  it('does not scale to zero a group whose min is above zero', async () => {
    const t = setup(
      { metric: { field: 'data.rpsPerInstance', target: 100 }, scaleToZero: { after: '1m' } },
      { desired: 1, min: 1, max: 10 },
    );
    await t.tick(1_000, 0);
    await t.tick(120_000, 0);
    expect(t.mem.g.desired).toBe(1);
    expect(t.gate.requests).toHaveLength(0);
    const last = (t.instance.status() as { last: { reason: string } }).last;
    expect(last.reason).toMatch(/give the group min: 0/);
  });

  it('in dry-run records what it would do at the pace it would do it, without changing the group', async () => {
    const t = setup(FLASH);
    t.gate.state.answer = 'dry-run';
    expect(await t.tick(250, 3000)).toMatchObject({ decision: 'up', to: 7, outcome: 'dry-run' });
    for (let i = 0; i < 19; i++) await t.tick(250, 3000);
    expect(t.gate.requests).toHaveLength(1);
    await t.tick(250, 3000);
    expect(t.gate.requests).toHaveLength(2);
    expect(t.mem.g.desired).toBe(3);
    expect(t.mem.scaled).toEqual([]);
  });

  it('after a refusal waits before asking again in that direction', async () => {
    const t = setup({ ...FLASH, scaleOut: { cooldown: 0, maxStep: 4 } });
    t.gate.state.answer = 'refused';
    expect(await t.tick(250, 3000)).toMatchObject({ outcome: 'refused' });
    const held = await t.tick(1_000, 3000);
    expect(held).toMatchObject({ decision: 'up', submitted: false });
    expect(String((held as { why: string }).why)).toMatch(/not executed; next try after/);
    await t.tick(3_999, 3000);
    expect(t.gate.requests).toHaveLength(1);
    t.gate.state.answer = 'executed';
    await t.tick(1, 3000);
    expect(t.gate.requests).toHaveLength(2);
    expect(t.mem.g.desired).toBe(7);
  });

  it('while a change awaits approval asks for no other, and starts the cooldown once it is executed', async () => {
    const t = setup(FLASH);
    t.gate.state.answer = 'pending-approval';
    expect(await t.tick(250, 3000)).toMatchObject({ outcome: 'pending-approval', action: 'act-1' });
    for (let i = 0; i < 40; i++) await t.tick(250, 3000);
    expect(t.gate.requests).toHaveLength(1);
    expect(t.instance.status()).toMatchObject({ pendingApproval: { id: 'act-1', direction: 'up', to: 7 } });
    await t.gate.decide('act-1', true, (to) => t.mem.infra.scaleGroup('web', to, 'act-1'));
    t.gate.state.answer = 'executed';
    await t.tick(250, 3000);
    // approved just now: the scale-out cooldown runs from the approval
    expect(t.gate.requests).toHaveLength(1);
    expect(t.mem.g.desired).toBe(7);
    await t.tick(5_000, 3000);
    expect(t.gate.requests).toHaveLength(2);
    expect(t.mem.g.desired).toBe(11);
  });

  it('after a rejected approval may ask again', async () => {
    const t = setup(FLASH);
    t.gate.state.answer = 'pending-approval';
    await t.tick(250, 3000);
    await t.gate.decide('act-1', false, () => Promise.resolve());
    await t.tick(250, 3000);
    expect(t.gate.requests).toHaveLength(2);
  });

  it('handles events one at a time, in the order delivered', async () => {
    const t = setup({ ...FLASH, scaleOut: { cooldown: 0, maxStep: 4 } });
    t.clock.advance(250);
    const a = t.instance.onEvent('metrics', t.metrics(3000));
    const b = t.instance.onEvent('metrics', t.metrics(3000, { instances: 7 }));
    expect(await a).toMatchObject({ from: 3, to: 7 });
    expect(await b).toMatchObject({ from: 7, to: 11 });
  });

  it('skips metrics older than those already decided on, unknown hooks and a missing group', async () => {
    const t = setup(FLASH);
    const old = t.metrics(300);
    t.clock.advance(1_000);
    expect(await t.instance.onEvent('metrics', t.metrics(300))).toMatchObject({ decision: 'none' });
    expect(await t.instance.onEvent('metrics', old)).toMatchObject({
      skipped: 'older than metrics already decided on',
    });
    expect(await t.instance.onEvent('other', t.metrics(3000))).toMatchObject({ skipped: "unknown hook 'other'" });
    const missing = setup({ ...FLASH, target: 'group/api' });
    expect(await missing.tick(1, 3000)).toMatchObject({ skipped: "no instance group 'api'" });
    expect(t.gate.requests).toHaveLength(0);
    expect(t.instance.status()).toMatchObject({ counts: { events: 2, outOfOrder: 1, decisions: 1 } });
  });

  it('measures windows and cooldowns on the metrics’ clock (a simulated cloud keeps its own time)', async () => {
    const t = setup(FLASH);
    const at = (ms: number, rps: number): CloudEvent => ({
      ...t.metrics(rps),
      time: new Date(Date.UTC(2020, 0, 1) + ms).toISOString(),
    });
    expect(await t.instance.onEvent('metrics', at(0, 3000))).toMatchObject({ from: 3, to: 7 });
    t.clock.advance(60_000); // engine time moves on; the metrics' time does not
    expect(await t.instance.onEvent('metrics', at(4_999, 3000))).toMatchObject({ decision: 'none' });
    expect(await t.instance.onEvent('metrics', at(5_000, 3000))).toMatchObject({ from: 7, to: 11 });
    expect(t.instance.status()).toMatchObject({ lastScaleOutAt: '2020-01-01T00:00:05.000Z' });
  });

  it('holds and says why when the metric is missing from the event', async () => {
    const t = setup({ ...FLASH, metric: { field: 'data.cpu.avg', target: 0.5 } });
    expect(await t.tick(250, 3000)).toMatchObject({ decision: 'none', desired: 3 });
    expect(t.instance.status()).toMatchObject({
      last: { held: 'no-metric', reason: expect.stringMatching(/has no 'cpu'/) },
    });
  });

  it('stops deciding once closed', async () => {
    const t = setup(FLASH);
    await t.instance.close();
    expect(await t.tick(250, 3000)).toMatchObject({ skipped: 'policy closed' });
  });

  it('uses the spec type to satisfy the policy kind contract', () => {
    const spec: ScalingPolicySpec = setup(FLASH).parsed;
    expect(scalingPolicyKind.kind).toBe('ScalingPolicy');
    expect(spec.safety.mode).toBe('enforce');
  });
});
