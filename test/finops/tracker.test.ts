import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Bench, createBench, H } from './harness.js';

const SMALL = 0.021;

let bench: Bench;

beforeEach(async () => {
  bench = await createBench();
  await bench.finops.start();
});

afterEach(async () => {
  await bench.close();
});

describe('cost tracking', () => {
  it('charges each running instance its type price from the provider and integrates over time', async () => {
    await bench.infra.addGroup({ name: 'web', stack: 'shop', desired: 2, tags: { team: 'web' } });
    await bench.infra.addGroup({ name: 'batch', desired: 1, instanceType: 'sim.large' });
    await bench.finops.sync();
    bench.clock.advance(2 * H);
    const report = await bench.finops.report({ since: bench.clock.now() - 2 * H });
    expect(report.ratePerHour).toBeCloseTo(2 * SMALL + 0.084, 9);
    expect(report.instances).toBe(3);
    expect(report.window.cost).toBeCloseTo(2 * (2 * SMALL + 0.084), 9);
    expect(report.rows.map((r) => [r.key, r.ratePerHour, r.instances])).toEqual([
      ['batch', 0.084, 1],
      ['web', 0.042, 2],
    ]);
    const byStack = await bench.finops.report({ by: 'stack' });
    expect(byStack.rows.map((r) => r.key).sort()).toEqual(['(none)', 'shop']);
    const byTag = await bench.finops.report({ by: 'tag' });
    expect(byTag.rows.find((r) => r.key === 'team=web')?.instances).toBe(2);
    // Homeostat's own tags are not cost dimensions.
    expect(byTag.rows.some((r) => r.key.startsWith('homeostat.io/'))).toBe(false);
  });

  it('stops charging an instance when it stops, and the month forecast follows the current rate', async () => {
    await bench.infra.addGroup({ name: 'web', desired: 3 });
    await bench.finops.sync();
    bench.clock.advance(H);
    await bench.infra.scaleGroup('web', 1, 'manual');
    await bench.finops.sync();
    bench.clock.advance(H);
    const r = await bench.finops.report();
    expect(r.ratePerHour).toBeCloseTo(SMALL, 9);
    expect(r.month.toDate).toBeCloseTo(3 * SMALL + SMALL, 9);
    const hoursLeft = (Date.parse(r.month.end) - bench.clock.now()) / H;
    expect(r.month.forecast).toBeCloseTo(r.month.toDate + SMALL * hoursLeft, 6);
  });

  it('attributes a cost change to the decision, the scaling, the action and the event that triggered it', async () => {
    await bench.infra.addGroup({ name: 'web', desired: 2 });
    const trigger = await bench.metrics('web', { rps: 950, instances: 2 });
    await bench.gate.submit(
      {
        policy: 'ScalingPolicy/web',
        action: 'scale',
        resource: 'instancegroup/web',
        params: { from: 2, to: 4 },
        reason: 'rps per instance 475 > target 100',
        cause: trigger,
      },
      async (actionId) => ({ ...(await bench.infra.scaleGroup('web', 4, actionId)) }),
    );
    await bench.finops.sync();
    const { changes } = await bench.finops.report();
    const newest = changes[0]!;
    expect(newest.instance).toBe('web-4');
    expect(newest.deltaPerHour).toBeCloseTo(SMALL, 9);
    expect(newest.chain.map((l) => l.type)).toEqual([
      'infra.reconcile.decided',
      'infra.group.scaled',
      'homeostat.action.executed',
      'infra.metrics',
    ]);
    const action = bench.gate.records[0]!.id;
    expect(newest.text).toBe(
      `instance web-4 started +$0.0210/h ← reconcile web: start-instance (scale out to desired) ← group web scaled 2→4 ← action ${action} (ScalingPolicy/web scale web 2→4) ← event infra.metrics instancegroup/web (rps=950, instances=2)`,
    );
    // The published cost.changed event points at the instance event, which points at its cause.
    const costEvents = await bench.events('cost.changed');
    expect(costEvents.at(-1)!.causationid).toBe(newest.eventId);
  });

  it('attributes a replacement to the crash that caused it', async () => {
    await bench.infra.addGroup({ name: 'web', desired: 2 });
    await bench.infra.crash('web-1');
    await bench.finops.sync();
    const { changes } = await bench.finops.report();
    expect(changes[0]!.text).toMatch(
      /^instance web-3 started \+\$0\.0210\/h ← reconcile web: start-instance .* ← event infra\.instance\.crashed instance\/web-1$/,
    );
    expect(changes[1]!.text).toBe('instance web-1 crashed -$0.0210/h');
  });

  it('keeps cost to date across a restart, counting the time it was down and nothing twice', async () => {
    await bench.infra.addGroup({ name: 'web', desired: 2 });
    await bench.finops.sync();
    bench.clock.advance(2 * H);
    await bench.restart();
    bench.clock.advance(H);
    await bench.finops.close(); // the scale-in below happens while FinOps is down
    await bench.infra.scaleGroup('web', 1, 'manual');
    await bench.restart();
    await bench.finops.sync();
    await bench.restart();
    bench.clock.advance(H);
    await bench.finops.sync();
    const r = await bench.finops.report();
    // 2 instances for 3 h, then 1 for 1 h.
    expect(r.month.toDate).toBeCloseTo(7 * SMALL, 9);
    expect(r.ratePerHour).toBeCloseTo(SMALL, 9);
    expect(r.changes.map((c) => `${c.instance} ${c.kind}`)).toEqual([
      'web-2 stopped',
      'web-2 started',
      'web-1 started',
    ]);
  });

  it('publishes one cost.anomaly when the rate jumps against its baseline, caused by the change', async () => {
    await bench.restart({ anomaly: { factor: 2, floorPerHour: 0.05, halfLifeMs: H } });
    await bench.infra.addGroup({ name: 'web', desired: 2 });
    await bench.finops.sync();
    bench.clock.advance(6 * H);
    await bench.infra.scaleGroup('web', 8, 'flash-sale');
    await bench.finops.sync();
    const anomalies = (await bench.events('cost.anomaly')).filter((e) => e.subject === 'instancegroup/web');
    expect(anomalies).toHaveLength(1);
    const data = anomalies[0]!.data as Record<string, number>;
    // 4 instances double the baseline but add only $0.042/h, under the floor; the 5th crosses both.
    expect(data.ratePerHour).toBeCloseTo(5 * SMALL, 6);
    expect(data.baselinePerHour).toBeCloseTo(2 * SMALL, 3); // 6 half-lives after the rate became 2 instances
    const started = (await bench.events('infra.instance.started')).map((e) => e.id);
    expect(started).toContain(anomalies[0]!.causationid);
    expect((await bench.finops.report()).anomalies).toHaveLength(2); // the group's and the total's
  });
});
