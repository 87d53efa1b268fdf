/** @module HealingPolicy manifests: defaults, every problem with its pointer, and the safety block. */
import { describe, expect, it } from 'vitest';
import { hasCode } from '../errors.js';
import { parseHealingPolicy } from './parse.js';
import { FAILURE_KINDS } from './types.js';

const manifest = (spec: Record<string, unknown>, name: unknown = 'web') => ({
  apiVersion: 'homeostat/v1',
  kind: 'HealingPolicy',
  metadata: { name },
  spec,
});

function problems(doc: unknown): { pointer: string; message: string }[] {
  try {
    parseHealingPolicy(doc);
  } catch (err) {
    expect(hasCode(err, 'E_INVALID')).toBe(true);
    return [...(err as { problems: { pointer: string; message: string }[] }).problems];
  }
  throw new Error('expected E_INVALID');
}

describe('parseHealingPolicy', () => {
  it('resolves defaults for a manifest that names only the target', () => {
    const spec = parseHealingPolicy(manifest({ target: 'group/web' }));
    expect(spec).toMatchObject({
      kind: 'HealingPolicy',
      name: 'web',
      group: 'web',
      on: FAILURE_KINDS,
      verifyTimeoutMs: 30_000,
      crashLoop: { crashes: 3, withinMs: 60_000 },
      severity: 'warning',
      safety: { mode: 'enforce' },
    });
    expect(spec.notify).toBeUndefined();
    expect(Object.isFrozen(spec)).toBe(true);
  });

  it('reads every field of a full manifest', () => {
    const spec = parseHealingPolicy(
      manifest({
        target: 'instancegroup/api',
        on: ['crashed', 'hung', 'crashed'],
        verify: { timeout: '10s' },
        crashLoop: { crashes: 5, within: '2m' },
        notify: { url: 'http://127.0.0.1:9/hook' },
        severity: 'critical',
        safety: { mode: 'approval', blastRadius: { maxPercent: 100 } },
      }),
    );
    expect(spec).toMatchObject({
      group: 'api',
      on: ['crashed', 'hung'],
      verifyTimeoutMs: 10_000,
      crashLoop: { crashes: 5, withinMs: 120_000 },
      notify: { url: 'http://127.0.0.1:9/hook' },
      severity: 'critical',
      safety: { mode: 'approval', blastRadius: { maxPercent: 100 } },
    });
  });

  it('reports every problem with its pointer in one error', () => {
    const found = problems(
      manifest(
        {
          target: 'web',
          on: ['crashed', 'exploded'],
          verify: { timeout: 'soon' },
          crashLoop: { crashes: 0 },
          notify: { url: 'ftp://x' },
          severity: 'huge',
          safety: { mode: 'yolo' },
          extra: 1,
        },
        'Web!',
      ),
    ).map((p) => p.pointer);
    expect(found).toEqual(
      expect.arrayContaining([
        '/metadata/name',
        '/spec/target',
        '/spec/on/1',
        '/spec/verify/timeout',
        '/spec/crashLoop/crashes',
        '/spec/notify/url',
        '/spec/severity',
        '/spec/safety/mode',
        '/spec/extra',
      ]),
    );
  });

  it('names the fix for a missing target', () => {
    const [p] = problems(manifest({}));
    expect(p).toMatchObject({ pointer: '/spec/target' });
    expect(p!.message).toContain('group/web');
  });

  it('rejects another kind', () => {
    expect(problems({ ...manifest({ target: 'group/web' }), kind: 'ScalingPolicy' })[0]!.pointer).toBe('/kind');
  });
});
