import { describe, expect, it } from 'vitest';
import { ErrorCode, type HomeostatError, type Problem } from '../errors.js';
import { parseRuleManifest, type RuleValidationContext, ruleManifestKinds, testPattern } from './manifest.js';

const ACTIONS = ['http', 'emit', 'exec', 'log'];

/** Knows four actions; `http` needs a string `url`, the others accept any object. */
const ctx: RuleValidationContext = {
  knownActions: ACTIONS,
  validateAction(action, options) {
    if (!ACTIONS.includes(action)) return undefined;
    if (action === 'http' && typeof options.url !== 'string') return [{ pointer: '/url', message: 'required: a URL' }];
    return [];
  },
};

function manifest(spec: Record<string, unknown> = {}, name = 'page-on-5xx'): Record<string, unknown> {
  return {
    apiVersion: 'homeostat/v1',
    kind: 'Rule',
    metadata: { name },
    spec: { match: { type: ['http.response'] }, ...spec },
  };
}

function problemsOf(doc: unknown): Problem[] {
  try {
    parseRuleManifest(doc, ctx);
  } catch (err) {
    expect((err as HomeostatError).code).toBe(ErrorCode.INVALID);
    return [...(err as HomeostatError).problems];
  }
  throw new Error('expected the manifest to be rejected');
}

function problemAt(doc: unknown, pointer: string): string {
  const problems = problemsOf(doc);
  const found = problems.find((p) => p.pointer === pointer);
  if (!found) throw new Error(`no problem at ${pointer}; got ${JSON.stringify(problems)}`);
  return found.message;
}

describe('parseRuleManifest', () => {
  it('resolves a minimal rule with every default', () => {
    const spec = parseRuleManifest(manifest({ targets: [{ action: 'log' }] }), ctx);
    expect(spec).toMatchObject({ name: 'page-on-5xx', enabled: true });
    expect(spec.description).toBeUndefined();
    expect(spec.match.source).toEqual({ type: ['http.response'] });
    expect(spec.targets).toEqual([
      {
        id: 'log-0',
        action: 'log',
        with: {},
        retry: { maxAttempts: 8, maxAgeMs: 86_400_000, initialDelayMs: 100, maxDelayMs: 60_000 },
        concurrency: 16,
        ordered: false,
        circuitBreaker: { failureThreshold: 10, cooldownMs: 30_000 },
        timeoutMs: 10_000,
      },
    ]);
  });

  it('resolves every field of a full target, durations in milliseconds', () => {
    const target = {
      name: 'oncall',
      action: 'http',
      with: { url: 'http://127.0.0.1:9000/hook' },
      input: { paths: { status: '$.data.status' }, template: '{"s": <status>}' },
      retry: { maxAttempts: 3, maxAge: '1h', backoff: { initial: '250ms', max: '2m' } },
      concurrency: 4,
      rateLimit: { perSecond: 2.5 },
      ordered: true,
      circuitBreaker: { failures: 0, cooldown: '5s' },
      timeout: '1m',
    };
    const spec = parseRuleManifest(manifest({ enabled: false, description: 'pages', targets: [target] }), ctx);
    expect(spec.enabled).toBe(false);
    expect(spec.description).toBe('pages');
    expect(spec.targets[0]).toEqual({
      id: 'oncall',
      action: 'http',
      with: { url: 'http://127.0.0.1:9000/hook' },
      input: { paths: { status: '$.data.status' }, template: '{"s": <status>}' },
      retry: { maxAttempts: 3, maxAgeMs: 3_600_000, initialDelayMs: 250, maxDelayMs: 120_000 },
      concurrency: 4,
      rateLimit: { perSecond: 2.5, burst: 3 },
      ordered: true,
      circuitBreaker: { failureThreshold: 0, cooldownMs: 5000 },
      timeoutMs: 60_000,
    });
  });

  it('defaults concurrency to 1 for an ordered target', () => {
    const spec = parseRuleManifest(manifest({ targets: [{ action: 'log', ordered: true }] }), ctx);
    expect(spec.targets[0]?.concurrency).toBe(1);
  });

  it('takes the description from metadata when the spec has none', () => {
    const doc = manifest();
    (doc.metadata as Record<string, unknown>).description = 'from metadata';
    expect(parseRuleManifest(doc, ctx).description).toBe('from metadata');
  });

  it('accepts a rule without targets', () => {
    expect(parseRuleManifest(manifest(), ctx).targets).toEqual([]);
  });

  it('returns a frozen spec that does not share objects with the manifest', () => {
    const doc = manifest({ targets: [{ action: 'http', with: { url: 'http://x', headers: { a: '1' } } }] });
    const spec = parseRuleManifest(doc, ctx);
    expect(Object.isFrozen(spec)).toBe(true);
    expect(Object.isFrozen(spec.targets[0]?.with.headers)).toBe(true);
    expect(Object.isFrozen(spec.targets[0]?.retry)).toBe(true);
    ((doc.spec as any).targets[0].with.headers as Record<string, string>).a = 'changed';
    expect(spec.targets[0]?.with.headers).toEqual({ a: '1' });
  });

  it('names default targets <action>-<index> and rejects duplicate names', () => {
    const spec = parseRuleManifest(manifest({ targets: [{ action: 'log' }, { action: 'emit' }] }), ctx);
    expect(spec.targets.map((t) => t.id)).toEqual(['log-0', 'emit-1']);
    const dup = manifest({ targets: [{ action: 'log', name: 'log-1' }, { action: 'log' }] });
    expect(problemAt(dup, '/spec/targets/1/name')).toMatch(/'log-1' is used by an earlier target/);
  });

  it('collects every problem in one error, each with its pointer', () => {
    const doc = {
      apiVersion: 'homeostat/v1',
      kind: 'Rule',
      metadata: { name: 'Bad_Name' },
      spec: {
        enabled: 'yes',
        match: { type: 'http.response' },
        targets: [{ action: 'log', concurrency: 0, timeout: '20m', retry: { maxAttempts: 0 } }],
      },
    };
    expect(problemsOf(doc).map((p) => p.pointer)).toEqual([
      '/metadata/name',
      '/spec/enabled',
      '/spec/match/type',
      '/spec/targets/0/retry/maxAttempts',
      '/spec/targets/0/concurrency',
      '/spec/targets/0/timeout',
    ]);
  });

  it('says what is allowed in each message', () => {
    const doc = manifest({ targets: [{ action: 'log', concurrency: 2000, timeout: '20m' }] });
    expect(problemAt(doc, '/spec/targets/0/concurrency')).toBe(
      'must be an integer from 1 to 1024 (default 16), not 2000',
    );
    expect(problemAt(doc, '/spec/targets/0/timeout')).toMatch(/^must be a duration from 1ms to 10m .*default 10s/);
    expect(problemAt(manifest({}, '-x'), '/metadata/name')).toMatch(/lower-case letters, digits, '\.' or '-'/);
  });

  it('rejects unknown fields and suggests the field that was meant', () => {
    const doc = manifest({ targets: [{ action: 'log', retry: { maxAttempt: 3 } }], enabeld: true });
    expect(problemAt(doc, '/spec/enabeld')).toMatch(/unknown field 'enabeld'; did you mean 'enabled'\?/);
    expect(problemAt(doc, '/spec/targets/0/retry/maxAttempt')).toMatch(
      /did you mean 'maxAttempts'\? allowed here: maxAttempts, maxAge, backoff$/,
    );
    expect(problemAt({ ...manifest(), status: {} }, '/status')).toMatch(
      /allowed here: apiVersion, kind, metadata, spec/,
    );
  });

  it('rejects an unknown action, suggesting a close one and listing the known ones', () => {
    const message = problemAt(manifest({ targets: [{ action: 'htp' }] }), '/spec/targets/0/action');
    expect(message).toBe("unknown action 'htp'; did you mean 'http'? known actions: http, emit, exec, log");
    expect(problemAt(manifest({ targets: [{}] }), '/spec/targets/0/action')).toMatch(/^required/);
  });

  it("re-points the action's own problems under the target's with", () => {
    const doc = manifest({ targets: [{ action: 'log' }, { action: 'http', with: { uri: 'x' } }] });
    expect(problemAt(doc, '/spec/targets/1/with/url')).toBe('required: a URL');
    expect(problemAt(manifest({ targets: [{ action: 'log', with: 'x' }] }), '/spec/targets/0/with')).toMatch(
      /must be an object/,
    );
  });

  it('reports pattern problems under /spec/match', () => {
    const doc = manifest({ match: { data: { status: [{ numeric: ['>=', 'x'] }] } } });
    expect(problemsOf(doc)[0]?.pointer).toMatch(/^\/spec\/match\/data\/status\/0/);
    expect(problemAt(manifest({ match: undefined }), '/spec/match')).toMatch(/^required/);
  });

  it('applies the pattern limits of the context', () => {
    const strict = { ...ctx, patternLimits: { maxFields: 1 } };
    const doc = manifest({ match: { type: ['a'], source: ['b'] } });
    expect(() => parseRuleManifest(doc, strict)).toThrow(/maxFields/);
  });

  it('checks the input transform: paths, and placeholders defined in paths', () => {
    const badPath = manifest({ targets: [{ action: 'log', input: { paths: { s: 'data.status' }, template: '<s>' } }] });
    expect(problemAt(badPath, '/spec/targets/0/input/paths/s')).toMatch(/must start with '\$'/);
    const undefinedName = manifest({
      targets: [{ action: 'log', input: { paths: { s: '$.data.s' }, template: '{"a": <other>}' } }],
    });
    expect(problemAt(undefinedName, '/spec/targets/0/input/template')).toMatch(/<other> is not defined/);
    const path = parseRuleManifest(manifest({ targets: [{ action: 'log', input: { path: '$.data[0].b' } }] }), ctx);
    expect(path.targets[0]?.input).toEqual({ path: '$.data[0].b' });
  });

  it('checks retry backoff, rate limits and the breaker', () => {
    const doc = manifest({
      targets: [
        {
          action: 'log',
          retry: { backoff: { initial: '2m', max: '1m' }, maxAge: 'soon' },
          rateLimit: { burst: 3 },
          circuitBreaker: { failures: -1 },
        },
      ],
    });
    expect(problemAt(doc, '/spec/targets/0/retry/backoff/initial')).toBe('must not exceed backoff.max (1m)');
    expect(problemAt(doc, '/spec/targets/0/retry/maxAge')).toMatch(/from 1s to 30d/);
    expect(problemAt(doc, '/spec/targets/0/rateLimit/perSecond')).toMatch(/^required/);
    expect(problemAt(doc, '/spec/targets/0/circuitBreaker/failures')).toMatch(/from 0 to/);
  });

  it('caps the number of targets at 16', () => {
    const targets = Array.from({ length: 17 }, () => ({ action: 'log' }));
    expect(problemAt(manifest({ targets }), '/spec/targets')).toMatch(/has 17 targets; at most 16/);
  });

  it('names the supported kinds for another kind, and reports nothing else', () => {
    const doc = { ...manifest(), kind: 'ScalingPolicy', spec: { whatever: 1 } };
    expect(problemsOf(doc)).toEqual([
      { pointer: '/kind', message: '"ScalingPolicy" is not a supported kind; supported kinds: Rule' },
    ]);
    expect(ruleManifestKinds).toEqual(['Rule']);
  });

  it('requires apiVersion homeostat/v1, metadata and spec', () => {
    const problems = problemsOf({ apiVersion: 'v1', kind: 'Rule' });
    expect(problems.map((p) => p.pointer)).toEqual(['/apiVersion', '/metadata', '/spec']);
    expect(problems[0]?.message).toBe('"v1" is not supported; use apiVersion: homeostat/v1');
    expect(problemsOf('text')).toEqual([
      { pointer: '', message: 'must be a manifest object with apiVersion, kind, metadata and spec, not "text"' },
    ]);
  });

  it('names the rule in the error message', () => {
    expect(() => parseRuleManifest(manifest({ enabled: 1 }), ctx)).toThrow(
      /^invalid rule page-on-5xx: \/spec\/enabled/,
    );
  });
});

describe('parseRuleManifest: when', () => {
  it('has no when unless the spec gives one', () => {
    const spec = parseRuleManifest(manifest(), ctx);
    expect(spec).not.toHaveProperty('when');
    expect(spec).not.toHaveProperty('steps');
  });

  it('resolves a count with groupBy, debounce and cooldown, durations in milliseconds', () => {
    const when = { count: { atLeast: 20, within: '1m' }, groupBy: 'subject', debounce: '5s', cooldown: '10m' };
    const spec = parseRuleManifest(manifest({ when }), ctx);
    expect(spec.when).toEqual({
      count: { atLeast: 20, within: 60_000 },
      groupBy: 'subject',
      debounce: 5000,
      cooldown: 600_000,
    });
    expect(Object.isFrozen(spec.when)).toBe(true);
  });

  it('resolves sustained, absent and aggregate', () => {
    const of = (when: unknown) => parseRuleManifest(manifest({ when }), ctx).when;
    expect(of({ for: '30s' })).toEqual({ for: 30_000, maxGap: 30_000, debounce: 0, cooldown: 0 });
    expect(of({ absent: '2m', groupBy: 'data.instance' })).toMatchObject({ absent: 120_000, groupBy: 'data.instance' });
    const aggregate = { fn: 'p95', field: 'data.latencyMs', op: '>', value: 300, within: '5m' };
    expect(of({ aggregate })).toMatchObject({ aggregate: { ...aggregate, within: 300_000 } });
  });

  it('takes the steps of a sequence as event patterns', () => {
    const when = {
      sequence: { first: { type: ['deploy.started'] }, then: '{"type": ["deploy.failed"]}', within: '5m' },
      groupBy: 'subject',
    };
    const spec = parseRuleManifest(manifest({ when }), ctx);
    expect(spec.when).toMatchObject({ sequence: { first: 'first', then: 'then', within: 300_000 } });
    expect(spec.steps?.first.source).toEqual({ type: ['deploy.started'] });
    expect(spec.steps?.then.source).toEqual({ type: ['deploy.failed'] });
  });

  it('points at the field of the when that is wrong', () => {
    expect(problemAt(manifest({ when: { count: { atLeast: 5, within: 'soon' } } }), '/spec/when/count/within')).toMatch(
      /"soon" is not a duration/,
    );
    expect(problemAt(manifest({ when: { count: { atLeast: 0, within: '1m' } } }), '/spec/when/count/atLeast')).toMatch(
      /whole number from 1/,
    );
    expect(problemAt(manifest({ when: { for: '1m', absent: '1m' } }), '/spec/when')).toMatch(/exactly one of/);
    expect(
      problemAt(manifest({ when: { count: { atLeast: 5, within: '1m' }, grupBy: 'x' } }), '/spec/when/grupBy'),
    ).toMatch(/unknown field/);
    expect(problemAt(manifest({ when: 'count 5' }), '/spec/when')).toMatch(/must be an object/);
  });

  it('checks the step patterns of a sequence with pointers into them', () => {
    const seq = (first: unknown, then: unknown) => manifest({ when: { sequence: { first, then, within: '1m' } } });
    expect(problemAt(seq({ type: 'x' }, { type: ['y'] }), '/spec/when/sequence/first/type')).toMatch(/array/);
    expect(problemAt(seq(undefined, { type: ['y'] }), '/spec/when/sequence/first')).toMatch(
      /^required; give an event pattern/,
    );
    expect(problemAt(seq({ type: ['x'] }, 'deploy.failed'), '/spec/when/sequence/then')).toMatch(
      /"deploy.failed" is not an event pattern/,
    );
    const noWithin = manifest({ when: { sequence: { first: { type: ['x'] }, then: { type: ['y'] } } } });
    expect(problemAt(noWithin, '/spec/when/sequence/within')).toMatch(/required/);
  });

  it('reports when problems together with the other problems of the rule', () => {
    const doc = manifest({ when: { absent: 'never' }, targets: [{ action: 'nope' }] });
    expect(problemsOf(doc).map((p) => p.pointer)).toEqual(['/spec/when/absent', '/spec/targets/0/action']);
  });
});

describe('testPattern', () => {
  const event = { specversion: '1.0', id: '1', source: '/s', type: 'http.response', data: { status: 503 } };

  it('explains a match and a miss', () => {
    expect(testPattern({ data: { status: [{ numeric: ['>=', 500] }] } }, event)).toEqual({
      matched: true,
      failures: [],
    });
    const miss = testPattern({ data: { status: [200] } }, event);
    expect(miss.matched).toBe(false);
    expect(miss.failures[0]).toMatchObject({ pointer: '/pattern/data/status', path: 'data.status' });
  });

  it('reports an invalid pattern and a non-object event together', () => {
    try {
      testPattern({ type: 'x' }, [1]);
      expect.unreachable();
    } catch (err) {
      expect((err as HomeostatError).code).toBe(ErrorCode.INVALID);
      expect((err as HomeostatError).problems.map((p) => p.pointer)).toEqual(['/pattern/type', '/event']);
    }
  });
});
