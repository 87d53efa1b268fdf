import { describe, expect, it } from 'vitest';
import { driftOf, formatPlan, type Plan, planStack } from './plan.js';
import { parseStackManifest, STACK_TAG, type StackValidationContext } from './stack.js';
import type { DesiredResource, Resource } from './types.js';

const ctx: StackValidationContext = {
  providers: {
    local: {
      kinds: ['InstanceGroup', 'Instance', 'LoadBalancer', 'SecurityRule'],
      instanceTypes: { 'local.small': { pricePerHour: 0.01 } },
    },
    sim: { kinds: ['InstanceGroup', 'Instance'], instanceTypes: { 'sim.m5.large': { pricePerHour: 0.096 } } },
  },
};

type Edit = (resources: Record<string, unknown>[]) => void;

/** The shop stack (group web, balancer web-lb, rule web-lb-local), with `edit` applied to its resources. */
function shop(edit: Edit = () => {}): DesiredResource[] {
  const resources: Record<string, unknown>[] = [
    {
      kind: 'SecurityRule',
      name: 'web-lb-local',
      spec: { loadBalancer: 'web-lb', allow: ['127.0.0.0/8'] },
    },
    {
      kind: 'InstanceGroup',
      name: 'web',
      tags: { team: 'shop' },
      spec: {
        template: { command: 'node', args: ['examples/services/web.mjs'], env: { WORK_MS: '5' } },
        desired: 3,
        min: 2,
        max: 10,
      },
    },
    { kind: 'LoadBalancer', name: 'web-lb', spec: { listen: '127.0.0.1:8080', targetGroup: 'web' } },
  ];
  edit(resources);
  const doc = { apiVersion: 'homeostat/v1', kind: 'Stack', metadata: { name: 'shop' }, spec: { resources } };
  return [...parseStackManifest(doc, ctx).resources];
}

function specOf(resources: Record<string, unknown>[], name: string): Record<string, unknown> {
  return resources.find((r) => r.name === name)!.spec as Record<string, unknown>;
}

/**
 * What a provider does with a plan, as observed afterwards: resources gain a status and
 * provider-owned extras (a spec field and a homeostat.io/ tag the stack does not declare).
 */
function applyPlan(world: readonly Resource[], plan: Plan): Resource[] {
  let next = [...world];
  const observe = (d: DesiredResource): Resource =>
    ({
      ...d,
      spec: { ...d.spec, providerNote: 'added by the provider' },
      tags: { ...d.tags, 'homeostat.io/provider-id': `id-${d.name}` },
      status: { running: 0, healthy: 0, instances: [] },
    }) as unknown as Resource;
  for (const c of plan.changes) {
    const same = (r: Resource): boolean => r.kind === c.resource.kind && r.name === c.resource.name;
    if (c.op === 'create') next.push(observe(c.resource));
    else if (c.op === 'update') next = next.map((r) => (same(r) ? observe(c.resource) : r));
    else next = next.filter((r) => !same(r));
  }
  return next;
}

function observed(desired: readonly DesiredResource[]): Resource[] {
  return applyPlan([], planStack(desired, [], { stack: 'shop', prune: false }));
}

function instance(name: string, tags: Record<string, string> = {}): Resource {
  return { kind: 'Instance', name, provider: 'local', pricePerHour: 0.01, tags, spec: { group: 'web' } };
}

const options = { stack: 'shop', prune: false };

describe('planStack', () => {
  it('creates every resource on an empty world, groups before balancers before rules, all tagged', () => {
    const plan = planStack(shop(), [], options);
    expect(plan.unchanged).toBe(0);
    expect(plan.changes.map((c) => `${c.op} ${c.ref}`)).toEqual([
      'create instancegroup/web',
      'create loadbalancer/web-lb',
      'create securityrule/web-lb-local',
    ]);
    for (const c of plan.changes) expect(c.resource.tags[STACK_TAG]).toBe('shop');
  });

  it('tags resources with the stack even when the declaration lacks the tag', () => {
    const bare = shop().map((d) => ({ ...d, tags: {} }));
    const plan = planStack(bare, [], { stack: 'other', prune: false });
    expect(plan.changes.map((c) => c.resource.tags)).toEqual([
      { [STACK_TAG]: 'other' },
      { [STACK_TAG]: 'other' },
      { [STACK_TAG]: 'other' },
    ]);
  });

  it('changes nothing when applied twice: status and provider-added fields never cause an update', () => {
    const desired = shop();
    const world = applyPlan([], planStack(desired, [], options));
    const again = planStack(desired, world, { stack: 'shop', prune: true });
    expect(again).toEqual({ changes: [], unchanged: 3 });
    expect(applyPlan(world, again)).toEqual(world);
  });

  it('updates a changed field with a field-level diff and leaves the rest unchanged', () => {
    const world = observed(shop());
    const plan = planStack(
      shop((rs) => (specOf(rs, 'web-lb').algorithm = 'least-connections')),
      world,
      options,
    );
    expect(plan.unchanged).toBe(2);
    expect(plan.changes).toHaveLength(1);
    expect(plan.changes[0]).toMatchObject({
      op: 'update',
      ref: 'loadbalancer/web-lb',
      replace: false,
      diff: [{ pointer: '/spec/algorithm', before: 'round-robin', after: 'least-connections' }],
    });
  });

  it('treats a different desired count as an update of the group', () => {
    const plan = planStack(
      shop((rs) => (specOf(rs, 'web').desired = 5)),
      observed(shop()),
      options,
    );
    expect(plan.changes).toMatchObject([
      { op: 'update', ref: 'instancegroup/web', diff: [{ pointer: '/spec/desired', before: 3, after: 5 }] },
    ]);
  });

  it('keeps the observed size of a group whose size automation owns, and still applies its other changes', () => {
    const keepSize = (group: string) => group === 'web';
    const world = observed(shop((rs) => (specOf(rs, 'web').desired = 7)));
    expect(planStack(shop(), world, { ...options, keepSize }).changes).toEqual([]);
    const plan = planStack(
      shop((rs) => (specOf(rs, 'web').max = 12)),
      world,
      { ...options, keepSize },
    );
    expect(plan.changes).toMatchObject([
      { op: 'update', ref: 'instancegroup/web', diff: [{ pointer: '/spec/max', before: 10, after: 12 }] },
    ]);
    expect((plan.changes[0]!.resource.spec as { desired: number }).desired).toBe(7);
  });

  it('diffs env and tags key by key, with escaped pointers', () => {
    const world = observed(shop());
    const desired = shop((rs) => {
      const web = rs.find((r) => r.name === 'web')!;
      web.tags = { 'example.com/owner': 'ops' };
      (specOf(rs, 'web').template as { env: Record<string, string> }).env = { WORK_MS: '9', MODE: 'fast' };
    });
    const [change] = planStack(desired, world, options).changes;
    expect(change?.op === 'update' && change.diff).toEqual([
      { pointer: '/spec/template/env/MODE', before: undefined, after: 'fast' },
      { pointer: '/spec/template/env/WORK_MS', before: '5', after: '9' },
      { pointer: '/tags/example.com~1owner', before: undefined, after: 'ops' },
      { pointer: '/tags/team', before: 'shop', after: undefined },
    ]);
  });

  it('adopts an untagged resource of the same name by adding the stack tag', () => {
    const world = observed(shop()).map((r) => ({ ...r, tags: { team: 'shop' } }));
    const plan = planStack(shop(), world, options);
    const change = plan.changes.find((c) => c.ref === 'instancegroup/web');
    expect(change?.op === 'update' && change.diff).toEqual([
      { pointer: '/tags/homeostat.io~1stack', before: undefined, after: 'shop' },
    ]);
  });

  it('ignores Instance resources: never matched, never pruned', () => {
    const world = [...observed(shop()), instance('web-1', { [STACK_TAG]: 'shop' }), instance('web-2')];
    expect(planStack(shop(), world, { stack: 'shop', prune: true })).toEqual({ changes: [], unchanged: 3 });
  });

  it("deletes undeclared resources only with prune, and only the stack's own, rules before balancers before groups", () => {
    const foreign: Resource[] = [
      { ...observed(shop())[0]!, name: 'theirs', tags: { [STACK_TAG]: 'other' } },
      { ...observed(shop())[0]!, name: 'untagged', tags: {} },
    ];
    const world = [...observed(shop()), ...foreign];
    const empty: DesiredResource[] = [];
    expect(planStack(empty, world, options)).toEqual({ changes: [], unchanged: 0 });
    const plan = planStack(empty, world, { stack: 'shop', prune: true });
    expect(plan.changes.map((c) => `${c.op} ${c.ref}`)).toEqual([
      'delete securityrule/web-lb-local',
      'delete loadbalancer/web-lb',
      'delete instancegroup/web',
    ]);
    expect(applyPlan(world, plan)).toEqual(foreign);
  });

  it('orders creates and updates by kind then name, and deletes last in reverse kind order', () => {
    const world = observed(
      shop((rs) => {
        rs.push({ kind: 'InstanceGroup', name: 'old', spec: { template: { command: 'node' } } });
        rs.push({ kind: 'LoadBalancer', name: 'old-lb', spec: { listen: '127.0.0.1:0', targetGroup: 'old' } });
      }),
    );
    const desired = shop((rs) => {
      specOf(rs, 'web-lb').targetGroup = 'api';
      specOf(rs, 'web-lb-local').allow = ['10.0.0.0/8'];
      rs.push({ kind: 'InstanceGroup', name: 'api', spec: { template: { command: 'node' } } });
    });
    const plan = planStack(desired, world, { stack: 'shop', prune: true });
    expect(plan.changes.map((c) => `${c.op} ${c.ref}`)).toEqual([
      'create instancegroup/api',
      'update loadbalancer/web-lb',
      'update securityrule/web-lb-local',
      'delete loadbalancer/old-lb',
      'delete instancegroup/old',
    ]);
    expect(plan.unchanged).toBe(1);
  });

  it('marks a move to another provider as a replacement', () => {
    const world = observed(shop());
    const desired = shop((rs) => {
      const web = rs.find((r) => r.name === 'web')!;
      web.provider = 'sim';
      specOf(rs, 'web').instanceType = 'sim.m5.large';
      rs.splice(0, rs.length, web);
    });
    const plan = planStack(desired, world, options);
    expect(plan.changes).toMatchObject([
      {
        op: 'update',
        replace: true,
        diff: [
          { pointer: '/provider', before: 'local', after: 'sim' },
          { pointer: '/spec/instanceType', before: 'local.small', after: 'sim.m5.large' },
        ],
      },
    ]);
  });

  it('prefers the observed resource on the declared provider when a name exists on two', () => {
    const world = observed(shop());
    const twin = { ...world.find((r) => r.name === 'web')!, provider: 'sim' };
    const plan = planStack(shop(), [twin, ...world], { stack: 'shop', prune: true });
    expect(plan.changes.map((c) => `${c.op} ${c.ref} ${c.resource.provider}`)).toEqual([
      'delete instancegroup/web sim',
    ]);
  });
});

describe('formatPlan', () => {
  it('prints terraform-like lines and a summary', () => {
    const world = observed(shop()).filter((r) => r.kind !== 'SecurityRule');
    const stale: Resource = { ...world[0]!, name: 'old' };
    const desired = shop((rs) => {
      specOf(rs, 'web-lb').algorithm = 'least-connections';
      specOf(rs, 'web').min = 1;
    });
    const plan = planStack(desired, [...world, stale], { stack: 'shop', prune: true });
    expect(formatPlan(plan)).toEqual([
      '~ instancegroup/web: /spec/min 2 → 1',
      '~ loadbalancer/web-lb: /spec/algorithm "round-robin" → "least-connections"',
      '+ securityrule/web-lb-local',
      '- instancegroup/old',
      '1 to create, 2 to change, 1 to delete',
    ]);
  });

  it('shows absent values as (none) and replacements as -/+', () => {
    const plan = planStack(
      shop((rs) => (rs.find((r) => r.name === 'web')!.tags = {})),
      observed(shop()),
      options,
    );
    expect(formatPlan(plan)).toEqual([
      '~ instancegroup/web: /tags/team "shop" → (none)',
      '0 to create, 1 to change, 0 to delete',
    ]);
    const moved = shop((rs) =>
      rs.splice(0, 3, { ...rs[1]!, provider: 'sim', spec: { ...specOf(rs, 'web'), instanceType: 'sim.m5.large' } }),
    );
    expect(formatPlan(planStack(moved, observed(shop()), options))[0]).toBe(
      '-/+ instancegroup/web: /provider "local" → "sim"',
    );
  });

  it('prints only the summary when nothing changes', () => {
    expect(formatPlan(planStack(shop(), observed(shop()), options))).toEqual(['0 to create, 0 to change, 0 to delete']);
  });
});

describe('driftOf', () => {
  it('finds no drift when observed matches desired, whatever the status says', () => {
    const world = observed(shop()).map(
      (r) => ({ ...r, status: { running: 1, healthy: 0, instances: ['x'] } }) as Resource,
    );
    expect(driftOf(shop(), world)).toEqual([]);
  });

  it('reports each differing field with desired and observed values, and missing resources', () => {
    const world = observed(shop())
      .filter((r) => r.kind !== 'SecurityRule')
      .map((r) =>
        r.kind === 'LoadBalancer'
          ? ({ ...r, spec: { ...r.spec, listen: '0.0.0.0:8080', algorithm: 'least-connections' } } as Resource)
          : r,
      );
    expect(driftOf(shop(), world)).toEqual([
      {
        ref: 'loadbalancer/web-lb',
        kind: 'LoadBalancer',
        name: 'web-lb',
        provider: 'local',
        missing: false,
        differences: [
          { pointer: '/spec/listen', desired: '127.0.0.1:8080', observed: '0.0.0.0:8080' },
          { pointer: '/spec/algorithm', desired: 'round-robin', observed: 'least-connections' },
        ],
      },
      {
        ref: 'securityrule/web-lb-local',
        kind: 'SecurityRule',
        name: 'web-lb-local',
        provider: 'local',
        missing: true,
        differences: [],
      },
    ]);
  });

  it('agrees with the plan: drift exactly where the plan creates or updates', () => {
    const world = observed(shop()).filter((r) => r.name !== 'web-lb');
    const desired = shop((rs) => (specOf(rs, 'web').max = 20));
    const planned = planStack(desired, world, options).changes.map((c) => c.ref);
    expect(driftOf(desired, world).map((d) => d.ref)).toEqual(planned);
  });
});
