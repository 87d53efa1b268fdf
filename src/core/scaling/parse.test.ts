import { describe, expect, it } from 'vitest';
import { ErrorCode, type HomeostatError } from '../errors.js';
import { DEFAULT_SAFETY } from '../safety/parse.js';
import { parseScalingPolicy } from './parse.js';

function manifest(spec: Record<string, unknown>, name: unknown = 'web'): Record<string, unknown> {
  return { apiVersion: 'homeostat/v1', kind: 'ScalingPolicy', metadata: { name }, spec };
}

const base = { target: 'group/web', metric: { field: 'data.rpsPerInstance', target: 100 } };

function problems(doc: unknown): { pointer: string; message: string }[] {
  try {
    parseScalingPolicy(doc);
  } catch (err) {
    const e = err as HomeostatError;
    expect(e.code).toBe(ErrorCode.INVALID);
    return [...e.problems];
  }
  throw new Error('expected the manifest to be invalid');
}

function pointers(doc: unknown): string[] {
  return problems(doc).map((p) => p.pointer);
}

describe('parseScalingPolicy', () => {
  it('reads the DESIGN.md example and applies the defaults', () => {
    const spec = parseScalingPolicy(
      manifest({
        target: 'group/web',
        min: 2,
        max: 20,
        metric: { type: 'infra.metrics', field: 'data.rpsPerInstance', target: 100 },
        scaleOut: { cooldown: '5s', maxStep: 4 },
        scaleIn: { stabilization: '60s' },
      }),
    );
    expect(spec).toEqual({
      kind: 'ScalingPolicy',
      name: 'web',
      safety: DEFAULT_SAFETY,
      target: 'instancegroup/web',
      group: 'web',
      min: 2,
      max: 20,
      metric: {
        type: 'infra.metrics',
        field: 'data.rpsPerInstance',
        path: ['data', 'rpsPerInstance'],
        perInstance: false,
        instancesField: 'data.instances',
        instancesPath: ['data', 'instances'],
        target: 100,
      },
      tolerance: 0.1,
      scaleOut: { cooldownMs: 5_000, stabilizationMs: 0, maxStep: { instances: 4 } },
      scaleIn: { cooldownMs: 15_000, stabilizationMs: 60_000 },
    });
    expect(Object.isFrozen(spec)).toBe(true);
    expect(Object.isFrozen(spec.metric)).toBe(true);
  });

  it('defaults like the HPA: 300 s scale-in stabilization, 10 % tolerance, no step limit', () => {
    const spec = parseScalingPolicy(manifest(base));
    expect(spec.scaleIn).toEqual({ cooldownMs: 15_000, stabilizationMs: 300_000 });
    expect(spec.scaleOut).toEqual({ cooldownMs: 5_000, stabilizationMs: 0 });
    expect(spec.tolerance).toBe(0.1);
    expect(spec.min).toBeUndefined();
    expect(spec.max).toBeUndefined();
    expect(spec.metric.type).toBe('infra.metrics');
  });

  it('accepts instancegroup/<name> and $.-prefixed fields', () => {
    const spec = parseScalingPolicy(
      manifest({ target: 'instancegroup/api', metric: { field: '$.data.cpu.avg', target: 0.6 } }, 'api'),
    );
    expect(spec.group).toBe('api');
    expect(spec.target).toBe('instancegroup/api');
    expect(spec.metric.field).toBe('data.cpu.avg');
    expect(spec.metric.path).toEqual(['data', 'cpu', 'avg']);
  });

  it('reads perInstance, instancesField, source, percent steps, scale to zero and safety', () => {
    const spec = parseScalingPolicy(
      manifest({
        target: 'group/web',
        metric: {
          field: 'data.rps',
          perInstance: true,
          instancesField: 'data.healthyInstances',
          source: 'homeostat/provider/local',
          target: 50,
        },
        scaleOut: { maxStep: '100%', stabilization: '3s', cooldown: 0 },
        scaleIn: { maxStep: '10%', cooldown: '30s' },
        scaleToZero: { after: '10m' },
        tolerance: 0,
        safety: { mode: 'dry-run' },
      }),
    );
    expect(spec.metric).toMatchObject({ perInstance: true, instancesField: 'data.healthyInstances' });
    expect(spec.metric.source).toBe('homeostat/provider/local');
    expect(spec.scaleOut).toEqual({ cooldownMs: 0, stabilizationMs: 3_000, maxStep: { percent: 100 } });
    expect(spec.scaleIn).toEqual({ cooldownMs: 30_000, stabilizationMs: 300_000, maxStep: { percent: 10 } });
    expect(spec.scaleToZero?.afterMs).toBe(600_000);
    expect(spec.scaleToZero?.activity.map((a) => a.field)).toEqual(['data.rps', 'data.requests', 'data.inFlight']);
    expect(spec.tolerance).toBe(0);
    expect(spec.safety.mode).toBe('dry-run');
  });

  it('takes one activity field or a list', () => {
    const one = parseScalingPolicy(manifest({ ...base, scaleToZero: { activity: 'data.inFlight' } }));
    expect(one.scaleToZero).toEqual({
      afterMs: 300_000,
      activity: [{ field: 'data.inFlight', path: ['data', 'inFlight'] }],
    });
    const two = parseScalingPolicy(manifest({ ...base, scaleToZero: { after: '1m', activity: ['data.a', 'data.b'] } }));
    expect(two.scaleToZero?.activity.map((a) => a.field)).toEqual(['data.a', 'data.b']);
  });

  it('reads step scaling', () => {
    const spec = parseScalingPolicy(
      manifest({
        target: 'group/web',
        metric: { field: 'data.latencyMs.p99' },
        steps: [
          { above: 150, add: 2 },
          { above: 300, add: '50%' },
          { below: 30, remove: 1 },
        ],
      }),
    );
    expect(spec.metric.target).toBeUndefined();
    expect(spec.steps).toEqual([
      { above: 150, add: { instances: 2 } },
      { above: 300, add: { percent: 50 } },
      { below: 30, remove: { instances: 1 } },
    ]);
  });

  it('reports every problem at once, each with its pointer', () => {
    const ps = problems({
      apiVersion: 'v2',
      kind: 'ScalingPolicy',
      metadata: { name: 'Web' },
      spec: {
        target: 'web',
        min: 0,
        max: 1.5,
        metric: { field: '', target: -1 },
        scaleOut: { cooldown: 'soon', maxStep: 0 },
        scaleIn: { stabilisation: '60s' },
        tolerance: 2,
        safety: { mode: 'yolo' },
      },
    });
    expect(ps.map((p) => p.pointer)).toEqual([
      '/apiVersion',
      '/metadata/name',
      '/spec/target',
      '/spec/min',
      '/spec/max',
      '/spec/metric/field',
      '/spec/metric/target',
      '/spec/tolerance',
      '/spec/scaleOut/cooldown',
      '/spec/scaleOut/maxStep',
      '/spec/scaleIn/stabilisation',
      '/spec/safety/mode',
    ]);
    expect(ps.find((p) => p.pointer === '/spec/min')?.message).toMatch(/scaleToZero/);
    expect(ps.find((p) => p.pointer === '/spec/scaleIn/stabilisation')?.message).toMatch(
      /did you mean 'stabilization'/,
    );
    expect(ps.find((p) => p.pointer === '/spec/target')?.message).toMatch(/group\/<name>/);
  });

  it('names the policy in the error message', () => {
    expect(() => parseScalingPolicy(manifest({ target: 'group/web' }, 'shop'))).toThrow(
      /invalid ScalingPolicy shop: \/spec\/metric: required/,
    );
  });

  it('needs exactly one of metric.target and steps', () => {
    expect(pointers(manifest({ target: 'group/web', metric: { field: 'data.rps' } }))).toEqual(['/spec/metric/target']);
    expect(pointers(manifest({ ...base, steps: [{ above: 1, add: 1 }] }))).toEqual(['/spec/steps']);
  });

  it('refuses tolerance with step scaling', () => {
    const doc = manifest({
      target: 'group/web',
      metric: { field: 'data.rps' },
      steps: [{ above: 1, add: 1 }],
      tolerance: 0.2,
    });
    expect(pointers(doc)).toEqual(['/spec/tolerance']);
  });

  it('refuses min above max', () => {
    expect(problems(manifest({ ...base, min: 5, max: 3 }))).toEqual([
      { pointer: '/spec/min', message: 'min (5) exceeds max (3)' },
    ]);
  });

  it('checks each step', () => {
    const doc = manifest({
      target: 'group/web',
      metric: { field: 'data.rps' },
      steps: [{ above: 1 }, { above: 2, remove: 1 }, { below: 'x', remove: 1 }, { above: 1, below: 2, add: 1 }, 7],
    });
    expect(pointers(doc)).toEqual([
      '/spec/steps/0/add',
      '/spec/steps/1/remove',
      '/spec/steps/1/add',
      '/spec/steps/2/below',
      '/spec/steps/3',
      '/spec/steps/4',
    ]);
  });

  it('refuses a threshold given twice and bands that overlap', () => {
    const twice = manifest({
      target: 'group/web',
      metric: { field: 'data.rps' },
      steps: [
        { above: 100, add: 1 },
        { above: 100, add: 2 },
      ],
    });
    expect(problems(twice)).toEqual([
      { pointer: '/spec/steps/1', message: 'repeats above 100 of step 0; give each threshold once' },
    ]);
    const overlap = manifest({
      target: 'group/web',
      metric: { field: 'data.rps' },
      steps: [
        { above: 100, add: 1 },
        { below: 150, remove: 1 },
      ],
    });
    expect(problems(overlap)[0]).toMatchObject({ pointer: '/spec/steps/1', message: /overlaps above 100/ });
  });

  it('refuses a step list that is empty or too long', () => {
    const doc = (steps: unknown) => manifest({ target: 'group/web', metric: { field: 'data.rps' }, steps });
    expect(pointers(doc([]))).toEqual(['/spec/steps']);
    expect(pointers(doc(Array.from({ length: 21 }, (_, i) => ({ above: i, add: 1 }))))).toEqual(['/spec/steps']);
  });

  it('refuses bad maxStep percentages and bad scale-to-zero settings', () => {
    const doc = manifest({
      ...base,
      scaleOut: { maxStep: '0%' },
      scaleIn: { maxStep: '20000%' },
      scaleToZero: { after: '0s', activity: [] },
    });
    expect(pointers(doc)).toEqual([
      '/spec/scaleOut/maxStep',
      '/spec/scaleIn/maxStep',
      '/spec/scaleToZero/after',
      '/spec/scaleToZero/activity',
    ]);
  });

  it('refuses a wrong kind, a missing spec and a non-object', () => {
    expect(pointers({ apiVersion: 'homeostat/v1', kind: 'Rule', metadata: { name: 'x' }, spec: base })).toEqual([
      '/kind',
    ]);
    expect(pointers({ apiVersion: 'homeostat/v1', kind: 'ScalingPolicy', metadata: { name: 'x' } })).toEqual(['/spec']);
    expect(pointers('nope')).toEqual(['']);
  });

  it('reports unknown metric fields with a suggestion', () => {
    const ps = problems(manifest({ target: 'group/web', metric: { field: 'data.rps', traget: 5, target: 1 } }));
    expect(ps).toEqual([
      { pointer: '/spec/metric/traget', message: expect.stringMatching(/did you mean 'target'/) as unknown as string },
    ]);
  });
});
