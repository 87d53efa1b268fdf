/** @module The HealingPolicy kind's compiled rule: a valid Rule that matches only the group's provider events. */
import { describe, expect, it } from 'vitest';
import { parseHealingPolicy } from '../../core/healing/parse.js';
import { parseRuleManifest, testPattern } from '../../core/rules/manifest.js';
import { compileHealing, healingEventTypes } from './healing.js';

const spec = (on?: string[]) =>
  parseHealingPolicy({
    apiVersion: 'homeostat/v1',
    kind: 'HealingPolicy',
    metadata: { name: 'web' },
    spec: { target: 'group/web', ...(on ? { on } : {}) },
  });

const event = (type: string, overrides: Record<string, unknown> = {}) => ({
  specversion: '1.0',
  id: 'e1',
  source: 'homeostat/provider/local',
  type,
  subject: 'instance/web-3',
  data: { group: 'web', pid: 42 },
  ...overrides,
});

describe('compileHealing', () => {
  const [rule] = compileHealing(spec());

  it('compiles to one valid Rule whose ordered target hands events to the policy', () => {
    const parsed = parseRuleManifest(
      {
        apiVersion: 'homeostat/v1',
        kind: 'Rule',
        metadata: { name: `healingpolicy.web.${rule!.suffix}` },
        spec: rule!.spec,
      },
      { validateAction: (action) => (action === 'policy' ? [] : undefined), knownActions: ['policy'] },
    );
    expect(parsed.targets).toMatchObject([
      { action: 'policy', with: { policy: 'HealingPolicy/web', hook: 'instance' }, ordered: true },
    ]);
  });

  it("matches the group's instance events from a provider, not another group's nor a hand-emitted one", () => {
    const match = rule!.spec.match;
    expect(testPattern(match, event('infra.instance.crashed')).matched).toBe(true);
    expect(testPattern(match, event('infra.instance.ready')).matched).toBe(true);
    expect(testPattern(match, event('infra.instance.crashed', { data: { group: 'api' } })).matched).toBe(false);
    expect(testPattern(match, event('infra.instance.crashed', { source: '/me' })).matched).toBe(false);
    expect(testPattern(match, event('infra.metrics')).matched).toBe(false);
  });

  it('matches failure types only for the failure kinds in spec.on', () => {
    expect(healingEventTypes(spec(['not-ready']))).not.toContain('infra.instance.crashed');
    expect(healingEventTypes(spec(['not-ready']))).not.toContain('infra.instance.unhealthy');
    expect(healingEventTypes(spec(['hung']))).toContain('infra.instance.unhealthy');
    expect(healingEventTypes(spec(['crashed']))).toContain('infra.instance.crashed');
  });
});
