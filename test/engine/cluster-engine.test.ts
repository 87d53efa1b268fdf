/**
 * The engine in cluster mode: two engines (two nodes) on one log and one state database, each
 * routing the partitions it was given. Checked: every event delivered once across the nodes, each
 * node only its partitions, order per key across a change of owner, pending retries moving with a
 * partition, and leader-placed targets and conditions only on the leader.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { createTargetRegistry, validateAction } from '../../src/actions/registry.js';
import { systemClock } from '../../src/core/clock.js';
import { partitionKeyOf, partitionOf } from '../../src/core/event.js';
import { parseRuleManifest } from '../../src/core/rules/manifest.js';
import { createEngine, type Engine } from '../../src/engine/engine.js';
import { createSqliteEventLog } from '../../src/log/sqlite/event-log.js';
import type { EventLog } from '../../src/ports/event-log.js';
import type { ActionRegistry } from '../../src/actions/registry.js';
import { createSqliteConditionStore } from '../../src/store/sqlite/condition-store.js';
import { createSqliteDeliveryStore } from '../../src/store/sqlite/delivery-store.js';
import { openStateDatabase } from '../../src/store/sqlite/state.js';
import { eventually, type Sink, startSink, testEvent } from './harness.js';

const PARTITIONS = 4;

interface Cluster {
  readonly log: EventLog;
  readonly sink: Sink;
  node(): Engine;
  rule(manifest: Record<string, unknown>): void;
  close(): Promise<void>;
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

/** One log and state database; `node()` adds an engine (a node) sharing them. `emit` is leader-placed. */
async function startCluster(): Promise<Cluster> {
  const dir = mkdtempSync(join(tmpdir(), 'homeostat-cluster-engine-'));
  const log = await createSqliteEventLog({ path: join(dir, 'events.db'), writerThread: false, partitions: PARTITIONS });
  const db = openStateDatabase({ path: join(dir, 'state.db'), fsync: 'normal' });
  const store = createSqliteDeliveryStore(db, systemClock);
  const conditionStore = createSqliteConditionStore(db, systemClock);
  const sink = await startSink();
  const registries: ActionRegistry[] = [];
  const engines: Engine[] = [];
  const manifests: Record<string, unknown>[] = [];
  const registry = (): ActionRegistry => {
    const targets = createTargetRegistry({
      logger: pino({ level: 'silent' }),
      publish: async (events) => (await log.append(events)).map((r) => ({ status: r.status }) as const),
      exec: { allow: {} },
      clock: systemClock,
    });
    registries.push(targets);
    return targets;
  };
  const ctxTargets = registry();
  const ctx = { validateAction: validateAction(ctxTargets), knownActions: [...ctxTargets.keys()] };
  const parse = (m: Record<string, unknown>) =>
    parseRuleManifest({ apiVersion: 'homeostat/v1', kind: 'Rule', ...m }, ctx);
  const cluster: Cluster = {
    log,
    sink,
    node() {
      const engine = createEngine({
        log,
        store,
        targets: registry(),
        clock: systemClock,
        conditionStore,
        commitIntervalMs: 20,
        onError: (err) => console.error('engine error', err),
        cluster: { placement: (spec) => (spec.action === 'emit' ? 'leader' : 'partition') },
      });
      for (const m of manifests) engine.setRule(String((m.metadata as { name: string }).name), parse(m));
      engines.push(engine);
      return engine;
    },
    rule(manifest) {
      manifests.push(manifest);
      const spec = parse(manifest);
      for (const engine of engines) engine.setRule(spec.name, spec);
    },
    async close() {
      for (const engine of engines) await engine.close();
      for (const targets of registries) await targets.close();
      await sink.close();
      await log.close();
      db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  cleanups.push(() => cluster.close());
  return cluster;
}

const httpRule = (sink: Sink, extra: Record<string, unknown> = {}) => ({
  metadata: { name: 'to-sink' },
  spec: {
    match: { type: ['test.event'] },
    targets: [{ name: 'sink', action: 'http', with: { url: sink.url }, ordered: true, ...extra }],
  },
});

function keyed(count: number, keys: number, start = 0) {
  return Array.from({ length: count }, (_, i) =>
    testEvent({ subject: `key-${(start + i) % keys}`, data: { seq: start + i } }),
  );
}

describe('the engine with partitions owned by several nodes', () => {
  it('delivers every event once, each node only the partitions it routes', async () => {
    const c = await startCluster();
    c.rule(httpRule(c.sink));
    const a = c.node();
    const b = c.node();
    await a.startPartition(0);
    await a.startPartition(1);
    await b.startPartition(2);
    await b.startPartition(3);
    expect(a.partitions()).toEqual([0, 1]);
    expect(b.partitions()).toEqual([2, 3]);
    const events = keyed(200, 20);
    await c.log.append(events);
    await eventually(() => c.sink.requests.length >= 200, '200 deliveries');
    const ids = c.sink.requests.map((r) => r.eventId);
    expect(new Set(ids).size).toBe(200);
    expect(ids.length).toBe(200);
    // Each node counted only what it delivered (counted once the answer is in).
    const total = () =>
      (a.dispatcher.stats.get('to-sink')?.delivered ?? 0) + (b.dispatcher.stats.get('to-sink')?.delivered ?? 0);
    await eventually(() => total() === 200, 'every outcome counted');
    const fromA = a.dispatcher.stats.get('to-sink')?.delivered ?? 0;
    const fromB = b.dispatcher.stats.get('to-sink')?.delivered ?? 0;
    const inA = events.filter((e) => partitionOf(partitionKeyOf(e), PARTITIONS) < 2).length;
    expect(fromA).toBe(inA);
    expect(fromB).toBe(200 - inA);
  });

  it('keeps order per key and loses nothing when a partition moves to another node', async () => {
    const c = await startCluster();
    c.rule(httpRule(c.sink));
    const a = c.node();
    const b = c.node();
    for (let p = 0; p < PARTITIONS; p++) await a.startPartition(p);
    await c.log.append(keyed(150, 10));
    await eventually(() => c.sink.requests.length >= 60, 'a part delivered by the first owner');
    // Move every partition from a to b while events keep coming.
    const moving = (async () => {
      for (let p = 0; p < PARTITIONS; p++) {
        await a.stopPartition(p, { drain: true });
        await b.startPartition(p);
      }
    })();
    await c.log.append(keyed(150, 10, 150));
    await moving;
    expect(a.partitions()).toEqual([]);
    await eventually(() => new Set(c.sink.requests.map((r) => r.eventId)).size >= 300, 'all 300 delivered');
    const firsts = new Map<string, number[]>();
    const seen = new Set<string>();
    for (const r of c.sink.requests) {
      if (seen.has(r.key)) continue;
      seen.add(r.key);
      const body = r.body as { subject: string; data: { seq: number } };
      firsts.set(body.subject, [...(firsts.get(body.subject) ?? []), body.data.seq]);
    }
    expect(seen.size).toBe(300);
    for (const [key, seqs] of firsts) expect(seqs, key).toEqual([...seqs].sort((x, y) => x - y));
    // A graceful handover lets attempts under way finish and records them: nothing is sent twice.
    expect(c.sink.requests.length).toBe(seen.size);
  });

  it('moves a pending retry with its partition to the next owner', async () => {
    const c = await startCluster();
    c.rule(httpRule(c.sink, { retry: { maxAttempts: 5, backoff: { initial: '300ms', max: '300ms' } } }));
    let failFirst = true;
    c.sink.respond = (_req, res) => {
      if (failFirst) {
        failFirst = false;
        res.writeHead(503).end('busy');
      } else res.writeHead(200).end('ok');
    };
    const a = c.node();
    for (let p = 0; p < PARTITIONS; p++) await a.startPartition(p);
    const [event] = keyed(1, 1);
    await c.log.append([event!]);
    await eventually(() => c.sink.requests.length >= 1, 'the first, failing attempt');
    const p = partitionOf(partitionKeyOf(event!), PARTITIONS);
    await a.stopPartition(p);
    const b = c.node();
    await b.startPartition(p);
    await eventually(() => c.sink.requests.length >= 2, 'the retry, made by the new owner');
    expect(c.sink.requests.map((r) => r.attempt)).toEqual([1, 2]);
    await eventually(() => b.dispatcher.stats.get('to-sink')?.delivered === 1, "the new owner's delivery recorded");
  });

  it('delivers leader-placed targets and runs conditions on the leader only', async () => {
    const c = await startCluster();
    c.rule(httpRule(c.sink));
    c.rule({
      metadata: { name: 'chain' },
      spec: {
        match: { type: ['test.event'] },
        targets: [{ name: 'again', action: 'emit', with: { type: 'test.chained' } }],
      },
    });
    c.rule({
      metadata: { name: 'after-three' },
      spec: {
        match: { type: ['test.event'] },
        when: { count: { atLeast: 3, within: '1m' } },
        targets: [{ name: 'sink', action: 'http', with: { url: c.sink.url } }],
      },
    });
    const follower = c.node();
    for (let p = 0; p < PARTITIONS; p++) await follower.startPartition(p);
    await c.log.append(keyed(3, 3));
    await eventually(() => c.sink.requests.length >= 3, 'the plain rule delivered by the partition owner');
    const chained = async () => (await c.log.query({ types: ['test.chained'] })).length;
    const fired = async () => (await c.log.query({ types: ['homeostat.condition.fired'] })).length;
    // Without a leader: no emit (leader-placed), no condition.
    await new Promise((r) => setTimeout(r, 300));
    expect(await chained()).toBe(0);
    expect(await fired()).toBe(0);

    const leader = c.node();
    await leader.startLeader();
    await c.log.append(keyed(3, 3, 3));
    await eventually(async () => (await chained()) === 3, "the leader's emit for the events after it started");
    await eventually(async () => (await fired()) >= 1, 'the condition fired on the leader');
    // The firing is delivered to its http target by the owner of the firing's partition.
    await eventually(
      () => c.sink.requests.some((r) => (r.body as { type: string }).type === 'homeostat.condition.fired'),
      'the firing delivered',
    );
    expect(leader.positions()).toHaveProperty('router.leader');
    expect(follower.positions()).toEqual({});
  });

  it('refuses the single-node start on a cluster engine', async () => {
    const c = await startCluster();
    await expect(c.node().start()).rejects.toThrow(/cluster engine/);
  });
});
