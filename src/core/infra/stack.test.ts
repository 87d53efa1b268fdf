import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ErrorCode, type HomeostatError, type Problem } from '../errors.js';
import { parseListenAddress, parseStackManifest, STACK_TAG, type StackValidationContext } from './stack.js';
import type { InstanceGroupSpec, LoadBalancerSpec, SecurityRuleSpec } from './types.js';

const ALL_KINDS = ['InstanceGroup', 'Instance', 'LoadBalancer', 'SecurityRule'];

/** `local` runs everything; `sim` only groups. Prices per instance-hour. */
const ctx: StackValidationContext = {
  providers: {
    local: {
      kinds: ALL_KINDS,
      instanceTypes: { 'local.small': { pricePerHour: 0.01 }, 'local.large': { pricePerHour: 0.04 } },
    },
    sim: { kinds: ['InstanceGroup', 'Instance'], instanceTypes: { 'sim.m5.large': { pricePerHour: 0.096 } } },
  },
};

const EXAMPLE = `
apiVersion: homeostat/v1
kind: Stack
metadata: { name: shop }
spec:
  provider: local
  drift: revert
  resources:
    - kind: InstanceGroup
      name: web
      tags: { team: shop }
      spec:
        template: { command: node, args: [examples/services/web.mjs], env: { WORK_MS: "5" }, port: 0 }
        desired: 3
        min: 2
        max: 10
        instanceType: local.small
        healthCheck: { path: /healthz, interval: 500ms, timeout: 300ms, unhealthyThreshold: 2, healthyThreshold: 1 }
    - kind: LoadBalancer
      name: web-lb
      spec: { listen: 127.0.0.1:8080, targetGroup: web, algorithm: round-robin }
    - kind: SecurityRule
      name: web-lb-local
      spec: { loadBalancer: web-lb, allow: [127.0.0.0/8] }
`;

type Doc = Record<string, unknown>;

/** The example stack as a plain object, with `edit` applied to a deep copy. */
function example(edit: (doc: Doc & { spec: { resources: Doc[] } }) => void = () => {}): Doc {
  const doc = parse(EXAMPLE) as Doc & { spec: { resources: Doc[] } };
  edit(doc);
  return doc;
}

function stack(resources: unknown[], spec: Doc = {}): Doc {
  return { apiVersion: 'homeostat/v1', kind: 'Stack', metadata: { name: 'shop' }, spec: { ...spec, resources } };
}

const group = (name: string, spec: Doc = {}, extra: Doc = {}): Doc => ({
  kind: 'InstanceGroup',
  name,
  spec: { template: { command: 'node' }, ...spec },
  ...extra,
});

function problemsOf(doc: unknown, context: StackValidationContext = ctx): Problem[] {
  try {
    parseStackManifest(doc, context);
  } catch (err) {
    expect((err as HomeostatError).code).toBe(ErrorCode.INVALID);
    return [...(err as HomeostatError).problems];
  }
  throw new Error('expected the stack to be rejected');
}

function problemAt(doc: unknown, pointer: string, context?: StackValidationContext): string {
  const problems = problemsOf(doc, context);
  const found = problems.find((p) => p.pointer === pointer);
  if (!found) throw new Error(`no problem at ${pointer}; got ${JSON.stringify(problems)}`);
  return found.message;
}

describe('parseStackManifest: valid stacks', () => {
  it('resolves the documented example into tagged, priced resources with durations in ms', () => {
    const spec = parseStackManifest(example(), ctx);
    expect(spec).toMatchObject({ name: 'shop', provider: 'local', drift: 'revert' });
    expect(spec.resources).toEqual([
      {
        kind: 'InstanceGroup',
        name: 'web',
        provider: 'local',
        pricePerHour: 0.01,
        tags: { team: 'shop', [STACK_TAG]: 'shop' },
        spec: {
          template: { command: 'node', args: ['examples/services/web.mjs'], env: { WORK_MS: '5' }, port: 0 },
          desired: 3,
          min: 2,
          max: 10,
          instanceType: 'local.small',
          healthCheck: {
            path: '/healthz',
            intervalMs: 500,
            timeoutMs: 300,
            unhealthyThreshold: 2,
            healthyThreshold: 1,
          },
        },
      },
      {
        kind: 'LoadBalancer',
        name: 'web-lb',
        provider: 'local',
        pricePerHour: 0,
        tags: { [STACK_TAG]: 'shop' },
        spec: { listen: '127.0.0.1:8080', targetGroup: 'web', algorithm: 'round-robin' },
      },
      {
        kind: 'SecurityRule',
        name: 'web-lb-local',
        provider: 'local',
        pricePerHour: 0,
        tags: { [STACK_TAG]: 'shop' },
        spec: { loadBalancer: 'web-lb', allow: ['127.0.0.0/8'] },
      },
    ]);
  });

  it('freezes the result at every level', () => {
    const spec = parseStackManifest(example(), ctx);
    const web = spec.resources[0]!.spec as InstanceGroupSpec;
    expect(Object.isFrozen(spec)).toBe(true);
    expect(Object.isFrozen(spec.resources)).toBe(true);
    expect(Object.isFrozen(spec.resources[0]!.tags)).toBe(true);
    expect(Object.isFrozen(web.template.args)).toBe(true);
    expect(Object.isFrozen(web.healthCheck)).toBe(true);
  });

  it('applies every default to a minimal stack: local provider, alert on drift, a fixed-size group of 1', () => {
    const spec = parseStackManifest(
      stack([group('web'), { kind: 'LoadBalancer', name: 'lb', spec: { listen: '127.0.0.1:0', targetGroup: 'web' } }]),
      ctx,
    );
    expect(spec).toMatchObject({ provider: 'local', drift: 'alert' });
    expect(spec.resources[0]).toMatchObject({ provider: 'local', pricePerHour: 0.01 });
    expect(spec.resources[0]!.spec).toEqual({
      template: { command: 'node', args: [], env: {}, port: 0 },
      desired: 1,
      min: 1,
      max: 1,
      instanceType: 'local.small',
      healthCheck: { path: '/healthz', intervalMs: 1000, timeoutMs: 500, unhealthyThreshold: 2, healthyThreshold: 1 },
    });
    expect((spec.resources[1]!.spec as LoadBalancerSpec).algorithm).toBe('round-robin');
  });

  it.each([
    [{ min: 2 }, { desired: 2, min: 2, max: 2 }],
    [{ max: 5 }, { desired: 1, min: 1, max: 5 }],
    [
      { desired: 3, max: 10 },
      { desired: 3, min: 3, max: 10 },
    ],
    [{ desired: 0 }, { desired: 0, min: 0, max: 0 }],
    [
      { min: 2, max: 8 },
      { desired: 2, min: 2, max: 8 },
    ],
  ])('defaults counts %j to %j', (counts, expected) => {
    const spec = parseStackManifest(stack([group('web', counts)]), ctx);
    expect(spec.resources[0]!.spec).toMatchObject(expected);
  });

  it('shortens the default health check timeout to a shorter interval', () => {
    const spec = parseStackManifest(stack([group('web', { healthCheck: { interval: '200ms' } })]), ctx);
    expect((spec.resources[0]!.spec as InstanceGroupSpec).healthCheck).toMatchObject({
      intervalMs: 200,
      timeoutMs: 200,
    });
  });

  it('lets a resource name its own provider and prices it from that provider', () => {
    const spec = parseStackManifest(
      stack([group('batch', { instanceType: 'sim.m5.large' }, { provider: 'sim' })]),
      ctx,
    );
    expect(spec.resources[0]).toMatchObject({ provider: 'sim', pricePerHour: 0.096 });
  });

  it('keeps a security rule port that matches its balancer and accepts IPv6 listeners and CIDRs', () => {
    const spec = parseStackManifest(
      stack([
        group('web'),
        { kind: 'LoadBalancer', name: 'lb', spec: { listen: '[::1]:8443', targetGroup: 'web' } },
        {
          kind: 'SecurityRule',
          name: 'sr',
          spec: { loadBalancer: 'lb', allow: ['::1/128', '10.0.0.0/8'], port: 8443 },
        },
      ]),
      ctx,
    );
    expect(spec.resources[2]!.spec as SecurityRuleSpec).toEqual({
      loadBalancer: 'lb',
      allow: ['::1/128', '10.0.0.0/8'],
      port: 8443,
    });
  });
});

describe('parseStackManifest: invalid stacks', () => {
  it('rejects a stack with every problem listed, each at its pointer, in one E_INVALID error', () => {
    const doc = example((d) => {
      const [web, lb, sr] = d.spec.resources as [Doc & { spec: Doc }, Doc & { spec: Doc }, Doc & { spec: Doc }];
      web.spec.desired = 12;
      lb.spec.targetGroup = 'webs';
      sr.spec.allow = ['127.0.0.0/8', '10.0.0.1'];
    });
    let error: HomeostatError | undefined;
    try {
      parseStackManifest(doc, ctx);
    } catch (err) {
      error = err as HomeostatError;
    }
    expect(error?.code).toBe(ErrorCode.INVALID);
    expect(error?.message).toMatch(/^invalid stack shop: /);
    expect(error?.problems.map((p) => p.pointer)).toEqual([
      '/spec/resources/0/spec/desired',
      '/spec/resources/1/spec/targetGroup',
      '/spec/resources/2/spec/allow/1',
    ]);
    expect(error?.problems[0]!.message).toBe('desired (12) is above max (10); min ≤ desired ≤ max');
    expect(error?.problems[1]!.message).toContain("no InstanceGroup named 'webs' in this stack; did you mean 'web'?");
    expect(error?.problems[2]!.message).toContain('for one address write 10.0.0.1/32');
  });

  it('says Instance resources belong to groups', () => {
    const doc = stack([{ kind: 'Instance', name: 'web-1', spec: { group: 'web' } }]);
    expect(problemAt(doc, '/spec/resources/0/kind')).toMatch(
      /not declared in stacks: an InstanceGroup starts and owns/,
    );
  });

  it('suggests the kind, field, algorithm and drift mode meant by a typo', () => {
    const doc = stack(
      [
        { kind: 'InstanceGroop', name: 'web', spec: {} },
        group('api', { desird: 2 }),
        {
          kind: 'LoadBalancer',
          name: 'lb',
          spec: { listen: '127.0.0.1:0', targetGroup: 'api', algorithm: 'round-robbin' },
        },
      ],
      { drift: 'revret' },
    );
    expect(problemAt(doc, '/spec/resources/0/kind')).toContain("did you mean 'InstanceGroup'?");
    expect(problemAt(doc, '/spec/resources/1/spec/desird')).toContain("did you mean 'desired'?");
    expect(problemAt(doc, '/spec/resources/2/spec/algorithm')).toContain("did you mean 'round-robin'?");
    expect(problemAt(doc, '/spec/drift')).toContain("did you mean 'revert'?");
  });

  it('checks names: Kubernetes-like, unique per kind but free across kinds', () => {
    const doc = stack([
      group('web'),
      group('web'),
      { kind: 'LoadBalancer', name: 'web', spec: { listen: '127.0.0.1:0', targetGroup: 'web' } },
      group('Web_1'),
    ]);
    const problems = problemsOf(doc);
    expect(problems.map((p) => p.pointer)).toEqual(['/spec/resources/1/name', '/spec/resources/3/name']);
    expect(problems[0]!.message).toContain('already the name of the InstanceGroup at /spec/resources/0');
    expect(problemAt({ ...doc, metadata: { name: 'Shop!' } }, '/metadata/name')).toContain('not a valid stack name');
  });

  it('checks counts: min ≤ desired ≤ max, whole numbers', () => {
    expect(problemAt(stack([group('web', { desired: 1, min: 2, max: 4 })]), '/spec/resources/0/spec/desired')).toBe(
      '1 is below min (2); min ≤ desired ≤ max',
    );
    expect(problemAt(stack([group('web', { min: 5, max: 3 })]), '/spec/resources/0/spec/min')).toContain(
      'min (5) exceeds max (3)',
    );
    expect(problemAt(stack([group('web', { desired: 2.5 })]), '/spec/resources/0/spec/desired')).toContain(
      'whole number from 0 to 100000',
    );
  });

  it('checks the template: a command, string args, string env values, a port', () => {
    const doc = stack([group('web', { template: { args: [1], env: { WORK_MS: 5, '1BAD': 'x' }, port: 70000 } })]);
    const at = '/spec/resources/0/spec/template';
    expect(problemAt(doc, `${at}/command`)).toContain('required: the program to run');
    expect(problemAt(doc, `${at}/args`)).toContain('list of strings');
    expect(problemAt(doc, `${at}/env/WORK_MS`)).toBe('must be a string, not 5 (quote it: "5")');
    expect(problemAt(doc, `${at}/env/1BAD`)).toContain('not a valid env name');
    expect(problemAt(doc, `${at}/port`)).toContain('integer from 0 to 65535');
  });

  it('checks health checks: durations, timeout within interval, thresholds, path', () => {
    const doc = stack([
      group('web', { healthCheck: { path: 'healthz', interval: '10ms', timeout: '2s', unhealthyThreshold: 0 } }),
    ]);
    const at = '/spec/resources/0/spec/healthCheck';
    expect(problemAt(doc, `${at}/path`)).toContain("starting with '/'");
    expect(problemAt(doc, `${at}/interval`)).toContain('duration from 50ms to 5m');
    expect(problemAt(doc, `${at}/timeout`)).toBe('2s exceeds the interval (1s); make it shorter');
    expect(problemAt(doc, `${at}/unhealthyThreshold`)).toContain('integer from 1 to 100');
  });

  it('checks instance types against the resource provider, pointing at the provider that has one', () => {
    const typo = stack([group('web', { instanceType: 'local.smal' })]);
    expect(problemAt(typo, '/spec/resources/0/spec/instanceType')).toContain("did you mean 'local.small'?");
    const elsewhere = stack([group('web', { instanceType: 'sim.m5.large' })]);
    expect(problemAt(elsewhere, '/spec/resources/0/spec/instanceType')).toContain(
      'it is an instance type of provider sim (set provider: sim on this resource)',
    );
  });

  it('checks providers: known names, and the kinds each supports', () => {
    const doc = stack([
      group('web', {}, { provider: 'simm' }),
      group('api'),
      { kind: 'LoadBalancer', name: 'lb', provider: 'sim', spec: { listen: '127.0.0.1:0', targetGroup: 'api' } },
    ]);
    expect(problemAt(doc, '/spec/resources/0/provider')).toContain('unknown provider "simm"; did you mean \'sim\'?');
    expect(problemAt(doc, '/spec/resources/2/kind')).toBe(
      'provider sim does not support LoadBalancer; it supports InstanceGroup',
    );
    expect(problemAt(doc, '/spec/resources/2/spec/targetGroup')).toContain('must share a provider');
    expect(problemAt(stack([group('web')], { provider: 'aws' }), '/spec/provider')).toContain(
      'configured providers: local, sim',
    );
  });

  it('requires a provider when local is not configured and none is named', () => {
    const simOnly = { providers: { sim: ctx.providers.sim! } };
    const problems = problemsOf(stack([group('a'), group('b')]), simOnly);
    expect(problems).toEqual([
      { pointer: '/spec/provider', message: "required: no provider named 'local' is configured; use one of: sim" },
    ]);
  });

  it('checks balancers and security rules: listen addresses, references, CIDRs, ports, collisions', () => {
    const doc = stack([
      group('web'),
      { kind: 'LoadBalancer', name: 'a', spec: { listen: '0.0.0.0:8080', targetGroup: 'web' } },
      { kind: 'LoadBalancer', name: 'b', spec: { listen: '127.0.0.1:8080', targetGroup: 'web' } },
      { kind: 'LoadBalancer', name: 'c', spec: { listen: 'example.com:80', targetGroup: 'web' } },
      { kind: 'SecurityRule', name: 's1', spec: { loadBalancer: 'edge', allow: ['10.0.0.0/33'] } },
      { kind: 'SecurityRule', name: 's2', spec: { loadBalancer: 'a', allow: [], port: 9090 } },
      { kind: 'SecurityRule', name: 's3', spec: { loadBalancer: 'a', allow: ['10.0.0.0/8'], port: 9090 } },
    ]);
    const at = (i: number, field: string): string => `/spec/resources/${i}/spec/${field}`;
    expect(problemAt(doc, at(2, 'listen'))).toContain('collides with the listener at /spec/resources/1/spec/listen');
    expect(problemAt(doc, at(3, 'listen'))).toContain('use host:port with an IP address or localhost');
    expect(problemAt(doc, at(4, 'loadBalancer'))).toBe("no LoadBalancer named 'edge' in this stack; declared: a, b, c");
    expect(problemAt(doc, at(4, 'allow/0'))).toContain('"10.0.0.0/33" is not a CIDR');
    expect(problemAt(doc, at(5, 'allow'))).toContain('required: a list of 1 to 100 CIDRs');
    expect(problemAt(doc, at(6, 'port'))).toBe('9090 is not the listen port of 0.0.0.0:8080; use 8080 or omit port');
  });

  it('rejects reserved and non-string tags', () => {
    const doc = stack([group('web', {}, { tags: { [STACK_TAG]: 'other', tier: 1 } })]);
    expect(problemAt(doc, '/spec/resources/0/tags/homeostat.io~1stack')).toContain('reserved for Homeostat');
    expect(problemAt(doc, '/spec/resources/0/tags/tier')).toContain('quote it');
  });

  it('stops at a wrong kind or apiVersion without reporting the spec', () => {
    const doc = { apiVersion: 'v1', kind: 'Rule', metadata: { name: 'shop' }, spec: 42 };
    expect(problemsOf(doc).map((p) => p.pointer)).toEqual(['/apiVersion', '/kind']);
    expect(problemsOf(null)).toEqual([
      { pointer: '', message: 'must be a manifest object with apiVersion, kind, metadata and spec, not null' },
    ]);
  });

  it('requires a list of resources', () => {
    expect(problemAt({ ...stack([]), spec: {} }, '/spec/resources')).toContain('required: a list of resources');
    expect(problemAt(stack(['web']), '/spec/resources/0')).toContain('must be a resource object');
  });
});

describe('parseListenAddress', () => {
  it.each([
    ['127.0.0.1:8080', { host: '127.0.0.1', port: 8080 }],
    ['localhost:0', { host: 'localhost', port: 0 }],
    ['[::1]:80', { host: '::1', port: 80 }],
  ])('reads %s', (text, expected) => {
    expect(parseListenAddress(text)).toEqual(expected);
  });

  it.each(['127.0.0.1', ':8080', '::1:80', '127.0.0.1:65536', '127.0.0.1:08', 'host:80', '[127.0.0.1]:80'])(
    'rejects %s',
    (text) => {
      expect(parseListenAddress(text)).toBeUndefined();
    },
  );
});
