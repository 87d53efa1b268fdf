/**
 * @module HealingPolicy end to end inside the engine layer: instance events in, replacements
 * through the gate, verification, incidents in a real SQLite state database, notifications to a
 * real HTTP webhook; crash loops hold the group until a person resolves the incident.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createManualClock, type ManualClock } from '../../src/core/clock.js';
import type { CloudEvent } from '../../src/core/event.js';
import { parseHealingPolicy } from '../../src/core/healing/parse.js';
import type { ActionRequest } from '../../src/engine/automation/types.js';
import { createIncidents, type Incidents } from '../../src/engine/incidents.js';
import { createHealing, type HealingInstance, type HealingKind } from '../../src/engine/policies/healing.js';
import { openStateDatabase } from '../../src/store/sqlite/state.js';
import { createSqliteIncidentStore } from '../../src/store/sqlite/incident-store.js';
import type { SqliteDatabase } from '../../src/store/sqlite/database.js';
import { fakeGate, fakeInfra, instanceEvent, postNotify, startWebhook, type Webhook } from './healing-fakes.js';

const T0 = Date.UTC(2026, 0, 1, 12);

let dir: string;
let db: SqliteDatabase;
let clock: ManualClock;
let incidents: Incidents;
let published: CloudEvent[];
let webhook: Webhook;
let kind: HealingKind;
const delegations: string[] = [];

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'homeostat-healing-'));
  db = openStateDatabase({ path: join(dir, 'state.db'), fsync: 'normal' });
  clock = createManualClock(T0);
  published = [];
  incidents = createIncidents({
    store: createSqliteIncidentStore(db),
    clock,
    publish: async (events) => void published.push(...events),
  });
  webhook = await startWebhook();
  delegations.length = 0;
  kind = createHealing({ incidents, delegate: (group, on) => delegations.push(`${group}:${on}`) });
});

afterEach(async () => {
  kind.close();
  await webhook.close();
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

function policy(spec: Record<string, unknown> = {}) {
  return parseHealingPolicy({
    apiVersion: 'homeostat/v1',
    kind: 'HealingPolicy',
    metadata: { name: 'web' },
    spec: { target: 'group/web', notify: { url: webhook.url }, ...spec },
  });
}

async function start(
  spec = policy(),
  desired = 3,
  refuse?: (r: ActionRequest) => string | undefined,
): Promise<{ run: HealingInstance } & ReturnType<typeof fakeInfra> & ReturnType<typeof fakeGate>> {
  const infra = fakeInfra(desired);
  const gate = fakeGate(clock, refuse);
  const run = await kind.start(spec, {
    clock,
    logger: pino({ level: 'silent' }),
    infra: infra.infra,
    gate: gate.gate,
    publish: async (events) => void published.push(...events),
    notify: postNotify,
  });
  return { run, ...infra, ...gate };
}

const deliver = (run: HealingInstance, e: CloudEvent) => run.onEvent('instance', e);

describe('HealingPolicy', () => {
  it('replaces a crashed instance, verifies the replacement and resolves the incident with the recovery times', async () => {
    const { run, calls, records, set } = await start();
    const crash = instanceEvent('crashed', 'web-2', T0, { data: { exitCode: null, signal: 'SIGKILL' } });
    clock.set(T0 + 40);
    const result = await deliver(run, crash);
    expect(result).toMatchObject({ failure: 'crashed', instance: 'web-2', outcome: 'executed' });
    const [replace] = records;
    expect(replace).toMatchObject({
      policy: 'HealingPolicy/web',
      action: 'replace',
      resource: 'instance/web-2',
      group: 'web',
      groupSize: 3,
      direction: 'none',
      cause: crash.id,
    });
    expect(calls).toEqual([`replace web-2 -> web-4 (${replace!.id})`]);

    const [open] = await incidents.list({ status: 'open' });
    expect(open).toMatchObject({ severity: 'warning', resource: 'instancegroup/web', policy: 'HealingPolicy/web' });
    expect(open!.timeline.map((e) => [e.kind, e.ref])).toEqual([
      ['event', crash.id],
      ['action', replace!.id],
    ]);
    expect(open!.timeline[0]!.summary).toBe('web-2 crashed: signal SIGKILL');
    await webhook.waitFor(1);
    expect(webhook.received[0]).toMatchObject({
      body: { type: 'homeostat.incident.opened', incident: { id: open!.id } },
      key: `${open!.id}:opened`,
    });

    await deliver(run, instanceEvent('started', 'web-4', T0 + 100, { cause: replace!.id }));
    set('web-4', 'running', true);
    clock.set(T0 + 900);
    await deliver(run, instanceEvent('ready', 'web-4', T0 + 900, { cause: replace!.id }));

    const resolved = (await incidents.get(open!.id))!;
    expect(resolved).toMatchObject({ status: 'resolved', resolvedBy: 'HealingPolicy/web', resolvedAt: T0 + 900 });
    expect(resolved.details).toMatchObject({
      failures: 1,
      replacements: 1,
      verified: 1,
      toActionMs: 40,
      toReplacementMs: 100,
      toVerifiedMs: 900,
      toResolvedMs: 900,
    });
    expect(resolved.timeline.map((e) => e.summary)).toEqual(
      expect.arrayContaining([
        'replacement web-4 started for web-2 (100 ms after it crashed)',
        'web-4 ready: healthy and in rotation, replacing web-2 (900 ms after it crashed)',
        'resolved by HealingPolicy/web: web is back at 3/3 healthy instances',
      ]),
    );
    await webhook.waitFor(2);
    expect(webhook.received.map((r) => r.body.type)).toEqual([
      'homeostat.incident.opened',
      'homeostat.incident.resolved',
    ]);
    expect(published.map((e) => e.type)).toEqual(['homeostat.incident.opened', 'homeostat.incident.resolved']);
    expect(published[0]!.causationid).toBe(crash.id);
    expect(run.status()).toMatchObject({
      held: false,
      incident: null,
      counts: { failures: 1, replacements: 1, verified: 1 },
    });
    await run.close();
  });

  it('holds the group after a crash loop, raises a critical incident, notifies, and stops replacing', async () => {
    const { run, calls, records } = await start(policy({ crashLoop: { crashes: 3, within: '1m' } }), 2);
    await deliver(run, instanceEvent('crashed', 'web-1', T0, { data: { exitCode: 1 } }));
    await deliver(run, instanceEvent('started', 'web-3', T0 + 50, { cause: records[0]!.id }));
    await deliver(run, instanceEvent('crashed', 'web-2', T0 + 1_000, { data: { exitCode: 1 } }));
    // web-3 dies while starting: the third failure within a minute.
    clock.set(T0 + 2_000);
    const third = await deliver(run, instanceEvent('crashed', 'web-3', T0 + 2_000, { data: { exitCode: 1 } }));
    expect(third).toMatchObject({ crashLoop: true, outcome: 'executed' });
    expect(records.map((r) => `${r.action} ${r.resource}`)).toEqual([
      'replace instance/web-1',
      'replace instance/web-2',
      'hold instancegroup/web',
    ]);
    expect(calls.at(-1)).toBe(`hold web (${records[2]!.id})`);

    await deliver(run, instanceEvent('crashed', 'web-4', T0 + 3_000, { data: { exitCode: 1 } }));
    expect(records).toHaveLength(3);

    const [incident] = await incidents.list({ status: 'open' });
    expect(incident).toMatchObject({ severity: 'critical', title: 'web: crash loop, replacements held' });
    expect(incident!.details).toMatchObject({ held: true, failures: 4 });
    const text = incident!.timeline.map((e) => e.summary);
    expect(text).toEqual(
      expect.arrayContaining([
        'replacement web-3 (for web-1) failed before it was ready',
        'crash loop: 3 failures (crashed or never ready) within 1m; stop replacing and hold web',
        'hold web: no new instances until released',
        'web-4 not replaced: web is held',
      ]),
    );
    await webhook.waitFor(2);
    expect(webhook.received.map((r) => [r.body.type, r.body.incident.severity])).toEqual([
      ['homeostat.incident.opened', 'warning'],
      ['homeostat.incident.escalated', 'critical'],
    ]);
    expect(published.map((e) => e.type)).toContain('homeostat.incident.escalated');
    expect(run.status()).toMatchObject({ held: true, counts: { crashLoops: 1, notReplaced: 1 } });

    // A person resolves the incident: the hold is released through the gate, whatever the mode.
    clock.set(T0 + 60_000);
    const resolved = await incidents.resolve(incident!.id, { by: 'cli:alice', comment: 'bad build rolled back' });
    expect(records.at(-1)).toMatchObject({ action: 'release', resource: 'instancegroup/web', mode: 'enforce' });
    expect(calls.at(-1)).toBe(`release web (${records.at(-1)!.id})`);
    expect(resolved).toMatchObject({ status: 'resolved', resolvedBy: 'cli:alice' });
    expect(resolved.details.held).toBe(false);
    expect(resolved.timeline.at(-1)!.summary).toBe('release web: the reconciler fills it to its desired size again');
    expect(run.status()).toMatchObject({ held: false, crashWindow: [] });
    await run.close();
  });

  it('tells a hang from an unhealthy answer and acts only on the kinds in spec.on', async () => {
    const { run, records } = await start(policy({ on: ['hung'] }));
    const unhealthy = await deliver(
      run,
      instanceEvent('unhealthy', 'web-1', T0, { data: { reason: 'HTTP 503 from /healthz', failures: 2 } }),
    );
    expect(unhealthy).toMatchObject({ ignored: 'unhealthy is not in spec.on' });
    const hung = await deliver(
      run,
      instanceEvent('unhealthy', 'web-2', T0, { data: { reason: 'no answer from /healthz within 500 ms' } }),
    );
    expect(hung).toMatchObject({ failure: 'hung', outcome: 'executed' });
    expect(records.map((r) => r.resource)).toEqual(['instance/web-2']);
    await run.close();
  });

  it('handles one failure per instance: an unhealthy instance that then crashes is replaced once', async () => {
    const { run, records } = await start();
    await deliver(run, instanceEvent('unhealthy', 'web-1', T0, { data: { reason: 'HTTP 500 from /healthz' } }));
    await deliver(run, instanceEvent('crashed', 'web-1', T0 + 10));
    expect(records).toHaveLength(1);
    await run.close();
  });

  it('replaces a started instance that is not ready within verify.timeout', async () => {
    const { run, records } = await start(policy({ verify: { timeout: '5s' } }));
    await deliver(run, instanceEvent('started', 'web-9', T0));
    clock.set(T0 + 4_000);
    await run.sweep();
    expect(records).toEqual([]);
    clock.set(T0 + 5_001);
    await run.sweep();
    expect(records).toMatchObject([
      { action: 'replace', resource: 'instance/web-9', inputs: { failure: 'not-ready' } },
    ]);
    await run.close();
  });

  it('records a replacement the rails refuse on the incident, which stays open', async () => {
    const { run, calls } = await start(policy(), 3, (r) => (r.action === 'replace' ? 'blast-radius' : undefined));
    const out = await deliver(run, instanceEvent('crashed', 'web-1', T0));
    expect(out).toMatchObject({ outcome: 'refused' });
    expect(calls).toEqual([]);
    const [incident] = await incidents.list({ status: 'open' });
    expect(incident!.timeline.at(-1)!.summary).toMatch(
      /^refused by the blast-radius rail \(blast-radius says no\): replace web-1/,
    );
    expect(run.status()).toMatchObject({ counts: { notReplaced: 1 } });
    await run.close();
  });

  it('records a replacement that InfraControl could not carry out as failed, with nothing left pending', async () => {
    const { run } = await start();
    const out = await deliver(run, instanceEvent('crashed', 'web-99', T0));
    expect(out).toMatchObject({ outcome: 'failed' });
    expect(run.status()).toMatchObject({ pending: [], counts: { replacements: 0, notReplaced: 1 } });
    const [incident] = await incidents.list({ status: 'open' });
    expect(incident!.timeline.at(-1)!.summary).toMatch(/^failed \(no instance web-99\): replace web-99/);
    await run.close();
  });

  it('notes on the incident when the webhook fails', async () => {
    const failing = await startWebhook(500);
    try {
      const { run } = await start(policy({ notify: { url: failing.url } }));
      await deliver(run, instanceEvent('crashed', 'web-1', T0));
      await failing.waitFor(1);
      const [incident] = await incidents.list({ status: 'open' });
      await expect
        .poll(async () => (await incidents.get(incident!.id))!.timeline.at(-1)!.summary)
        .toBe(`notification to ${failing.url} failed: HTTP 500 from ${failing.url}`);
      await run.close();
    } finally {
      await failing.close();
    }
  });

  it('adopts its open crash-loop incident after a restart and holds the group again', async () => {
    const first = await start(policy({ crashLoop: { crashes: 1, within: '1m' } }));
    await deliver(first.run, instanceEvent('crashed', 'web-1', T0));
    expect(first.isHeld()).toBe(true);
    await first.run.close();
    const [incident] = await incidents.list({ status: 'open' });

    const second = await start(policy({ crashLoop: { crashes: 1, within: '1m' } }));
    expect(second.records).toMatchObject([{ action: 'hold', resource: 'instancegroup/web' }]);
    expect(second.isHeld()).toBe(true);
    expect(second.run.status()).toMatchObject({ held: true, incident: incident!.id });
    await second.run.close();
  });

  it('delegates the group while it runs (counted per group), and not in dry-run mode', async () => {
    const a = await start();
    const b = await start();
    await a.run.close();
    await a.run.close();
    expect(delegations).toEqual(['web:true']);
    await b.run.close();
    expect(delegations).toEqual(['web:true', 'web:false']);
    const dry = await start(policy({ safety: { mode: 'dry-run' } }));
    await dry.run.close();
    expect(delegations).toEqual(['web:true', 'web:false']);
  });
});
