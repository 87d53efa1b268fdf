import { pino } from 'pino';
import { beforeEach, describe, expect, it } from 'vitest';
import { createManualClock, type ManualClock } from '../../src/core/clock.js';
import type { CloudEvent } from '../../src/core/event.js';
import { DEFAULT_SAFETY } from '../../src/core/safety/parse.js';
import type { SafetySpec } from '../../src/core/safety/types.js';
import { createActionGate, type ManagedActionGate } from '../../src/engine/automation/gate.js';
import type { ActionRequest } from '../../src/engine/automation/types.js';
import { createTestApprovals, type TestApprovals } from './memory-approvals.js';

const logger = pino({ level: 'silent' });
let clock: ManualClock;
let events: CloudEvent[];
let approvals: TestApprovals;
let gate: ManagedActionGate;
let ids: number;

function makeGate(over: Partial<Parameters<typeof createActionGate>[0]> = {}): ManagedActionGate {
  return createActionGate({
    clock,
    logger,
    approvals,
    publish: async (batch) => {
      events.push(...batch);
      return batch.map(() => ({ status: 'accepted' }));
    },
    newId: () => `act-${++ids}`,
    ...over,
  });
}

beforeEach(() => {
  clock = createManualClock(Date.UTC(2026, 0, 1));
  events = [];
  ids = 0;
  approvals = createTestApprovals(() => clock.now());
  gate = makeGate();
});

function request(over: Partial<ActionRequest> = {}): ActionRequest {
  return {
    policy: 'ScalingPolicy/web',
    action: 'scale',
    resource: 'instancegroup/web',
    direction: 'up',
    params: { from: 2, to: 4 },
    reason: 'load above target',
    cause: 'evt-1',
    ...over,
  };
}

function spec(over: Partial<SafetySpec>): SafetySpec {
  return { ...DEFAULT_SAFETY, ...over };
}

/** A perform that records the action ids it was called with. */
function performer(result: Record<string, unknown> = { ok: true }) {
  const calls: string[] = [];
  const perform = async (id: string) => {
    calls.push(id);
    return result;
  };
  return { calls, perform };
}

describe('action gate: enforce', () => {
  it('performs with the action id and publishes one executed event linked to its cause', async () => {
    const { calls, perform } = performer({ from: 2, to: 4 });
    const record = await gate.submit(request(), perform);
    expect(calls).toEqual(['act-1']);
    expect(record).toMatchObject({ id: 'act-1', outcome: 'executed', result: { from: 2, to: 4 }, at: clock.now() });
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      id: 'act-1',
      source: 'homeostat/actions',
      type: 'homeostat.action.executed',
      subject: 'instancegroup/web',
      partitionkey: 'instancegroup/web',
      causationid: 'evt-1',
      data: record,
    });
  });

  it('records a perform that throws as failed with its message, without counting it as a flap move', async () => {
    gate.configure('P', spec({ flap: { maxReversals: 1, withinMs: 60_000 } }));
    const fail = async () => {
      throw new Error('provider down');
    };
    await gate.submit(request({ policy: 'P', direction: 'up' }), performer().perform);
    const failed = await gate.submit(request({ policy: 'P', direction: 'down' }), fail);
    expect(failed).toMatchObject({ outcome: 'failed', why: 'provider down' });
    expect(events.at(-1)?.type).toBe('homeostat.action.failed');
    // Counted, the failed down would make this up the second reversal (limit 1).
    expect((await gate.submit(request({ policy: 'P', direction: 'up' }), performer().perform)).outcome).toBe(
      'executed',
    );
  });

  it('refuses with the rail and reason, publishes it, and does not perform', async () => {
    gate.configure('ScalingPolicy/web', spec({ cooldownMs: 30_000 }));
    await gate.submit(request(), performer().perform);
    clock.advance(10_000);
    const { calls, perform } = performer();
    const refused = await gate.submit(request(), perform);
    expect(calls).toEqual([]);
    expect(refused).toMatchObject({ outcome: 'refused', rail: 'cooldown' });
    expect(refused.why).toContain('cooldown: ScalingPolicy/web acted on instancegroup/web 10s ago');
    expect(events.at(-1)).toMatchObject({ id: 'act-2', type: 'homeostat.action.refused', data: refused });
  });

  it('refuses on the leader rail when the fence says this node no longer leads, and does not perform', async () => {
    const state: { reason?: string } = {};
    const fenced = makeGate({ fence: async () => state.reason });
    const { calls, perform } = performer();
    expect((await fenced.submit(request({ cause: 'evt-a' }), perform)).outcome).toBe('executed');
    const reason = "node 'a' was deposed (its fencing token 3 is no longer current)";
    state.reason = reason;
    const refused = await fenced.submit(request({ cause: 'evt-b' }), perform);
    expect(calls).toEqual(['act-1']);
    expect(refused).toMatchObject({ outcome: 'refused', rail: 'leader', why: reason });
    expect(events.at(-1)).toMatchObject({ type: 'homeostat.action.refused', data: refused });
    // A fence that cannot be checked refuses too.
    const broken = makeGate({
      fence: async () => {
        throw new Error('store unreachable');
      },
    });
    const unchecked = await broken.submit(request({ cause: 'evt-c' }), perform);
    expect(unchecked).toMatchObject({ outcome: 'refused', rail: 'leader' });
    expect(unchecked.why).toContain('store unreachable');
    expect(calls).toEqual(['act-1']);
  });

  it('lets only one of two concurrent submits through a limit of one', async () => {
    gate.configure('P', spec({ rateLimit: { max: 1, perMs: 60_000 } }));
    let release!: () => void;
    const slow = () => new Promise<Record<string, unknown>>((r) => (release = () => r({})));
    const first = gate.submit(request({ policy: 'P' }), slow);
    const second = await gate.submit(request({ policy: 'P', resource: 'instancegroup/api' }), performer().perform);
    expect(second.outcome).toBe('refused');
    release();
    expect((await first).outcome).toBe('executed');
  });
});

describe('action gate: dry-run and approval', () => {
  it('in dry-run records what would be done and performs nothing', async () => {
    gate.configure('ScalingPolicy/web', spec({ mode: 'dry-run' }));
    const { calls, perform } = performer();
    const record = await gate.submit(request(), perform);
    expect(calls).toEqual([]);
    expect(record.outcome).toBe('dry-run');
    expect(events.map((e) => e.type)).toEqual(['homeostat.action.dry-run']);
  });

  it('asks for approval, then performs the approved action under the same action id', async () => {
    gate.configure('ScalingPolicy/web', spec({ mode: 'approval' }));
    const { calls, perform } = performer({ to: 4 });
    const pending = await gate.submit(request(), perform);
    expect(pending).toMatchObject({ id: 'act-1', outcome: 'pending-approval', approval: 'apr-1' });
    expect(calls).toEqual([]);
    const [approval] = await approvals.list({ status: 'pending' });
    expect(approval).toMatchObject({ kind: 'action', ref: 'act-1', payload: { request: request() } });
    expect(approval?.summary).toBe('ScalingPolicy/web: scale instancegroup/web {"from":2,"to":4} (load above target)');
    await approvals.decide('apr-1', { approve: true, by: 'alice' });
    expect(calls).toEqual(['act-1']);
    expect(events.map((e) => [e.id, e.type])).toEqual([
      ['act-1.pending', 'homeostat.action.pending-approval'],
      ['act-1', 'homeostat.action.executed'],
    ]);
    expect(gate.recent()).toEqual([expect.objectContaining({ id: 'act-1', outcome: 'executed', approval: 'apr-1' })]);
  });

  it('records a rejection with who and why, and asks only once while a request waits', async () => {
    gate.configure('ScalingPolicy/web', spec({ mode: 'approval' }));
    const { calls, perform } = performer();
    const first = await gate.submit(request(), perform);
    const again = await gate.submit(request(), perform);
    expect(again).toEqual(first);
    expect(await approvals.list()).toHaveLength(1);
    await approvals.decide('apr-1', { approve: false, by: 'bob', comment: 'not during the sale' });
    expect(calls).toEqual([]);
    expect(gate.recent()[0]).toMatchObject({ outcome: 'rejected', why: 'rejected by bob: not during the sale' });
    expect(events.at(-1)?.type).toBe('homeostat.action.rejected');
  });

  it('records failed when it cannot ask for approval', async () => {
    gate.configure('ScalingPolicy/web', spec({ mode: 'approval' }));
    approvals.request = async () => {
      throw new Error('approvals table is locked');
    };
    const record = await gate.submit(request(), performer().perform);
    expect(record).toMatchObject({ outcome: 'failed', why: 'could not ask for approval: approvals table is locked' });
  });

  it('does not act twice on a decision for an action the history shows settled', async () => {
    const performed: string[] = [];
    gate = makeGate({ performRequest: async (_r, id) => (performed.push(id), {}) });
    const approval = await approvals.request({
      kind: 'action',
      ref: 'act-9',
      summary: 's',
      payload: { request: request() },
    });
    const base = { ...request(), id: 'act-9', at: clock.now(), approval: approval.id };
    gate.restore([
      { ...base, outcome: 'pending-approval' },
      { ...base, outcome: 'executed' },
    ]);
    await approvals.decide(approval.id, { approve: true, by: 'alice' });
    expect(performed).toEqual([]);
    const again = await approvals.request({
      kind: 'action',
      ref: 'act-10',
      summary: 's',
      payload: { request: request() },
    });
    gate.restore([{ ...base, id: 'act-10', approval: again.id, outcome: 'pending-approval' }]);
    await approvals.decide(again.id, { approve: true, by: 'alice' });
    expect(performed).toEqual(['act-10']);
  });

  it('checks the rails again when the approval comes', async () => {
    gate.configure('ScalingPolicy/web', spec({ mode: 'approval', cooldownMs: 60_000 }));
    const { calls, perform } = performer();
    await gate.submit(request(), perform);
    // Meanwhile an action that skips approval (a per-request override) acts on the resource.
    await gate.submit(request({ action: 'patch', mode: 'enforce' }), performer().perform);
    clock.advance(5_000);
    await approvals.decide('apr-1', { approve: true, by: 'alice' });
    expect(calls).toEqual([]);
    expect(gate.recent()[0]).toMatchObject({ id: 'act-1', outcome: 'refused', rail: 'cooldown', approval: 'apr-1' });
  });
});

describe('action gate: idempotency, freezes, recent, lifecycle', () => {
  it('returns the first record for a repeated key once executed, and tries again after a failure', async () => {
    const { calls, perform } = performer();
    const a = await gate.submit(request({ key: 'k1' }), perform);
    const b = await gate.submit(request({ key: 'k1' }), perform);
    expect(b).toBe(a);
    expect(calls).toHaveLength(1);
    const boom = async () => {
      throw new Error('x');
    };
    expect((await gate.submit(request({ key: 'k2', resource: 'instancegroup/api' }), boom)).outcome).toBe('failed');
    const retried = await gate.submit(request({ key: 'k2', resource: 'instancegroup/api' }), perform);
    expect(retried.outcome).toBe('executed');
    expect(retried.id).not.toBe('act-2');
  });

  it('freezes a flapping resource, reports it, and lets an operator unfreeze it', async () => {
    gate.configure('P', spec({ flap: { maxReversals: 1, withinMs: 600_000 } }));
    const p = performer().perform;
    await gate.submit(request({ policy: 'P', direction: 'up' }), p);
    await gate.submit(request({ policy: 'P', direction: 'down' }), p);
    const refused = await gate.submit(request({ policy: 'P', direction: 'up' }), p);
    expect(refused).toMatchObject({ outcome: 'refused', rail: 'flap', froze: ['P'] });
    expect(events.slice(-2).map((e) => [e.id, e.type])).toEqual([
      ['act-3', 'homeostat.action.refused'],
      ['act-3.frozen', 'homeostat.action.frozen'],
    ]);
    expect(gate.frozen()).toEqual([
      { policy: 'P', resource: 'instancegroup/web', since: clock.now(), why: refused.why },
    ]);
    expect((await gate.submit(request({ policy: 'P', direction: 'up' }), p)).rail).toBe('frozen');
    const lifted = await gate.unfreeze('P', 'instancegroup/web', 'alice');
    expect(lifted).toMatchObject({ action: 'unfreeze', outcome: 'executed', reason: 'unfrozen by alice' });
    expect(events.at(-1)).toMatchObject({ type: 'homeostat.action.unfrozen', id: lifted.id });
    expect(gate.frozen()).toEqual([]);
    expect((await gate.submit(request({ policy: 'P', direction: 'up' }), p)).outcome).toBe('executed');
    await expect(gate.unfreeze('P', 'instancegroup/web')).rejects.toMatchObject({ code: 'E_NOT_FOUND' });
  });

  it('lists recent records newest first, filtered, and keeps at most maxRecent', async () => {
    gate = makeGate({ maxRecent: 3 });
    const p = performer().perform;
    for (const resource of ['instancegroup/a', 'instancegroup/b', 'instancegroup/c', 'instancegroup/d']) {
      await gate.submit(request({ resource }), p);
      clock.advance(1_000);
    }
    expect(gate.recent().map((r) => r.resource)).toEqual(['instancegroup/d', 'instancegroup/c', 'instancegroup/b']);
    expect(gate.recent({ resource: 'instancegroup/c' })).toHaveLength(1);
    expect(gate.recent({ limit: 1 })).toHaveLength(1);
    expect(gate.recent({ outcome: 'refused' })).toEqual([]);
    expect(gate.recent({ policy: 'Other' })).toEqual([]);
  });

  it('forgets a removed policy’s settings and freezes', async () => {
    gate.configure('P', spec({ mode: 'dry-run' }));
    gate.remove('P');
    expect((await gate.submit(request({ policy: 'P' }), performer().perform)).outcome).toBe('executed');
  });

  it('waits for actions in flight on close and refuses new ones after', async () => {
    let done = false;
    const slow = async () => {
      await new Promise((r) => setImmediate(r));
      done = true;
      return {};
    };
    const pending = gate.submit(request(), slow);
    await gate.close();
    expect(done).toBe(true);
    expect((await pending).outcome).toBe('executed');
    await expect(gate.submit(request(), slow)).rejects.toMatchObject({ code: 'E_CLOSED' });
  });

  it('keeps going when publishing fails, and logs it', async () => {
    const lines: string[] = [];
    const loud = pino({ level: 'error' }, { write: (s: string) => lines.push(s) });
    gate = makeGate({
      logger: loud,
      publish: async () => {
        throw new Error('log is full');
      },
    });
    expect((await gate.submit(request(), performer().perform)).outcome).toBe('executed');
    expect(lines.join('')).toContain('could not publish action events');
  });
});
