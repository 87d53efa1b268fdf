/** The example CompliancePolicies (examples/policies) parse and judge the example stack's resources as documented. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { evaluateCompliance, selects } from '../../src/core/compliance/evaluate.js';
import { parseCompliancePolicy } from '../../src/core/compliance/parse.js';
import type { Resource } from '../../src/core/infra/types.js';

const example = (file: string) =>
  parseCompliancePolicy(parse(readFileSync(new URL(`../../examples/policies/${file}`, import.meta.url), 'utf8')));

/** examples/stacks/web.yaml's rule, as the local provider reports it, with a spec override. */
const rule = (spec: Record<string, unknown>): Resource =>
  ({
    kind: 'SecurityRule',
    name: 'web-lb-local',
    spec: { loadBalancer: 'web-lb', allow: ['127.0.0.0/8'], ...spec },
    tags: { 'homeostat.io/stack': 'web' },
    pricePerHour: 0,
    provider: 'local',
  }) as Resource;

describe('examples/policies', () => {
  it('no-open-ssh: the stack rule complies; opened to the world on port 22 it violates and is reverted', () => {
    const spec = example('no-open-ssh.yaml');
    expect(spec).toMatchObject({ name: 'no-open-ssh', remedy: 'revert', approval: false, everyMs: 300_000 });
    expect(selects(spec.resources, rule({}))).toBe(true);
    expect(evaluateCompliance(spec, rule({}), 0)).toEqual({ state: 'compliant' });
    expect(evaluateCompliance(spec, rule({ allow: ['0.0.0.0/0'], port: 22 }), 0)).toEqual({ state: 'violating' });
    expect(evaluateCompliance(spec, rule({ allow: ['::/0'], port: 3389 }), 0)).toEqual({ state: 'violating' });
    expect(evaluateCompliance(spec, rule({ allow: ['0.0.0.0/0'], port: 8080 }), 0)).toEqual({ state: 'compliant' });
  });

  it('require-owner-tag: the example web group (team tag only) violates until it has an owner', () => {
    const spec = example('require-owner-tag.yaml');
    expect(spec).toMatchObject({ name: 'require-owner-tag', remedy: 'alert', everyMs: 60_000 });
    const group = {
      kind: 'InstanceGroup',
      name: 'web',
      spec: {},
      tags: { team: 'web' },
      pricePerHour: 0,
      provider: 'local',
    };
    expect(evaluateCompliance(spec, group as unknown as Resource, 0)).toEqual({ state: 'violating' });
    const owned = { ...group, tags: { team: 'web', owner: 'team-web' } };
    expect(evaluateCompliance(spec, owned as unknown as Resource, 0)).toEqual({ state: 'compliant' });
  });
});
