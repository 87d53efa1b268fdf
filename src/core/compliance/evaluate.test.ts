import { describe, expect, it } from 'vitest';
import type { Resource } from '../infra/types.js';
import { complianceBindings, evaluateCompliance, matchesGlob, selects } from './evaluate.js';
import { parseCompliancePolicy } from './parse.js';

function policy(violation: string, resources: Record<string, unknown> = { kind: 'SecurityRule' }) {
  return parseCompliancePolicy({
    apiVersion: 'homeostat/v1',
    kind: 'CompliancePolicy',
    metadata: { name: 'p' },
    spec: { resources, violation, remedy: 'alert' },
  });
}

function rule(allow: string[], port?: number, tags: Record<string, string> = {}): Resource {
  return {
    kind: 'SecurityRule',
    name: 'web-ssh',
    spec: { loadBalancer: 'web-lb', allow, ...(port === undefined ? {} : { port }) },
    tags,
    pricePerHour: 0,
    provider: 'local',
  };
}

const group: Resource = {
  kind: 'InstanceGroup',
  name: 'web',
  spec: {
    template: { command: 'node', args: [], env: {}, port: 0 },
    desired: 3,
    min: 2,
    max: 10,
    instanceType: 'local.small',
    healthCheck: { path: '/healthz', intervalMs: 1000, timeoutMs: 500, unhealthyThreshold: 2, healthyThreshold: 1 },
  },
  status: { running: 3, healthy: 3, instances: ['web-1', 'web-2', 'web-3'] },
  tags: { team: 'web' },
  pricePerHour: 0.0208,
  provider: 'local',
};

const SSH =
  "has(resource.spec.port) && resource.spec.port in [22, 3389] && resource.spec.allow.exists(c, c in ['0.0.0.0/0', '::/0'])";
const OWNER = "!('owner' in resource.tags)";

describe('evaluateCompliance', () => {
  const ssh = policy(SSH);
  it.each([
    [['0.0.0.0/0'], 22, 'violating'],
    [['::/0'], 3389, 'violating'],
    [['10.0.0.0/8', '0.0.0.0/0'], 22, 'violating'],
    [['10.0.0.0/8'], 22, 'compliant'],
    [['0.0.0.0/0'], 443, 'compliant'],
    [['0.0.0.0/0'], undefined, 'compliant'],
  ])('a rule allowing %j on port %s is %s', (allow, port, state) => {
    expect(evaluateCompliance(ssh, rule(allow, port), 0)).toEqual({ state });
  });

  it('flags a group without an owner tag', () => {
    const owner = policy(OWNER, { kind: 'InstanceGroup' });
    expect(evaluateCompliance(owner, group, 0)).toEqual({ state: 'violating' });
    expect(evaluateCompliance(owner, { ...group, tags: { owner: 'team-web' } }, 0)).toEqual({ state: 'compliant' });
  });

  it('sees status, price and now', () => {
    const p = policy('resource.status.healthy < resource.spec.min || resource.pricePerHour > 0.01 && now > 1000', {
      kind: 'InstanceGroup',
    });
    expect(evaluateCompliance(p, group, 2000)).toEqual({ state: 'violating' });
    expect(evaluateCompliance(p, group, 10)).toEqual({ state: 'compliant' });
  });

  it('binds an empty status for resources without one', () => {
    expect(complianceBindings(rule([]), 5)).toMatchObject({
      resource: { status: {}, ref: 'securityrule/web-ssh' },
      now: 5,
    });
    expect(evaluateCompliance(policy('size(resource.status) == 0'), rule([]), 0)).toEqual({ state: 'violating' });
  });

  it('gives an error verdict, not a throw, when the expression fails on a resource', () => {
    const p = policy('resource.spec.port == 22');
    const verdict = evaluateCompliance(p, rule(['0.0.0.0/0']), 0);
    expect(verdict.state).toBe('error');
    expect(verdict).toMatchObject({ message: expect.stringContaining('field not found: port') });
  });

  it('gives an error verdict when the result is not a boolean', () => {
    expect(evaluateCompliance(policy('resource.spec.allow'), rule([]), 0)).toMatchObject({
      state: 'error',
      message: expect.stringContaining('must evaluate to true or false'),
    });
  });
});

describe('selects', () => {
  const selector = (names: string[] = [], tags: Record<string, string> = {}) =>
    Object.freeze({ kinds: ['SecurityRule' as const], names, tags });

  it('selects by kind', () => {
    expect(selects(selector(), rule([]))).toBe(true);
    expect(selects(selector(), group)).toBe(false);
  });

  it('selects by name or glob', () => {
    expect(selects(selector(['web-*']), rule([]))).toBe(true);
    expect(selects(selector(['api-*', 'web-ssh']), rule([]))).toBe(true);
    expect(selects(selector(['api-*']), rule([]))).toBe(false);
  });

  it('selects by all tags', () => {
    expect(selects(selector([], { env: 'prod' }), rule([], 22, { env: 'prod', team: 'a' }))).toBe(true);
    expect(selects(selector([], { env: 'prod', team: 'b' }), rule([], 22, { env: 'prod', team: 'a' }))).toBe(false);
  });
});

describe('matchesGlob', () => {
  it.each([
    ['web', 'web', true],
    ['web', 'web-1', false],
    ['web-*', 'web-1', true],
    ['web-*', 'web-', true],
    ['*-1', 'web-1', true],
    ['*', '', true],
    ['w*b*1', 'web-1', true],
    ['w*b*2', 'web-1', false],
    ['*a*a*a*b', `${'a'.repeat(200)}`, false],
    ['a**', 'abc', true],
  ])('%s against %s is %s', (glob, name, expected) => {
    expect(matchesGlob(glob, name)).toBe(expected);
  });
});
