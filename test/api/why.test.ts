/**
 * @module GET /v1/why/{id} and GET /v1/why-not over a real embedded server (SQLite log and state,
 * real HTTP, the sim provider on a fast virtual clock): rule chains through `emit`, a
 * ScalingPolicy's action down to instances and cost, a refusal by a safety rail, and why-not for a
 * pattern miss, an unmet condition, an event older than the rule, and a rule that did fire.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WhyNode, WhyNotResult, WhyTree } from '../../src/core/why/types.js';
import { callApi, until } from '../infra/helpers.js';
import { startTestServer, type TestServer } from './harness.js';

let server: TestServer;
const tag = `${process.pid}-${Date.now().toString(36)}`;

beforeAll(async () => {
  // 50 virtual seconds per real second: a simulated boot of 20 s takes about 0.4 s.
  server = await startTestServer({ providers: { sim: { enabled: true, seed: 11, speed: 50 } } });
});

afterAll(async () => {
  await server.stop();
});

const api = <T>(method: string, path: string, body?: unknown) => callApi<T>(server.url, method, path, body);

function rule(name: string, spec: Record<string, unknown>): Record<string, unknown> {
  return { apiVersion: 'homeostat/v1', kind: 'Rule', metadata: { name }, spec };
}

async function putRule(name: string, spec: Record<string, unknown>): Promise<void> {
  const res = await api('PUT', `/v1/rules/${name}`, rule(name, spec));
  expect(res.status).toBe(201);
}

let seq = 0;
async function emit(type: string, extra: Record<string, unknown> = {}): Promise<string> {
  const id = `why-${tag}-${++seq}`;
  const res = await api<{ accepted: number }>('POST', '/v1/events', [
    { specversion: '1.0', id, source: '/why-test', type, ...extra },
  ]);
  expect(res.body.accepted).toBe(1);
  return id;
}

const why = (id: string, query = '') => api<WhyTree>('GET', `/v1/why/${encodeURIComponent(id)}${query}`);
const whyNot = (r: string, e: string) =>
  api<WhyNotResult>('GET', `/v1/why-not?rule=${encodeURIComponent(r)}&event=${encodeURIComponent(e)}`);

function all(n: WhyNode): WhyNode[] {
  return [n, ...n.children.flatMap(all)];
}
const find = (n: WhyNode, pred: (x: WhyNode) => boolean): WhyNode | undefined => all(n).find(pred);

/** Polls why(id) until `ready` holds for the tree. */
function whyUntil(id: string, ready: (t: WhyTree) => boolean, what: string): Promise<WhyTree> {
  return until(async () => {
    const res = await why(id);
    return res.status === 200 && ready(res.body) ? res.body : undefined;
  }, what);
}

describe('why: a rule chain through emit', () => {
  it('shows root event → rule matched → delivery attempt → emitted event → the next rule, and resolves the emitted id to the same root', async () => {
    await putRule(`chain-a-${tag}`, {
      match: { type: [`why.order.created.${tag}`] },
      targets: [
        { name: 'next', action: 'emit', with: { type: `why.order.checked.${tag}` } },
        { name: 'audit', action: 'log' },
      ],
    });
    await putRule(`chain-b-${tag}`, {
      match: { type: [`why.order.checked.${tag}`] },
      targets: [{ name: 'audit', action: 'log' }],
    });
    const root = await emit(`why.order.created.${tag}`, { subject: 'order/17', data: { total: 42 } });

    const tree = await whyUntil(
      root,
      (t) => find(t.root, (n) => n.kind === 'rule' && n.id === `chain-b-${tag}` && n.children.length > 0) !== undefined,
      'the emitted event to be delivered by chain-b',
    );
    expect(tree.resolved).toEqual({ kind: 'event', event: root });
    expect(tree.root).toMatchObject({ kind: 'event', id: root, t: 0, focus: true });
    expect(tree.path).toEqual([root]);
    const ruleA = tree.root.children.find((n) => n.kind === 'rule' && n.id === `chain-a-${tag}`)!;
    expect(ruleA.summary).toBe(`rule chain-a-${tag} matched`);
    const next = ruleA.children.find((n) => n.id === `chain-a-${tag}/next#1`)!;
    expect(next).toMatchObject({ kind: 'attempt' });
    expect(next.summary).toMatch(/^attempt 1 → next \(emit\): ok/);
    expect(ruleA.children.find((n) => n.id === `chain-a-${tag}/audit#1`)?.summary).toMatch(
      /^attempt 1 → audit \(log\): ok/,
    );
    const emitted = next.children[0]!;
    expect(emitted).toMatchObject({ kind: 'event' });
    expect(emitted.summary).toContain(`why.order.checked.${tag}`);
    expect(emitted.t).toBeGreaterThanOrEqual(0);
    expect(emitted.children.map((n) => `${n.kind}:${n.id}`)).toEqual([`rule:chain-b-${tag}`]);
    expect(tree.scan).toMatchObject({ truncated: false, maxEvents: 50_000 });
    expect(tree.totals.events).toBe(2);

    const fromChild = await why(emitted.id);
    expect(fromChild.status).toBe(200);
    expect(fromChild.body.root.id).toBe(root);
    expect(fromChild.body.path).toEqual([root, `chain-a-${tag}`, `chain-a-${tag}/next#1`, emitted.id]);
    expect(find(fromChild.body.root, (n) => n.focus === true)?.id).toBe(emitted.id);
  });

  it('answers 404 with a clear message for an id that is nothing it knows', async () => {
    const res = await api<{ error: { code: string; message: string } }>('GET', `/v1/why/no-such-${tag}?maxEvents=5000`);
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe('E_NOT_FOUND');
    expect(res.body.error.message).toContain(`nothing to explain for 'no-such-${tag}'`);
    expect(res.body.error.message).toContain('no event, action, workflow run or incident has this id');
  });

  it('answers 400 naming a bad bound', async () => {
    const res = await api<{ error: { problems: { pointer: string }[] } }>('GET', '/v1/why/x?window=forever');
    expect(res.status).toBe(400);
    expect(res.body.error.problems).toMatchObject([{ pointer: '?window' }]);
  });
});

describe('why and why-not: a ScalingPolicy on the sim provider', () => {
  const policy = `whyweb${process.pid}`;
  const loadType = `why.load.${tag}`;
  let first: string;
  let second: string;
  let actionId: string;

  beforeAll(async () => {
    const stack = {
      apiVersion: 'homeostat/v1',
      kind: 'Stack',
      metadata: { name: `whyshop-${tag}` },
      spec: {
        provider: 'sim',
        resources: [
          {
            kind: 'InstanceGroup',
            name: 'whyweb',
            spec: {
              template: { command: 'web', args: [], port: 8080 },
              desired: 2,
              min: 1,
              max: 10,
              instanceType: 'sim.small',
            },
          },
        ],
      },
    };
    expect((await api('PUT', `/v1/stacks/whyshop-${tag}`, stack)).status).toBe(201);
    await until(async () => {
      const s = await api<{ converged: boolean }>('GET', `/v1/stacks/whyshop-${tag}/status`);
      return s.body.converged;
    }, 'the stack to converge');
    const put = await api('PUT', `/v1/policies/ScalingPolicy/${policy}`, {
      apiVersion: 'homeostat/v1',
      kind: 'ScalingPolicy',
      metadata: { name: policy },
      spec: {
        target: 'group/whyweb',
        min: 1,
        max: 10,
        metric: { type: loadType, field: 'data.rpsPerInstance', target: 50 },
        scaleOut: { cooldown: '0s', maxStep: 10 },
        safety: { rateLimit: { max: 1, per: '1h' } },
      },
    });
    expect(put.status).toBe(201);
    first = await emit(loadType, { subject: 'instancegroup/whyweb', data: { rpsPerInstance: 100 } });
  });

  it('why(action id) shows trigger → rule → attempt → the executed action with its reason → infra events → instances started → cost', async () => {
    const fromTrigger = await whyUntil(
      first,
      (t) => find(t.root, (n) => n.kind === 'action') !== undefined,
      'the scaling action',
    );
    actionId = find(fromTrigger.root, (n) => n.kind === 'action')!.id;
    const tree = await whyUntil(
      actionId,
      (t) => t.totals.costChanges >= 2,
      'the two new instances to start and be costed',
    );
    expect(tree.resolved).toEqual({ kind: 'action', event: actionId });
    expect(tree.root.id).toBe(first);
    const ruleName = `scalingpolicy.${policy}.metrics`;
    expect(tree.path).toEqual([first, ruleName, `${ruleName}/decide#1`, actionId]);
    const action = find(tree.root, (n) => n.id === actionId)!;
    expect(action).toMatchObject({ kind: 'action', focus: true });
    expect(action.summary).toMatch(
      new RegExp(`^action scale instancegroup/whyweb 2→4 executed \\(ScalingPolicy/${policy}: `),
    );
    expect((action.detail as { record: { inputs: unknown } }).record.inputs).toBeDefined();
    const below = all(action).slice(1);
    expect(below.some((n) => n.kind === 'resource' && n.summary.includes('group whyweb scaled 2→4'))).toBe(true);
    expect(below.some((n) => n.kind === 'resource' && /reconcile whyweb: start-instance/.test(n.summary))).toBe(true);
    expect(below.filter((n) => n.kind === 'resource' && / started$/.test(n.summary))).toHaveLength(2);
    const costs = below.filter((n) => n.kind === 'cost');
    expect(costs).toHaveLength(2);
    expect(costs[0]!.summary).toMatch(/^cost \+\$0\.\d+\/h instance whyweb-\d+ started/);
    expect(tree.totals.actions).toEqual({ executed: 1 });
    expect(tree.totals.costDeltaPerHour).toBeGreaterThan(0);
  });

  it('a refusal by the rate-limit rail shows the rail and its reason in why and in why-not', async () => {
    second = await emit(loadType, { subject: 'instancegroup/whyweb', data: { rpsPerInstance: 200 } });
    const tree = await whyUntil(
      second,
      (t) => find(t.root, (n) => n.kind === 'action') !== undefined,
      'the refused action',
    );
    const refused = find(tree.root, (n) => n.kind === 'action')!;
    expect(refused.summary).toMatch(/^action scale instancegroup\/whyweb 4→\d+ refused by the rate-limit rail: /);
    expect(refused.detail).toMatchObject({ record: { outcome: 'refused', rail: 'rate-limit' } });
    expect(tree.totals.actions).toEqual({ refused: 1 });

    const res = await whyNot(`ScalingPolicy/${policy}`, second);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      rule: `scalingpolicy.${policy}.metrics`,
      fired: true,
      verdict: 'action-not-executed',
    });
    expect(res.body.summary).toContain('the rate-limit rail refused its action');
    expect(res.body.actions).toMatchObject([{ id: refused.id, outcome: 'refused', rail: 'rate-limit' }]);
  });
});

describe('why-not', () => {
  it('names the failing pattern field of a rule the event does not match', async () => {
    await putRule(`page-5xx-${tag}`, {
      match: { type: [`why.http.${tag}`], data: { status: [{ numeric: ['>=', 500] }] } },
      targets: [{ action: 'log' }],
    });
    const id = await emit(`why.http.${tag}`, { data: { status: 200 } });
    const res = await whyNot(`page-5xx-${tag}`, id);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ fired: false, verdict: 'not-matched' });
    expect(res.body.pattern?.failures).toMatchObject([{ path: 'data.status', pointer: '/spec/match/data/status' }]);
    expect(res.body.summary).toContain("'data.status' is 200; the pattern wants numeric >= 500");
  });

  it('gives the progress of a count condition that is not met yet', async () => {
    const name = `burst-${tag}`;
    await putRule(name, {
      match: { type: [`why.err.${tag}`] },
      when: { count: { atLeast: 5, within: '1m' }, groupBy: 'subject' },
      targets: [{ action: 'log' }],
    });
    let last = '';
    for (let i = 0; i < 3; i++) last = await emit(`why.err.${tag}`, { subject: 'host-1' });
    await emit(`why.err.${tag}`, { subject: 'host-2' });
    await until(
      async () => (await api<{ entries: unknown[] }>('GET', `/v1/events/${last}/trace`)).status === 200,
      'the trace of the third event',
    );
    const res = await whyNot(name, last);
    expect(res.body).toMatchObject({
      fired: false,
      verdict: 'condition-not-met',
      condition: { kind: 'count', group: 'host-1', holds: false },
    });
    expect(res.body.summary).toContain('count 3 of atLeast 5 within 1m');
    expect(res.body.summary).toContain("for group 'host-1'");
  });

  it('says when the event is older than the rule', async () => {
    const id = await emit(`why.late.${tag}`);
    await new Promise((r) => setTimeout(r, 20));
    await putRule(`late-${tag}`, { match: { type: [`why.late.${tag}`] }, targets: [{ action: 'log' }] });
    const res = await whyNot(`late-${tag}`, id);
    expect(res.body).toMatchObject({ fired: false, verdict: 'rule-newer' });
    expect(res.body.summary).toContain('rules act on events appended after they exist');
  });

  it('says so when the rule did fire, and points to why', async () => {
    const name = `fired-${tag}`;
    await putRule(name, { match: { type: [`why.fired.${tag}`] }, targets: [{ action: 'log' }] });
    const id = await emit(`why.fired.${tag}`);
    const res = await until(async () => {
      const r = await whyNot(name, id);
      return r.body.verdict === 'fired' ? r : undefined;
    }, 'the delivery');
    expect(res.body.fired).toBe(true);
    expect(res.body.summary).toBe(
      `rule ${name} did fire for event ${id}: 1 target(s) delivered; see \`homeostat why ${id}\``,
    );
    expect(res.body.hint).toBe(`homeostat why ${id}`);
  });

  it('answers 404 for an unknown event or rule, and 400 without rule or event', async () => {
    const id = await emit(`why.any.${tag}`);
    const noEvent = await api<{ error: { message: string } }>(
      'GET',
      `/v1/why-not?rule=x&event=nope-${tag}&maxEvents=2000`,
    );
    expect(noEvent.status).toBe(404);
    expect(noEvent.body.error.message).toContain(`no event 'nope-${tag}'`);
    const noRule = await api<{ error: { message: string } }>('GET', `/v1/why-not?rule=nope-${tag}&event=${id}`);
    expect(noRule.status).toBe(404);
    expect(noRule.body.error.message).toContain(`no rule named 'nope-${tag}'`);
    const missing = await api<{ error: { problems: { pointer: string }[] } }>('GET', `/v1/why-not?event=${id}`);
    expect(missing.status).toBe(400);
    expect(missing.body.error.problems).toMatchObject([{ pointer: '?rule' }]);
  });
});
