import { readFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import type { CloudEvent } from '../../src/core/event.js';
import { type Bench, createBench, H } from './harness.js';

let bench: Bench;

beforeEach(async () => {
  bench = await createBench();
  await bench.finops.start();
});

afterEach(async () => {
  await bench.close();
});

const manifest = (kind: string, name: string, spec: Record<string, unknown>) => ({
  apiVersion: 'homeostat/v1',
  kind,
  metadata: { name },
  spec,
});

describe('Budget', () => {
  const budget = manifest('Budget', 'shop-monthly', {
    scope: { stack: 'shop' },
    amount: 10,
    period: 'month',
    thresholds: [{ actual: '50%' }, { forecast: '100%' }],
  });

  it('alerts once per threshold per period, on the forecast first and on actual spend later, surviving restarts', async () => {
    await bench.startPolicy('Budget', budget);
    await bench.infra.addGroup({ name: 'web', stack: 'shop', desired: 10, instanceType: 'sim.large' }); // $0.84/h
    await bench.infra.addGroup({ name: 'other', desired: 50, instanceType: 'sim.large' }); // outside the scope
    await bench.finops.sync();
    await bench.finops.tick();
    const crossed = async () =>
      (await bench.events('budget.threshold.crossed')).map(
        (e) => (e.data as { threshold: { kind: string } }).threshold.kind,
      );
    expect(await crossed()).toEqual(['forecast']);

    bench.clock.advance(5 * H); // $4.20 spent: under 50 %
    await bench.finops.tick();
    expect(await crossed()).toEqual(['forecast']);
    bench.clock.advance(H); // $5.04
    await bench.finops.tick();
    await bench.finops.tick();
    expect(await crossed()).toEqual(['forecast', 'actual']);
    const [status] = await bench.finops.budgets();
    expect(status).toMatchObject({ budget: 'shop-monthly', status: 'forecast-exceeded', amount: 10 });
    expect(status!.spent).toBeCloseTo(5.04, 6);

    await bench.restart();
    await bench.startPolicy('Budget', budget);
    await bench.finops.tick();
    expect(await crossed()).toEqual(['forecast', 'actual']);

    bench.clock.set(Date.UTC(2026, 3, 1, 0, 30)); // April: a new period
    await bench.finops.tick();
    const events = await bench.events('budget.threshold.crossed');
    expect(events.map((e) => e.id)).toEqual([
      'budget-shop-monthly-2026-03-01T00:00:00.000Z-forecast-100',
      'budget-shop-monthly-2026-03-01T00:00:00.000Z-actual-50',
      'budget-shop-monthly-2026-04-01T00:00:00.000Z-forecast-100',
    ]);
  });

  it('reports its spend, forecast and thresholds in the cost report', async () => {
    await bench.startPolicy('Budget', budget);
    await bench.infra.addGroup({ name: 'web', stack: 'shop', desired: 1 });
    await bench.finops.sync();
    bench.clock.advance(H);
    const report = await bench.finops.report();
    expect(report.budgets).toHaveLength(1);
    expect(report.budgets[0]!.spent).toBeCloseTo(0.021, 9);
    expect(report.budgets[0]!.thresholds.map((t) => [t.kind, t.value, t.crossed])).toEqual([
      ['actual', 5, false],
      ['forecast', 10, true],
    ]);
  });
});

describe('IdlePolicy', () => {
  const idle = (action: string) =>
    manifest('IdlePolicy', 'web-idle', {
      target: 'group/web',
      metric: { field: 'data.rps', below: 1 },
      for: '30m',
      action,
    });

  async function fired(): Promise<CloudEvent> {
    const e: CloudEvent = {
      specversion: '1.0',
      id: `fired-${bench.clock.now()}`,
      source: 'homeostat/conditions',
      type: 'homeostat.condition.fired',
      subject: 'instancegroup/web',
      time: new Date(bench.clock.now()).toISOString(),
      causationid: await bench.metrics('web', { rps: 0.2 }),
      data: { rule: 'idlepolicy.web-idle.idle', detail: { kind: 'sustained' } },
    };
    await bench.publish([e]);
    return e;
  }

  it('scales an idle group to its minimum through the gate, once, with the cost change attributed', async () => {
    await bench.infra.addGroup({ name: 'web', desired: 4, min: 1 });
    const policy = await bench.startPolicy('IdlePolicy', idle('scale-to-min'));
    const result = await policy.onEvent('idle', await fired());
    expect(result).toMatchObject({ outcome: 'executed', from: 4, to: 1 });
    expect(bench.gate.records[0]).toMatchObject({
      policy: 'IdlePolicy/web-idle',
      direction: 'down',
      params: { from: 4, to: 1 },
    });
    expect(await policy.onEvent('idle', await fired())).toMatchObject({
      skipped: expect.stringMatching(/already at 1/),
    });
    await bench.finops.sync();
    const report = await bench.finops.report();
    expect(report.ratePerHour).toBeCloseTo(0.021, 9);
    expect(report.changes[0]!.text).toMatch(
      /^instance web-2 stopped -\$0\.0210\/h ← reconcile web: stop-instance web-2 \(scale in to desired\) ← group web scaled 4→1 ← action act-\w+ \(IdlePolicy\/web-idle scale web 4→1\) ← condition of rule idlepolicy\.web-idle\.idle held ← event infra\.metrics instancegroup\/web \(rps=0\.2\)$/,
    );
  });

  it('stops the group with action stop', async () => {
    await bench.infra.addGroup({ name: 'web', desired: 2, min: 0 });
    const policy = await bench.startPolicy('IdlePolicy', idle('stop'));
    expect(await policy.onEvent('idle', await fired())).toMatchObject({ outcome: 'executed', to: 0 });
    expect((await bench.infra.group('web'))!.desired).toBe(0);
  });
});

describe('Schedule', () => {
  const office = manifest('Schedule', 'office-hours', {
    target: { stack: 'shop' },
    timezone: 'Europe/Paris',
    stop: '0 19 * * 1-5',
    start: '0 8 * * 1-5',
  });
  // Tuesday 10 March 2026; Paris is UTC+1 until 29 March.
  const at = (day: number, hourUtc: number, minute = 0) => Date.UTC(2026, 2, day, hourUtc, minute);

  it('stops the stack at 19:00 Paris time and starts it at 08:00 with the remembered sizes, cost attributed', async () => {
    await bench.infra.addGroup({ name: 'web', stack: 'shop', desired: 3 });
    await bench.infra.addGroup({ name: 'api', stack: 'shop', desired: 2 });
    await bench.infra.addGroup({ name: 'db', desired: 1 }); // not in the stack
    const policy = await bench.startPolicy('Schedule', office);
    expect(await bench.finops.scheduler.tick()).toEqual([]);
    expect(policy.status()).toMatchObject({ next: { action: 'stop', at: '2026-03-10T18:00:00.000Z' } });

    bench.clock.set(at(10, 17, 59));
    expect(await bench.finops.scheduler.tick()).toEqual([]);
    await bench.finops.sync();
    const before = await bench.finops.report({ by: 'stack' });
    bench.clock.set(at(10, 18));
    const [stop] = await bench.finops.scheduler.tick();
    expect(stop!.id).toBe('schedule-office-hours-stop-2026-03-10T18:00:00.000Z');
    const result = await policy.onEvent('fire', stop!);
    expect(result).toMatchObject({
      action: 'stop',
      groups: [
        { group: 'web', from: 3, to: 0 },
        { group: 'api', from: 2, to: 0 },
      ],
    });
    expect(await policy.onEvent('fire', stop!)).toMatchObject({ skipped: expect.stringMatching(/already handled/) });
    await bench.finops.sync();
    const after = await bench.finops.report({ by: 'stack' });
    expect(before.rows.find((r) => r.key === 'shop')!.ratePerHour).toBeCloseTo(5 * 0.021, 9);
    expect(after.rows.find((r) => r.key === 'shop')!.ratePerHour).toBe(0);
    expect(after.ratePerHour).toBeCloseTo(0.021, 9);
    expect(after.changes[0]!.text).toMatch(
      /← action act-\w+ \(Schedule\/office-hours scale api 2→0\) ← schedule office-hours stop \(0 19 \* \* 1-5 Europe\/Paris\)$/,
    );

    await bench.restart(); // no double fire after a restart at the same time
    const again = await bench.startPolicy('Schedule', office);
    expect(await bench.finops.scheduler.tick()).toEqual([]);

    bench.clock.set(at(11, 7));
    const [start] = await bench.finops.scheduler.tick();
    expect(start!.id).toBe('schedule-office-hours-start-2026-03-11T07:00:00.000Z');
    expect(await again.onEvent('fire', start!)).toMatchObject({
      action: 'start',
      groups: [
        { group: 'web', from: 0, to: 3 },
        { group: 'api', from: 0, to: 2 },
      ],
    });
    await bench.finops.sync();
    expect((await bench.finops.report()).ratePerHour).toBeCloseTo(6 * 0.021, 9);
  });

  it('after downtime fires only the latest missed time, and follows daylight saving time', async () => {
    await bench.infra.addGroup({ name: 'web', stack: 'shop', desired: 1 });
    await bench.startPolicy('Schedule', office);
    await bench.finops.close();
    bench.clock.set(at(13, 19)); // Friday 20:00 Paris: three stops and two starts were missed
    await bench.restart();
    await bench.startPolicy('Schedule', office);
    const fired = await bench.finops.scheduler.tick();
    expect(fired.map((e) => e.id)).toEqual(['schedule-office-hours-stop-2026-03-13T18:00:00.000Z']);
    // Monday 30 March is in summer time (UTC+2): 08:00 Paris is 06:00 UTC.
    expect(bench.finops.scheduler.next('office-hours', at(29, 12))).toEqual({ action: 'start', at: at(30, 6) });
  });
});

describe('examples/policies', () => {
  it.each([
    ['budget.yaml', 'Budget'],
    ['idle.yaml', 'IdlePolicy'],
    ['schedule.yaml', 'Schedule'],
  ])('%s parses as a %s and starts', async (file, kind) => {
    const doc = parseYaml(readFileSync(new URL(`../../examples/policies/${file}`, import.meta.url), 'utf8')) as Record<
      string,
      unknown
    >;
    expect(doc.kind).toBe(kind);
    await bench.infra.addGroup({ name: 'web', stack: 'web', desired: 2, min: 1 });
    const instance = await bench.startPolicy(kind, doc);
    expect(instance.status()).toBeTypeOf('object');
    await instance.close();
  });
});
