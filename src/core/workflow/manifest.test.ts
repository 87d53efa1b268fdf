import { describe, expect, it } from 'vitest';
import type { Problem } from '../errors.js';
import type { RuleValidationContext } from '../rules/manifest.js';
import { parseWorkflowManifest } from './manifest.js';
import type { ActionStep, ApprovalStep, BranchStep, ParallelStep, WaitForEventStep } from './types.js';

const ctx: RuleValidationContext = {
  knownActions: ['http', 'log'],
  validateAction(action, options) {
    if (action === 'log')
      return typeof options.message === 'string' || options.message === undefined
        ? []
        : [{ pointer: '/message', message: 'must be a string' }];
    if (action === 'http')
      return typeof options.url === 'string' && /^https?:/.test(options.url)
        ? []
        : [{ pointer: '/url', message: 'is not a URL' }];
    return undefined;
  },
};

function manifest(steps: unknown, spec: Record<string, unknown> = {}): Record<string, unknown> {
  return { apiVersion: 'homeostat/v1', kind: 'Workflow', metadata: { name: 'wf' }, spec: { steps, ...spec } };
}

function problemsOf(doc: unknown): Problem[] {
  try {
    parseWorkflowManifest(doc, ctx);
  } catch (err) {
    expect((err as { code?: string }).code).toBe('E_INVALID');
    return [...(err as { problems: Problem[] }).problems];
  }
  throw new Error('expected the manifest to be rejected');
}

describe('parseWorkflowManifest', () => {
  it('resolves every step kind with defaults', () => {
    const spec = parseWorkflowManifest(
      manifest(
        [
          {
            name: 'announce',
            action: 'http',
            with: { url: 'https://x.example/${ input.path }' },
            compensate: { action: 'log' },
          },
          {
            name: 'check',
            if: 'steps.announce.output.status == 200',
            then: [{ name: 'ok', action: 'log' }],
            else: [{ name: 'pause', wait: '30s' }],
          },
          {
            name: 'ready',
            waitForEvent: {
              match: { type: ['infra.instance.ready'], subject: ['${ input.instance }'] },
              timeout: '2m',
            },
          },
          { name: 'both', parallel: [[{ name: 'a', action: 'log' }], [{ name: 'b', action: 'log', if: 'input.b' }]] },
          { name: 'gate', approval: { summary: 'Replace ${ input.instance }?', timeout: '1h' } },
          { action: 'log' },
        ],
        { timeout: '2h' },
      ),
      ctx,
    );
    expect(spec.timeoutMs).toBe(7_200_000);
    expect([...spec.byName.keys()]).toEqual([
      'announce',
      'ok',
      'pause',
      'check',
      'ready',
      'a',
      'b',
      'both',
      'gate',
      'step-5',
    ]);
    const announce = spec.steps[0] as ActionStep;
    expect(announce.call).toMatchObject({
      action: 'http',
      retry: { maxAttempts: 3, initialDelayMs: 1000, maxDelayMs: 60_000 },
      timeoutMs: 30_000,
    });
    expect(announce.compensate?.action).toBe('log');
    expect((spec.steps[1] as BranchStep).then[0]?.name).toBe('ok');
    expect(spec.steps[2] as WaitForEventStep).toMatchObject({
      kind: 'waitForEvent',
      timeoutMs: 120_000,
      onTimeout: 'fail',
      since: 'step',
    });
    expect((spec.steps[3] as ParallelStep).branches[1]?.[0]?.when?.source).toBe('input.b');
    const gate = spec.steps[4] as ApprovalStep;
    expect(gate.summary.render({ input: { instance: 'web-3' } })).toEqual({ ok: true, value: 'Replace web-3?' });
  });

  it('reports every problem with its pointer and a fix', () => {
    const problems = problemsOf(
      manifest([
        { name: 'a', action: 'htp' },
        { name: 'a', wait: 'soon' },
        { name: 'c', action: 'http', with: { url: 'ftp:x' } },
        { name: 'd', if: 'steps.nope.output == 1', then: [{ action: 'log', with: { message: 3 } }] },
        { name: 'e', waitForEvent: { match: { type: 'x' } } },
        { name: 'f', wait: '1s', action: 'log' },
        { name: 'g', approval: {} },
        { name: 'h', wait: '1s', retry: { maxAttempts: 2 } },
        {},
      ]),
    );
    const at = (p: string) => problems.filter((x) => x.pointer === p).map((x) => x.message);
    expect(at('/spec/steps/0/action')).toEqual(["unknown action 'htp'; did you mean 'http'? known actions: http, log"]);
    expect(at('/spec/steps/1/name')[0]).toMatch(/'a' is used by an earlier step/);
    expect(at('/spec/steps/1/wait')[0]).toMatch(/must be a duration/);
    expect(at('/spec/steps/2/with/url')).toEqual(['is not a URL']);
    expect(at('/spec/steps/3/if')[0]).toMatch(/'steps.nope': no such name/);
    expect(at('/spec/steps/3/then/0/with/message')).toEqual(['must be a string']);
    expect(problems.some((p) => p.pointer.startsWith('/spec/steps/4/waitForEvent/match'))).toBe(true);
    expect(at('/spec/steps/5/wait')[0]).toMatch(/exactly one of action/);
    expect(at('/spec/steps/6/approval/summary')[0]).toMatch(/^required/);
    expect(at('/spec/steps/7/retry')).toEqual(['only for action steps (a step with action:)']);
    expect(at('/spec/steps/8')[0]).toMatch(/a step needs one of action/);
  });

  it('reports CEL syntax errors at the pointer of the string that holds them', () => {
    const problems = problemsOf(manifest([{ name: 'x', action: 'log', with: { message: 'hi ${ input.a + }' } }]));
    expect(problems).toEqual([
      { pointer: '/spec/steps/0/with/message', message: expect.stringMatching(/syntax error at line 1, column/) },
    ]);
  });

  it('does not reject action options whose value is only known at run time', () => {
    const spec = parseWorkflowManifest(manifest([{ name: 'x', action: 'http', with: { url: '${ input.url }' } }]), ctx);
    expect(spec.steps).toHaveLength(1);
  });

  it('rejects another kind, a bad name and an empty step list', () => {
    expect(problemsOf({ apiVersion: 'homeostat/v1', kind: 'Rule', metadata: { name: 'x' }, spec: {} })).toEqual([
      { pointer: '/kind', message: '"Rule" is not supported here; use kind: Workflow' },
    ]);
    const problems = problemsOf({
      apiVersion: 'homeostat/v1',
      kind: 'Workflow',
      metadata: { name: 'Bad Name' },
      spec: { steps: [] },
    });
    expect(problems.map((p) => p.pointer)).toEqual(['/metadata/name', '/spec/steps']);
  });
});
