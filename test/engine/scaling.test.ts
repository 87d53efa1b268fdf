/**
 * The example ScalingPolicy (examples/policies/scale-web.yaml) through the real action gate: the
 * flash sale of docs/SCALING.md, each change on the log with its arithmetic and its cause, and the
 * policy's behaviour in the gate's dry-run and approval modes.
 */
import { readFileSync } from 'node:fs';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { createManualClock } from '../../src/core/clock.js';
import type { CloudEvent } from '../../src/core/event.js';
import type { SafetyMode } from '../../src/core/safety/types.js';
import { createActionGate } from '../../src/engine/automation/gate.js';
import type { GroupView, InfraControl } from '../../src/engine/automation/types.js';
import { scalingPolicyKind } from '../../src/engine/policies/scaling.js';
import { createTestApprovals } from './memory-approvals.js';

const example = (): Record<string, unknown> =>
  parse(readFileSync(new URL('../../examples/policies/scale-web.yaml', import.meta.url), 'utf8')) as Record<
    string,
    unknown
  >;

/** examples/stacks/web.yaml's group (2..10, 3 to start), resized at once by scaleGroup. */
function webGroup() {
  const g = { desired: 3, min: 2, max: 10 };
  const view = (): GroupView => ({
    name: 'web',
    provider: 'local',
    desired: g.desired,
    min: g.min,
    max: g.max,
    instanceType: 'local.small',
    pricePerHour: 0,
    tags: {},
    instances: [],
    held: false,
  });
  const infra = {
    group: (name: string) => Promise.resolve(name === 'web' ? view() : undefined),
    scaleGroup: (_name: string, desired: number) => {
      const from = g.desired;
      g.desired = Math.max(g.min, Math.min(g.max, desired));
      return Promise.resolve({ from, to: g.desired });
    },
  } as unknown as InfraControl;
  return { g, infra };
}

async function setup(mode: SafetyMode = 'enforce') {
  const clock = createManualClock(Date.UTC(2026, 0, 1));
  const logger = pino({ level: 'silent' });
  const events: CloudEvent[] = [];
  const approvals = createTestApprovals(() => clock.now());
  let ids = 0;
  const gate = createActionGate({
    clock,
    logger,
    approvals,
    publish: async (batch) => {
      events.push(...batch);
      return batch.map(() => ({ status: 'accepted' }));
    },
    newId: () => `act-${++ids}`,
  });
  const manifest = example();
  const spec = scalingPolicyKind.parse({
    ...manifest,
    spec: { ...(manifest.spec as object), safety: { mode } },
  });
  gate.configure('ScalingPolicy/web', spec.safety);
  const group = webGroup();
  const instance = await scalingPolicyKind.start(spec, {
    clock,
    logger,
    infra: group.infra,
    gate,
    publish: () => Promise.resolve(),
    notify: () => Promise.resolve(),
  });
  let seq = 0;
  /** The local provider's metrics event `ms` after the previous one, for `rps` over the group. */
  const tick = (ms: number, rps: number) => {
    clock.advance(ms);
    return instance.onEvent('metrics', {
      specversion: '1.0',
      id: `m-${++seq}`,
      source: 'homeostat/provider/local',
      type: 'infra.metrics',
      subject: 'instancegroup/web',
      time: new Date(clock.now()).toISOString(),
      data: { group: 'web', rps, inFlight: 1, requests: rps / 4, instances: group.g.desired, intervalMs: 250 },
    });
  };
  return { clock, events, approvals, gate, group, instance, tick };
}

describe('examples/policies/scale-web.yaml through the action gate', () => {
  it('flash sale: decides on the first metrics after a 10× rise, logs each change with its arithmetic and cause', async () => {
    const t = await setup();
    await t.tick(250, 300); // 100 per instance: on target
    expect(t.events).toEqual([]);
    await t.tick(250, 3000); // 10×
    expect(t.group.g.desired).toBe(7);
    const executed = t.events.filter((e) => e.type === 'homeostat.action.executed');
    expect(executed).toHaveLength(1);
    expect(executed[0]).toMatchObject({ id: 'act-1', causationid: 'm-2', subject: 'instancegroup/web' });
    expect(JSON.stringify(executed[0]!.data)).toContain('"afterMaxStep":7');
    // 5 s of cooldown, then up to the policy's max (10)
    for (let i = 0; i < 20; i++) await t.tick(250, 3000);
    expect(t.group.g.desired).toBe(10);
    expect(t.events.filter((e) => e.type === 'homeostat.action.executed')).toHaveLength(2);
    // the sale ends: one instance at a time once the 60 s window holds no higher recommendation
    for (let s = 0; s < 60; s++) await t.tick(1_000, 300);
    expect(t.group.g.desired).toBe(10);
    await t.tick(1_000, 300);
    expect(t.group.g.desired).toBe(9);
    for (let s = 0; s < 30 * 6; s++) await t.tick(1_000, 300);
    expect(t.group.g.desired).toBe(3);
    const ups = t.events.filter((e) => (e.data as { direction?: string }).direction === 'up');
    expect(ups).toHaveLength(2);
    expect(t.gate.frozen()).toEqual([]);
  });

  it('in dry-run changes nothing and records what it would do, once per cooldown', async () => {
    const t = await setup('dry-run');
    await t.tick(250, 3000);
    for (let i = 0; i < 19; i++) await t.tick(250, 3000);
    expect(t.group.g.desired).toBe(3);
    expect(t.events.map((e) => e.type)).toEqual(['homeostat.action.dry-run']);
    await t.tick(250, 3000);
    expect(t.events.map((e) => e.type)).toEqual(['homeostat.action.dry-run', 'homeostat.action.dry-run']);
  });

  it('in approval mode asks once, acts when approved, then starts its cooldown', async () => {
    const t = await setup('approval');
    await t.tick(250, 3000);
    for (let i = 0; i < 40; i++) await t.tick(250, 3000);
    const pending = await t.approvals.list({ status: 'pending' });
    expect(pending).toHaveLength(1);
    expect(t.group.g.desired).toBe(3);
    await t.approvals.decide(pending[0]!.id, { approve: true, by: 'alice' });
    await t.approvals.settled();
    expect(t.group.g.desired).toBe(7);
    await t.tick(250, 3000);
    expect(await t.approvals.list()).toHaveLength(1);
    await t.tick(5_000, 3000);
    expect(await t.approvals.list({ status: 'pending' })).toHaveLength(1);
    expect(t.instance.status()).toMatchObject({ pendingApproval: { direction: 'up', to: 10 } });
  });
});
