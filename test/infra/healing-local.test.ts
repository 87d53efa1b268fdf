/**
 * @module HealingPolicy over real processes: the local provider, the real reconciler with the
 * group delegated, and InfraControl's replace and hold done by the reconciler. A kill -9 is healed
 * by the policy (not by the reconciler) and its incident resolves; an instance that dies on start
 * makes a crash loop that holds the group until the incident is resolved.
 */
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/core/clock.js';
import type { CloudEvent } from '../../src/core/event.js';
import { parseHealingPolicy } from '../../src/core/healing/parse.js';
import type { Resource } from '../../src/core/infra/types.js';
import type { GroupView, InfraControl } from '../../src/engine/automation/types.js';
import { createIncidents, type Incidents } from '../../src/engine/incidents.js';
import { createInfraEventFactory } from '../../src/engine/infra/events.js';
import { createReconciler, type Reconciler } from '../../src/engine/infra/reconciler.js';
import { createHealing, type HealingInstance, type HealingKind } from '../../src/engine/policies/healing.js';
import type { Provider } from '../../src/ports/provider.js';
import { createSqliteIncidentStore } from '../../src/store/sqlite/incident-store.js';
import { openStateDatabase } from '../../src/store/sqlite/state.js';
import type { SqliteDatabase } from '../../src/store/sqlite/database.js';
import { fakeGate } from '../engine/healing-fakes.js';
import { type Fixture, fixture, type Recorder, recorder, WEB, webGroup } from '../providers/local/helpers.js';
import { until } from './helpers.js';

let fx: Fixture;
let db: SqliteDatabase;
let incidents: Incidents;
let kind: HealingKind;
let reconciler: Reconciler | undefined;
let run: HealingInstance | undefined;

beforeEach(() => {
  fx = fixture();
  db = openStateDatabase({ path: `${fx.dataDir}/state.db`, fsync: 'normal' });
  incidents = createIncidents({ store: createSqliteIncidentStore(db), clock: systemClock });
});

afterEach(async () => {
  await run?.close();
  await reconciler?.close();
  kind?.close();
  db.close();
  await fx.cleanup();
  run = undefined;
  reconciler = undefined;
});

/** InfraControl as the infra service offers it: replace and hold through the reconciler. */
function control(provider: Provider, r: Reconciler): InfraControl {
  const group = async (name: string): Promise<GroupView | undefined> => {
    const all = await provider.observe();
    const g = all.find((x): x is Resource<'InstanceGroup'> => x.kind === 'InstanceGroup' && x.name === name);
    if (!g) return undefined;
    const instances = all.filter(
      (x): x is Resource<'Instance'> => x.kind === 'Instance' && (x as Resource<'Instance'>).status?.group === name,
    );
    const { desired, min, max, instanceType } = g.spec;
    return {
      name,
      provider: 'local',
      desired,
      min,
      max,
      instanceType,
      pricePerHour: 0,
      tags: {},
      instances,
      held: r.isHeld(name),
    };
  };
  const unsupported = () => Promise.reject(new Error('not used'));
  return {
    resources: () => provider.observe(),
    group,
    groups: unsupported,
    scaleGroup: unsupported,
    replaceInstance: async (name, cause) => void (await r.replace(name, cause)),
    restartInstance: unsupported,
    stopInstance: unsupported,
    holdGroup: async (g) => r.hold(g, true),
    releaseGroup: async (g) => r.hold(g, false),
    revert: unsupported,
    patch: unsupported,
  };
}

/**
 * Starts the provider, the reconciler (delegating `web`) and the policy; provider events go to
 * the reconciler and, as CloudEvents, to the policy, in order, as the infra service and the
 * policy's rule would deliver them.
 */
async function setup(
  template: { command: string; args: string[] },
  desired: number,
  spec: Record<string, unknown>,
  refuse?: Parameters<typeof fakeGate>[1],
) {
  const rec: Recorder = recorder();
  const toCloud = createInfraEventFactory(systemClock);
  const delivered: CloudEvent[] = [];
  let queue: Promise<unknown> = Promise.resolve();
  const decisions: Record<string, unknown>[] = [];
  const provider = await fx.provider({
    ...rec,
    sink: (e) => {
      rec.sink(e);
      if (e.type === 'metrics') return;
      const ce = toCloud('local', e);
      reconciler?.noteEvent(e.subject, ce.id, e.type);
      reconciler?.poke();
      if (e.type.startsWith('instance.') && (e.data as { group?: string }).group === 'web') {
        delivered.push(ce);
        queue = queue.then(() => run?.onEvent('instance', ce));
      }
    },
  });
  reconciler = createReconciler({
    providers: new Map([['local', provider]]),
    clock: systemClock,
    intervalMs: 100,
    decide: (d) => {
      decisions.push(d.data as Record<string, unknown>);
      return `decision-${decisions.length}`;
    },
  });
  const gate = fakeGate(systemClock, refuse);
  kind = createHealing({ incidents, delegate: (g, on) => reconciler!.delegate(g, on) });
  const manifest = { apiVersion: 'homeostat/v1', kind: 'HealingPolicy', metadata: { name: 'web' } };
  run = await kind.start(parseHealingPolicy({ ...manifest, spec: { target: 'group/web', ...spec } }), {
    clock: systemClock,
    logger: pino({ level: 'silent' }),
    infra: control(provider, reconciler),
    gate: gate.gate,
    publish: async () => undefined,
    notify: async () => undefined,
  });
  const group = webGroup('web', desired, { template: { ...template, env: {}, port: 0 } });
  await provider.apply({ op: 'create', resource: group, cause: 'stack-1' });
  reconciler.start();
  return { provider, rec, decisions, records: gate.records, delivered };
}

describe('HealingPolicy on the local provider', () => {
  it('replaces a killed instance through the gate (the reconciler leaves it alone) and resolves the incident', async () => {
    const { provider, rec, decisions, records } = await setup({ command: process.execPath, args: [WEB] }, 3, {});
    await until(async () => rec.of('instance.ready').length >= 3, 'three instances ready');
    const victim = (await provider.observe()).find((r) => r.name === 'web-2') as Resource<'Instance'>;
    process.kill(victim.status!.pid!, 'SIGKILL');

    const [incident] = await until(async () => {
      const list = await incidents.list({ status: 'resolved' });
      return list.length > 0 ? list : undefined;
    }, 'the incident resolved');
    const replace = records.find((r) => r.action === 'replace')!;
    expect(replace).toMatchObject({ resource: 'instance/web-2', outcome: 'executed' });
    // The replacement was started by the policy's action, not by a reconciler decision.
    expect(rec.of('instance.started', 'instance/web-4')[0]!.cause).toBe(replace.id);
    expect(rec.of('instance.ready', 'instance/web-4')[0]!.cause).toBe(replace.id);
    expect(decisions.filter((d) => String(d.reason).startsWith('replace'))).toEqual([]);
    expect(incident!.details).toMatchObject({ failures: 1, verified: 1 });
    expect(incident!.timeline.map((e) => e.summary)).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^web-2 crashed: signal SIGKILL/),
        expect.stringMatching(/^web-4 ready/),
      ]),
    );
    expect(
      (await provider.observe()).filter(
        (r) => r.kind === 'Instance' && (r as Resource<'Instance'>).status!.phase === 'running',
      ),
    ).toHaveLength(3);
  });

  it('holds a group whose instances die on start, starts nothing more, and starts again once the incident is resolved', async () => {
    const { rec, records } = await setup({ command: process.execPath, args: ['-e', 'process.exit(3)'] }, 2, {
      crashLoop: { crashes: 3, within: '1m' },
    });
    const held = await until(async () => {
      const [open] = await incidents.list({ status: 'open' });
      return open?.details.held === true ? open : undefined;
    }, 'the crash-loop incident');
    expect(held.severity).toBe('critical');
    expect(records.map((r) => r.action)).toEqual(['replace', 'replace', 'hold']);
    expect(reconciler!.isHeld('web')).toBe(true);

    // Every instance started so far has crashed; while held, no new one starts (several passes).
    await until(async () => rec.of('instance.crashed').length >= rec.of('instance.started').length, 'all crashed');
    const startedWhileHeld = rec.of('instance.started').length;
    await reconciler!.pass();
    await new Promise((r) => setTimeout(r, 500));
    await reconciler!.pass();
    expect(rec.of('instance.started')).toHaveLength(startedWhileHeld);

    await incidents.resolve(held.id, { by: 'test', comment: 'fixed' });
    expect(records.at(-1)).toMatchObject({ action: 'release', outcome: 'executed' });
    expect(reconciler!.isHeld('web')).toBe(false);
    await until(
      async () => rec.of('instance.started').length > startedWhileHeld,
      'an instance started after the release',
    );
  });

  it('leaves a failure the rails refused unreplaced: the delegated reconciler does not step in', async () => {
    const refuseReplace = (r: { action: string }) => (r.action === 'replace' ? 'rate-limit' : undefined);
    const { provider, rec, records } = await setup({ command: process.execPath, args: [WEB] }, 2, {}, refuseReplace);
    await until(async () => rec.of('instance.ready').length >= 2, 'two instances ready');
    const victim = (await provider.observe()).find((r) => r.name === 'web-1') as Resource<'Instance'>;
    process.kill(victim.status!.pid!, 'SIGKILL');
    await until(async () => records.find((r) => r.action === 'replace'), 'the refused replacement');
    await reconciler!.pass();
    await new Promise((r) => setTimeout(r, 300));
    await reconciler!.pass();
    expect(rec.of('instance.started')).toHaveLength(2);
    const [open] = await incidents.list({ status: 'open' });
    expect(open!.timeline.at(-1)!.summary).toMatch(/^refused by the rate-limit rail/);
  });
});
