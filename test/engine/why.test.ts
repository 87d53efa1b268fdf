/**
 * @module The why service over a real SQLite event log and state database with a manual clock:
 * effects appended before their cause (an action's infrastructure events), incidents as ids, the
 * scan bounds and the honest `truncated` flag, and the pure progress sentences of why-not.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createManualClock, type ManualClock } from '../../src/core/clock.js';
import type { WhenSpec } from '../../src/core/conditions/types.js';
import type { CloudEvent } from '../../src/core/event.js';
import { conditionProgress } from '../../src/core/why/condition-progress.js';
import { formatDuration, formatRelative } from '../../src/core/why/format.js';
import type { WhyNode } from '../../src/core/why/types.js';
import { actionEvent } from '../../src/engine/automation/action-events.js';
import type { ActionRecord } from '../../src/engine/automation/types.js';
import { createIncidents, type Incidents } from '../../src/engine/incidents.js';
import { collectDescendants } from '../../src/engine/why/collect.js';
import { createWhyService, type WhyService } from '../../src/engine/why/service.js';
import { createSqliteEventLog } from '../../src/log/sqlite/event-log.js';
import type { EventLog } from '../../src/ports/event-log.js';
import type { SqliteDatabase } from '../../src/store/sqlite/database.js';
import { createSqliteIncidentStore } from '../../src/store/sqlite/incident-store.js';
import { openStateDatabase } from '../../src/store/sqlite/state.js';

let dir: string;
let clock: ManualClock;
let log: EventLog;
let db: SqliteDatabase;
let incidents: Incidents;
let why: WhyService;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'homeostat-why-'));
  clock = createManualClock(Date.UTC(2026, 2, 1, 12));
  log = await createSqliteEventLog({ path: join(dir, 'events.db'), clock, writerThread: false });
  db = openStateDatabase({ path: join(dir, 'state.db'), fsync: 'normal' });
  incidents = createIncidents({
    store: createSqliteIncidentStore(db),
    clock,
    publish: (events) => log.append(events),
  });
  why = createWhyService({ log, incidents });
});

afterEach(async () => {
  await log.close();
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

function ev(id: string, type: string, extra: Partial<CloudEvent> = {}): CloudEvent {
  return { specversion: '1.0', id, source: '/t', type, ...extra };
}

async function append(...events: CloudEvent[]): Promise<void> {
  for (const e of events) {
    await log.append([e]);
    clock.advance(10);
  }
}

const action = (id: string, cause: string): ActionRecord => ({
  id,
  at: clock.now(),
  policy: 'ScalingPolicy/web',
  action: 'scale',
  resource: 'instancegroup/web',
  params: { from: 2, to: 3 },
  reason: 'rps 150 / target 50',
  outcome: 'executed',
  cause,
});

const flat = (n: WhyNode): WhyNode[] => [n, ...n.children.flatMap(flat)];

describe('why over the log', () => {
  it('puts infrastructure events appended before their action under that action, and the cost under the instance', async () => {
    await append(ev('m-1', 'infra.metrics', { subject: 'instancegroup/web', data: { rps: 150 } }));
    await append(ev('noise-1', 'other'));
    // perform() runs before the gate publishes the action: its effects come first in the log.
    await append(
      ev('g-1', 'infra.group.scaled', { subject: 'instancegroup/web', causationid: 'act-1', data: { from: 2, to: 3 } }),
    );
    await append(ev('i-1', 'infra.instance.started', { subject: 'instance/web-3', causationid: 'g-1' }));
    await append(actionEvent(action('act-1', 'm-1')));
    await append(
      ev('cost-i-1', 'cost.changed', {
        causationid: 'i-1',
        data: { instance: 'web-3', group: 'web', kind: 'started', deltaPerHour: 0.021, groupRatePerHour: 0.063 },
      }),
    );

    const tree = await why.why('act-1');
    expect(tree.resolved).toEqual({ kind: 'action', event: 'act-1' });
    expect(tree.root.id).toBe('m-1');
    expect(tree.path).toEqual(['m-1', 'act-1']);
    const act = tree.root.children[0]!;
    expect(act).toMatchObject({ kind: 'action', focus: true, t: 40 });
    expect(act.summary).toBe('action scale instancegroup/web 2→3 executed (ScalingPolicy/web: rps 150 / target 50)');
    expect(flat(act).map((n) => `${n.kind} ${n.id}`)).toEqual([
      'action act-1',
      'resource g-1',
      'resource i-1',
      'cost cost-i-1',
    ]);
    expect(flat(act)[3]!.summary).toBe('cost +$0.0210/h instance web-3 started; group web now $0.0630/h');
    expect(tree.totals).toMatchObject({ events: 5, actions: { executed: 1 }, resourceChanges: 2, costChanges: 1 });
    expect(tree.totals.costDeltaPerHour).toBeCloseTo(0.021, 9);
    expect(tree.scan).toMatchObject({ truncated: false, scanned: 6 });
  });

  it('says the scan was cut by maxEvents or by the window, and how far it read', async () => {
    await append(ev('r-1', 'root'));
    for (let i = 0; i < 20; i++) await append(ev(`x-${i}`, 'other'));
    await append(ev('late-child', 'child', { causationid: 'r-1' }));

    const cut = await why.why('r-1', { maxEvents: 10 });
    expect(cut.scan).toMatchObject({ truncated: true, reason: 'max-events', scanned: 10 });
    expect(cut.root.children).toEqual([]);
    const whole = await why.why('r-1');
    expect(whole.scan).toMatchObject({ truncated: false, scanned: 22 });
    expect(whole.root.children.map((n) => n.id)).toEqual(['late-child']);
    const window = await why.why('r-1', { windowMs: 50 });
    expect(window.scan).toMatchObject({ truncated: true, reason: 'window' });
  });

  it('resolves an incident id to its opened event, under what opened it, and the cause chain to the root', async () => {
    await append(ev('crash-1', 'infra.instance.crashed', { subject: 'instance/web-1' }));
    const incident = await incidents.open({
      title: 'web: crash loop',
      severity: 'critical',
      resource: 'instancegroup/web',
      group: 'web',
      policy: 'HealingPolicy/web',
      timeline: [],
      cause: 'crash-1',
    });
    await new Promise((r) => setTimeout(r, 20));
    const tree = await why.why(incident.id);
    expect(tree.resolved).toEqual({ kind: 'incident', event: `${incident.id}.opened` });
    expect(tree.root.id).toBe('crash-1');
    expect(tree.root.children).toMatchObject([{ kind: 'incident', id: `${incident.id}.opened`, focus: true }]);
    expect(tree.root.children[0]!.summary).toBe(`incident ${incident.id} opened: web: crash loop (critical)`);
  });

  it('notes a cause that is no longer in the log and starts the tree at the oldest event found', async () => {
    await append(ev('orphan', 'child', { causationid: 'gone-1' }));
    const tree = await why.why('orphan', { maxEvents: 100 });
    expect(tree.root.id).toBe('orphan');
    expect(tree.notes[0]).toContain("was caused by 'gone-1', which is not in the log");
  });

  it('rejects an unknown id with E_NOT_FOUND naming how far it searched', async () => {
    await append(ev('a', 'x'));
    await expect(why.why('nope')).rejects.toMatchObject({
      code: 'E_NOT_FOUND',
      message: expect.stringContaining('searched 1 events'),
    });
  });

  it('collects effects in log order even when a grandchild precedes its parent', async () => {
    await append(ev('root', 'r'));
    await append(ev('grandchild', 'g', { causationid: 'child' }));
    await append(ev('child', 'c', { causationid: 'root' }));
    const [root] = await log.read({ from: 0, limit: 1 });
    const d = await collectDescendants(log, root!, { maxEvents: 100, windowMs: 60_000 });
    expect(d.children('root').map((r) => r.event.id)).toEqual(['child']);
    expect(d.children('child').map((r) => r.event.id)).toEqual(['grandchild']);
  });
});

describe('why-not progress sentences', () => {
  const base = { debounce: 0, cooldown: 0 };
  const t0 = Date.UTC(2026, 0, 1);

  it('counts the events within the window', () => {
    const spec: WhenSpec = { ...base, count: { atLeast: 5, within: 60_000 } };
    const p = conditionProgress(
      spec,
      { gate: { fired: false }, window: { times: [t0 - 90_000, t0 - 30_000, t0 - 1_000, t0] } },
      t0,
    );
    expect(p.holds).toBe(false);
    expect(p.text).toBe('count 3 of atLeast 5 within 1m (the oldest counted at 2025-12-31T23:59:30.000Z)');
  });

  it('measures a sustained streak against its duration', () => {
    const spec: WhenSpec = { ...base, for: 60_000, maxGap: 10_000 };
    const p = conditionProgress(spec, { window: { start: t0 - 12_000, last: t0, events: 7 } }, t0);
    expect(p.text).toMatch(/^sustained for 12s of the required 1m \(7 events since /);
  });

  it('explains a holding condition that already fired, or cools down', () => {
    const spec: WhenSpec = { ...base, cooldown: 600_000, count: { atLeast: 2, within: 60_000 } };
    const fired = conditionProgress(
      spec,
      { gate: { fired: true, firedAt: t0 - 5_000, since: t0 - 5_000 }, window: { times: [t0 - 5_000, t0] } },
      t0,
    );
    expect(fired.holds).toBe(true);
    expect(fired.text).toContain('it already fired at 2025-12-31T23:59:55.000Z while the condition kept holding');
    const cooling = conditionProgress(
      spec,
      { gate: { fired: false, firedAt: t0 - 5_000, since: t0 }, window: { times: [t0 - 1, t0] } },
      t0,
    );
    expect(cooling.text).toContain('cooling down until 2026-01-01T00:09:55.000Z');
  });

  it('formats durations and relative times', () => {
    expect([0, 275, 1_200, 12_000, 60_000, 90_000, 7_200_000, 90_000_000].map(formatDuration)).toEqual([
      '0ms',
      '275ms',
      '1.2s',
      '12s',
      '1m',
      '1m30s',
      '2h',
      '1d1h',
    ]);
    expect([0, 275, -40].map(formatRelative)).toEqual(['+0ms', '+275ms', '-40ms']);
  });
});
