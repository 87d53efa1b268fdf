import { describe, expect, it } from 'vitest';
import { changedPaths, checkSpec, instanceSpecHash, mergePatch, stableJson } from './spec.js';

const group = {
  template: { command: 'node', args: ['web.mjs'], env: { WORK_MS: '5' }, port: 0 },
  desired: 2,
  min: 1,
  max: 5,
  instanceType: 'local.small',
  healthCheck: { path: '/healthz', intervalMs: 1000, timeoutMs: 500, unhealthyThreshold: 2, healthyThreshold: 1 },
};

describe('local provider specs', () => {
  it('accepts a complete instance group, balancer and security rule', () => {
    expect(checkSpec('InstanceGroup', group)).toEqual([]);
    expect(
      checkSpec('LoadBalancer', { listen: '[::1]:0', targetGroup: 'web', algorithm: 'least-connections' }),
    ).toEqual([]);
    expect(checkSpec('SecurityRule', { loadBalancer: 'web-lb', allow: ['10.0.0.0/8', '::1/128'], port: 8080 })).toEqual(
      [],
    );
  });

  it('names every bad field of a balancer and a security rule with its pointer and the fix', () => {
    expect(checkSpec('LoadBalancer', { listen: 'localhost', targetGroup: '', algorithm: 'random' })).toEqual([
      { pointer: '/spec/listen', message: expect.stringMatching(/must be host:port .* got "localhost"/) },
      { pointer: '/spec/targetGroup', message: expect.stringMatching(/non-empty string/) },
      { pointer: '/spec/algorithm', message: 'must be one of round-robin, least-connections; got "random"' },
    ]);
    expect(checkSpec('SecurityRule', { loadBalancer: 'lb', allow: ['10.0.0.0/33'], port: 0 })).toEqual([
      { pointer: '/spec/allow/0', message: "'10.0.0.0/33' is not a CIDR; write e.g. 10.0.0.0/8 or ::1/128" },
      { pointer: '/spec/port', message: 'must be a whole number from 1 to 65535, got 0' },
    ]);
  });

  it('refuses a health check interval under 50 ms and min above max', () => {
    const bad = { ...group, min: 6, healthCheck: { ...group.healthCheck, intervalMs: 49 } };
    expect(checkSpec('InstanceGroup', bad).map((p) => p.pointer)).toEqual([
      '/spec/min',
      '/spec/healthCheck/intervalMs',
    ]);
  });

  it('applies merge patches as RFC 7386 says: objects merge, null deletes, arrays replace', () => {
    const patched = mergePatch(group, { desired: 3, template: { env: { WORK_MS: null, X: '1' }, args: ['b'] } });
    expect(patched).toEqual({ ...group, desired: 3, template: { ...group.template, env: { X: '1' }, args: ['b'] } });
    expect(group.desired).toBe(2);
  });

  it('lists changed leaves as JSON pointers and compares specs regardless of key order', () => {
    const after = mergePatch(group, { desired: 4, template: { env: { 'A/B': '1' } } });
    expect(changedPaths(group, after)).toEqual(['/desired', '/template/env/A~1B']);
    expect(changedPaths(undefined, { a: 1 })).toEqual(['/']);
    expect(stableJson({ b: 1, a: [{ d: 1, c: 2 }] })).toBe(stableJson({ a: [{ c: 2, d: 1 }], b: 1 }));
  });

  it('hashes only what an instance is started from', () => {
    const hash = instanceSpecHash(group);
    const bigger = { ...group, desired: 5 };
    expect(instanceSpecHash(bigger)).toBe(hash);
    expect(instanceSpecHash({ ...group, template: { ...group.template, args: ['other.mjs'] } })).not.toBe(hash);
  });
});
