import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createManualClock, type ManualClock } from '../../src/core/clock.js';
import { DEFAULT_SAFETY } from '../../src/core/safety/parse.js';
import { createActionGate, type ManagedActionGate } from '../../src/engine/automation/gate.js';
import { loadActionHistory } from '../../src/engine/automation/history.js';
import type { ActionRecord, ActionRequest } from '../../src/engine/automation/types.js';
import { createSqliteEventLog } from '../../src/log/sqlite/event-log.js';
import type { EventLog } from '../../src/ports/event-log.js';
import { createTestApprovals, type TestApprovals } from './memory-approvals.js';

const M = 60_000;
let dir: string;
let clock: ManualClock;
let log: EventLog;
let approvals: TestApprovals;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'homeostat-actions-'));
  clock = createManualClock(Date.UTC(2026, 0, 1));
  log = await createSqliteEventLog({ path: join(dir, 'events.db'), clock, writerThread: false });
  approvals = createTestApprovals(() => clock.now());
});
afterEach(async () => {
  await log.close();
  rmSync(dir, { recursive: true, force: true });
});

let ids = 0;
function gateOn(
  performRequest?: (r: ActionRequest, id: string) => Promise<Record<string, unknown>>,
  history?: readonly ActionRecord[],
): ManagedActionGate {
  const gate = createActionGate({
    ...(history ? { history } : {}),
    clock,
    logger: pino({ level: 'silent' }),
    approvals,
    publish: (events) => log.append(events),
    newId: () => `act-${process.pid}-${++ids}`,
    ...(performRequest ? { performRequest } : {}),
  });
  gate.configure('Scaling', { ...DEFAULT_SAFETY, cooldownMs: 5 * M, flap: { maxReversals: 1, withinMs: 30 * M } });
  gate.configure('Gated', { ...DEFAULT_SAFETY, mode: 'approval' });
  return gate;
}

const req = (policy: string, resource: string, over: Partial<ActionRequest> = {}): ActionRequest => ({
  policy,
  action: 'scale',
  resource,
  params: {},
  reason: 'test',
  ...over,
});
const ok = async () => ({});

describe('action history', () => {
  it('rebuilds cooldowns, freezes, unfreezes and pending approvals after a restart', async () => {
    const before = gateOn();
    // A freeze (flap) on group a, one lifted on group b, a cooldown running on group c.
    for (const direction of ['up', 'down', 'up'] as const) {
      await before.submit(req('Scaling', 'instancegroup/a', { direction }), ok);
      clock.advance(6 * M);
    }
    for (const direction of ['up', 'down', 'up'] as const) {
      await before.submit(req('Scaling', 'instancegroup/b', { direction }), ok);
      clock.advance(6 * M);
    }
    await before.unfreeze('Scaling', 'instancegroup/b', 'alice');
    await before.submit(req('Scaling', 'instancegroup/c'), ok);
    const pending = await before.submit(req('Gated', 'instancegroup/d', { params: { to: 3 } }), ok);
    expect(pending.outcome).toBe('pending-approval');
    const whileDown = await before.submit(req('Gated', 'instancegroup/e', { params: { to: 1 } }), ok);
    await before.close();
    // Decided while the server is down: handed to the new gate when it registers.
    approvals.restart();
    await approvals.decide(whileDown.approval!, { approve: true, by: 'bob' });
    clock.advance(M);

    const performed: [string, string][] = [];
    const history = await loadActionHistory(log, clock.now() - 24 * 60 * M);
    const after = gateOn(async (r, id) => {
      performed.push([r.resource, id]);
      return { to: r.params.to };
    }, history);
    await approvals.settled();
    expect(performed).toEqual([['instancegroup/e', whileDown.id]]);
    performed.length = 0;

    expect(after.frozen().map((f) => [f.policy, f.resource])).toEqual([['Scaling', 'instancegroup/a']]);
    expect((await after.submit(req('Scaling', 'instancegroup/a'), ok)).rail).toBe('frozen');
    expect((await after.submit(req('Scaling', 'instancegroup/b', { direction: 'down' }), ok)).outcome).toBe('executed');
    const cooled = await after.submit(req('Scaling', 'instancegroup/c'), ok);
    expect(cooled.rail).toBe('cooldown');
    expect(cooled.why).toContain('acted on instancegroup/c 60s ago');
    // The same request again while its approval waits does not ask twice.
    expect((await after.submit(req('Gated', 'instancegroup/d', { params: { to: 3 } }), ok)).id).toBe(pending.id);

    await approvals.decide(pending.approval!, { approve: true, by: 'alice' });
    expect(performed).toEqual([['instancegroup/d', pending.id]]);
    expect(after.recent({ resource: 'instancegroup/d' })[0]).toMatchObject({ id: pending.id, outcome: 'executed' });
    await after.close();
  });

  it('reads outcomes since the given time but freezes however old, each record once', async () => {
    const gate = gateOn();
    for (const direction of ['up', 'down', 'up'] as const) {
      await gate.submit(req('Scaling', 'instancegroup/a', { direction }), ok);
      clock.advance(6 * M);
    }
    clock.advance(120 * M);
    await gate.submit(req('Scaling', 'instancegroup/z'), ok);
    await gate.close();
    const recent = await loadActionHistory(log, clock.now() - 60 * M);
    expect(recent.map((r) => [r.resource, r.outcome])).toEqual([
      ['instancegroup/a', 'refused'],
      ['instancegroup/z', 'executed'],
    ]);
    const all = await loadActionHistory(log, 0);
    expect(all.map((r) => r.outcome)).toEqual(['executed', 'executed', 'refused', 'executed']);
  });

  it('skips events that only look like action events', async () => {
    await log.append([
      { specversion: '1.0', id: 'x1', source: 'someone/else', type: 'homeostat.action.executed', data: {} },
      { specversion: '1.0', id: 'x2', source: 'homeostat/actions', type: 'homeostat.action.executed', data: { id: 1 } },
    ]);
    expect(await loadActionHistory(log, 0)).toEqual([]);
  });

  it('pages through more records than one query returns', async () => {
    const gate = gateOn();
    gate.configure('Many', {
      ...DEFAULT_SAFETY,
      rateLimit: { max: 100_000, perMs: M },
      blastRadius: { ...DEFAULT_SAFETY.blastRadius, maxResources: 100_000 },
    });
    for (let i = 0; i < 1_205; i++) await gate.submit(req('Many', `instance/i-${i}`), ok);
    await gate.close();
    const history = await loadActionHistory(log, 0);
    expect(history).toHaveLength(1_205);
    expect(new Set(history.map((r) => r.id)).size).toBe(1_205);
  });
});
