import { describe, expect, it } from 'vitest';
import { createConditionState, parseWhen } from '../../core/conditions/index.js';
import { hasCode } from '../../core/errors.js';
import { parseRuleManifest, testPattern } from '../../core/rules/manifest.js';
import { parseBudget } from './budget.js';
import { compileIdle, parseIdle } from './idle.js';
import { compileSchedule, parseSchedule } from './schedule.js';
import { compiledRuleManifest } from './service.js';
import { createPolicyTarget } from './target.js';
import type { CompiledRule } from './types.js';

const policyTarget = createPolicyTarget(() => undefined);
const ruleContext = {
  validateAction: (action: string, options: Readonly<Record<string, unknown>>) =>
    action === 'policy' ? policyTarget.validate(options) : undefined,
  knownActions: ['policy'],
};

const doc = (kind: string, spec: unknown, name: unknown = 'p1') => ({
  apiVersion: 'homeostat/v1',
  kind,
  metadata: { name },
  spec,
});

function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    if (hasCode(err, 'E_INVALID')) return err.problems.map((p) => `${p.pointer}: ${p.message}`);
    throw err;
  }
  throw new Error('expected E_INVALID');
}

const validRule = (kind: string, name: string, rule: CompiledRule) =>
  parseRuleManifest(compiledRuleManifest(kind, name, rule), ruleContext);

describe('Budget manifests', () => {
  it('resolves percentages, the period and the scope, with default thresholds', () => {
    const spec = parseBudget(
      doc('Budget', { scope: { stack: 'web' }, amount: 500, thresholds: [{ actual: '80%' }, { forecast: 100 }] }),
    );
    expect(spec).toMatchObject({
      kind: 'Budget',
      name: 'p1',
      scope: { stack: 'web' },
      period: 'month',
      thresholds: [
        { kind: 'actual', percent: 80 },
        { kind: 'forecast', percent: 100 },
      ],
    });
    expect(parseBudget(doc('Budget', { amount: 5 })).thresholds).toHaveLength(3);
  });

  it('names every bad field with its pointer', () => {
    const problems = problemsOf(() =>
      parseBudget(
        doc('Budget', {
          amount: -1,
          period: 'year',
          thresholds: [{ actual: 'lots' }, { both: 1 }],
          notify: { url: 'ftp://x' },
          safety: { mode: 'yolo' },
        }),
      ),
    );
    expect(problems.map((p) => p.split(':')[0])).toEqual([
      '/spec/safety/mode',
      '/spec/amount',
      '/spec/period',
      '/spec/thresholds/0/actual',
      '/spec/thresholds/1',
      '/spec/notify/url',
    ]);
  });
});

describe('IdlePolicy manifests', () => {
  const idle = parseIdle(
    doc('IdlePolicy', { target: 'group/web', metric: { field: 'data.rps', below: 1 }, for: '30m' }, 'web-idle'),
  );

  it('defaults to scale-to-min with a cooldown as long as the idle period', () => {
    expect(idle).toMatchObject({
      group: 'web',
      action: 'scale-to-min',
      forMs: 1_800_000,
      cooldownMs: 1_800_000,
      metric: { type: 'infra.metrics' },
    });
  });

  it("compiles to a valid rule whose sustained condition fires after 30 minutes of the group's low metrics only", () => {
    const [rule] = compileIdle(idle);
    const parsed = validRule('IdlePolicy', 'web-idle', rule!);
    expect(parsed.targets[0]).toMatchObject({
      action: 'policy',
      with: { policy: 'IdlePolicy/web-idle', hook: 'idle' },
    });
    const match = rule!.spec.match;
    const metrics = (rps: number, subject = 'instancegroup/web') => ({
      specversion: '1.0',
      id: 'm',
      source: 's',
      type: 'infra.metrics',
      subject,
      data: { rps },
    });
    expect(testPattern(match, metrics(0.5)).matched).toBe(true);
    expect(testPattern(match, metrics(3)).matched).toBe(false);
    expect(testPattern(match, metrics(0.5, 'instancegroup/api')).matched).toBe(false);
    const state = createConditionState(parseWhen(rule!.spec.when, '/when'));
    const fired: number[] = [];
    for (let minute = 0; minute <= 40; minute++) {
      const event = metrics(0.5);
      if (testPattern(match, event).matched)
        fired.push(...state.onEvent(event, minute * 60_000).map((f) => f.at / 60_000));
    }
    expect(fired).toEqual([30]);
  });

  it('rejects a target that is not a group and a field outside the data', () => {
    const problems = problemsOf(() =>
      parseIdle(
        doc('IdlePolicy', { target: 'web', metric: { field: 'subject', below: 'one' }, for: '1h', action: 'nap' }),
      ),
    );
    expect(problems.map((p) => p.split(':')[0])).toEqual([
      '/spec/target',
      '/spec/metric/field',
      '/spec/metric/below',
      '/spec/action',
    ]);
  });
});

describe('Schedule manifests', () => {
  it('checks the cron expressions in the time zone and compiles a rule on its own fires', () => {
    const spec = parseSchedule(
      doc(
        'Schedule',
        { target: { stack: 'web' }, timezone: 'Europe/Paris', stop: '0 19 * * 1-5', start: '0 8 * * 1-5' },
        'office-hours',
      ),
    );
    const [rule] = compileSchedule(spec);
    validRule('Schedule', 'office-hours', rule!);
    const fire = {
      specversion: '1.0',
      id: 'f',
      source: 'homeostat/schedule',
      type: 'schedule.fired',
      data: { schedule: 'office-hours' },
    };
    expect(testPattern(rule!.spec.match, fire).matched).toBe(true);
    expect(testPattern(rule!.spec.match, { ...fire, data: { schedule: 'other' } }).matched).toBe(false);
  });

  it('reports a bad time zone, a bad cron and a missing target', () => {
    const problems = problemsOf(() => parseSchedule(doc('Schedule', { timezone: 'Mars/Olympus', stop: '99 * * * *' })));
    expect(problems.map((p) => p.split(':')[0])).toEqual(['/spec/target', '/spec/timezone', '/spec/stop']);
    expect(problemsOf(() => parseSchedule(doc('Schedule', { target: 'stack/web' })))[0]).toMatch(
      /^\/spec: needs stop, start or both/,
    );
  });
});
