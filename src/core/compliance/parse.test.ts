import { describe, expect, it } from 'vitest';
import { ErrorCode, type HomeostatError } from '../errors.js';
import { DEFAULT_SAFETY } from '../safety/parse.js';
import { EVERY_DEFAULT_MS, parseCompliancePolicy } from './parse.js';

const SSH =
  "has(resource.spec.port) && resource.spec.port in [22, 3389] && resource.spec.allow.exists(c, c in ['0.0.0.0/0', '::/0'])";

function manifest(spec: Record<string, unknown>, name: unknown = 'no-open-ssh'): Record<string, unknown> {
  return { apiVersion: 'homeostat/v1', kind: 'CompliancePolicy', metadata: { name }, spec };
}

const base = { resources: { kind: 'SecurityRule' }, violation: SSH, remedy: 'revert' };

function problems(doc: unknown): { pointer: string; message: string }[] {
  try {
    parseCompliancePolicy(doc);
  } catch (err) {
    expect((err as HomeostatError).code).toBe(ErrorCode.INVALID);
    return [...(err as HomeostatError).problems];
  }
  throw new Error('parsed');
}

function pointers(doc: unknown): string[] {
  return problems(doc).map((p) => p.pointer);
}

describe('parseCompliancePolicy', () => {
  it('resolves a minimal policy with defaults', () => {
    const spec = parseCompliancePolicy(manifest(base));
    expect(spec).toMatchObject({
      kind: 'CompliancePolicy',
      name: 'no-open-ssh',
      resources: { kinds: ['SecurityRule'], names: [], tags: {} },
      remedy: 'revert',
      approval: false,
      everyMs: EVERY_DEFAULT_MS,
      safety: DEFAULT_SAFETY,
    });
    expect(spec.violation.source).toBe(SSH);
    expect(spec.violation.pointer).toBe('/spec/violation');
    expect(Object.isFrozen(spec)).toBe(true);
    expect(spec.patch).toBeUndefined();
  });

  it('reads every field', () => {
    const spec = parseCompliancePolicy(
      manifest({
        description: 'SSH and RDP must not be open to the world',
        resources: { kind: ['securityrule'], names: ['web-*', 'ssh'], tags: { env: 'prod' } },
        violation: SSH,
        remedy: 'patch',
        patch: { allow: ['10.0.0.0/8'] },
        approval: true,
        every: '30s',
        notify: 'https://hooks.example/compliance',
        safety: { mode: 'dry-run', cooldown: '10s' },
      }),
    );
    expect(spec).toMatchObject({
      description: 'SSH and RDP must not be open to the world',
      resources: { kinds: ['SecurityRule'], names: ['web-*', 'ssh'], tags: { env: 'prod' } },
      remedy: 'patch',
      patch: { allow: ['10.0.0.0/8'] },
      approval: true,
      everyMs: 30_000,
      notify: 'https://hooks.example/compliance',
      safety: { mode: 'dry-run', cooldownMs: 10_000 },
    });
    expect(Object.isFrozen(spec.patch)).toBe(true);
  });

  it('takes the description from metadata when the spec has none', () => {
    const doc = manifest(base);
    (doc.metadata as Record<string, unknown>).description = 'from metadata';
    expect(parseCompliancePolicy(doc).description).toBe('from metadata');
  });

  it('reports a CEL syntax error at /spec/violation with its position', () => {
    const found = problems(manifest({ ...base, violation: 'resource.spec.port in [22, 3389' }));
    expect(found).toEqual([
      {
        pointer: '/spec/violation',
        message: expect.stringMatching(
          /^syntax error at line 1, column 20: .*'\[' at line 1, column 23 is never closed/,
        ),
      },
    ]);
  });

  it('reports an unknown variable in the violation with a hint', () => {
    const [p] = problems(manifest({ ...base, violation: "!('owner' in resorce.tags)" }));
    expect(p).toEqual({ pointer: '/spec/violation', message: expect.stringContaining("did you mean 'resource'?") });
  });

  it('reports an unknown function in the violation', () => {
    const [p] = problems(manifest({ ...base, violation: 'lenght(resource.spec.allow) > 0' }));
    expect(p!.message).toContain("unknown function 'lenght'");
  });

  it('requires the violation and names the field to use instead of require', () => {
    const { violation: _, ...rest } = base;
    const found = problems(manifest({ ...rest, require: "'owner' in resource.tags" }));
    expect(found.map((p) => p.pointer).sort()).toEqual(['/spec/require', '/spec/violation']);
    expect(found.find((p) => p.pointer === '/spec/require')!.message).toContain("under 'violation'");
    expect(pointers(manifest({ ...base, violation: 42 }))).toEqual(['/spec/violation']);
  });

  it('collects every problem at once', () => {
    const doc = {
      apiVersion: 'v2',
      kind: 'CompliancePolicy',
      metadata: { name: 'Bad_Name' },
      spec: {},
    };
    expect(pointers(doc)).toEqual(['/apiVersion', '/metadata/name']);
    const found = pointers(
      manifest({ resources: { kind: 'SecurityRules', nmes: [] }, remedy: 'revret', every: '1ms', colour: 1 }),
    );
    expect(found.sort()).toEqual([
      '/spec/colour',
      '/spec/every',
      '/spec/remedy',
      '/spec/resources/kind',
      '/spec/resources/nmes',
      '/spec/violation',
    ]);
  });

  it('suggests the closest kind and remedy', () => {
    const found = problems(manifest({ ...base, resources: { kind: 'SecurityRul' }, remedy: 'revret' }));
    expect(found.find((p) => p.pointer === '/spec/resources/kind')!.message).toContain("did you mean 'SecurityRule'?");
    expect(found.find((p) => p.pointer === '/spec/remedy')!.message).toContain("did you mean 'revert'?");
  });

  it('points at the bad entry of a kind list', () => {
    expect(pointers(manifest({ ...base, resources: { kind: ['SecurityRule', 'Bucket'] } }))).toEqual([
      '/spec/resources/kind/1',
    ]);
    expect(pointers(manifest({ ...base, resources: { kind: [] } }))).toEqual(['/spec/resources/kind']);
  });

  it('requires resources.kind', () => {
    expect(pointers(manifest({ ...base, resources: {} }))).toEqual(['/spec/resources/kind']);
    expect(pointers(manifest({ ...base, resources: undefined }))).toEqual(['/spec/resources']);
  });

  it('checks names and tags', () => {
    const found = pointers(
      manifest({ ...base, resources: { kind: 'SecurityRule', names: ['ok', 'Not OK', 3], tags: { a: 1 } } }),
    );
    expect(found).toEqual(['/spec/resources/names/1', '/spec/resources/names/2', '/spec/resources/tags/a']);
  });

  it('refuses remedies that cannot act on the selected kinds', () => {
    const stop = problems(manifest({ ...base, remedy: 'stop' }));
    expect(stop).toEqual([
      { pointer: '/spec/remedy', message: expect.stringContaining('stop cannot act on SecurityRule') },
    ]);
    expect(pointers(manifest({ ...base, resources: { kind: 'Instance' }, remedy: 'revert' }))).toEqual([
      '/spec/remedy',
    ]);
    expect(() =>
      parseCompliancePolicy(manifest({ ...base, resources: { kind: ['Instance', 'InstanceGroup'] }, remedy: 'stop' })),
    ).not.toThrow();
    expect(() =>
      parseCompliancePolicy(manifest({ ...base, resources: { kind: 'Instance' }, remedy: 'alert' })),
    ).not.toThrow();
  });

  it('requires a patch for remedy: patch, and only then', () => {
    expect(pointers(manifest({ ...base, remedy: 'patch' }))).toEqual(['/spec/patch']);
    expect(pointers(manifest({ ...base, remedy: 'patch', patch: {} }))).toEqual(['/spec/patch']);
    expect(problems(manifest({ ...base, patch: { allow: [] } }))[0]!.message).toContain('only used with remedy: patch');
  });

  it('checks the patched fields against the kind', () => {
    const [p] = problems(manifest({ ...base, remedy: 'patch', patch: { alow: ['10.0.0.0/8'] } }));
    expect(p).toEqual({
      pointer: '/spec/patch/alow',
      message: expect.stringContaining("SecurityRule has no spec field 'alow'; did you mean 'allow'?"),
    });
  });

  it('refuses approval with remedy: alert', () => {
    expect(pointers(manifest({ ...base, remedy: 'alert', approval: true }))).toEqual(['/spec/approval']);
    expect(pointers(manifest({ ...base, approval: 'yes' }))).toEqual(['/spec/approval']);
  });

  it('checks the notify URL', () => {
    expect(pointers(manifest({ ...base, notify: 'ftp://x' }))).toEqual(['/spec/notify']);
    expect(pointers(manifest({ ...base, notify: 'not a url' }))).toEqual(['/spec/notify']);
  });

  it('reports safety problems under /spec/safety', () => {
    expect(pointers(manifest({ ...base, safety: { mode: 'yolo' } }))).toEqual(['/spec/safety/mode']);
  });

  it('refuses a manifest of another kind or not an object', () => {
    expect(pointers({ ...manifest(base), kind: 'Rule' })).toEqual(['/kind']);
    expect(pointers('nope')).toEqual(['']);
    expect(pointers({ apiVersion: 'homeostat/v1', kind: 'CompliancePolicy', metadata: { name: 'x' } })).toEqual([
      '/spec',
    ]);
  });

  it('names the policy in the error message', () => {
    expect(() => parseCompliancePolicy(manifest({ ...base, remedy: 'nope' }))).toThrow(
      /^invalid CompliancePolicy no-open-ssh: /,
    );
  });
});
