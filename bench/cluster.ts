/**
 * @module Cluster benchmark: delivered events per second with 1, 2 and 3 `homeostat up --cluster`
 * nodes on this machine (one NATS stream, one PostgreSQL database, an ordered `http` target to a
 * sink in this process that answers at once), and failover under load (kill -9 of a follower, then
 * of the leader). Run: `npm run bench:cluster` (builds first; options: `--help`). Progress goes to
 * stderr, the report to stdout.
 *
 * Throughput modes:
 * - `backlog`: the nodes are frozen (SIGSTOP, with a 60 s lease so nothing moves), N events are
 *   appended straight to the NATS log, the nodes are thawed; delivered/s = N / (last − first
 *   arrival at the sink). Delivery alone, from a log that already holds the work.
 * - `live`: N events POSTed in batches of 100 to the nodes in turn while they deliver; ingest and
 *   delivery share the machine. delivered/s as above, ingest/s = N / publish time.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CloudEvent } from '../src/core/event.js';
import { createNatsEventLog } from '../src/log/nats/event-log.js';
import {
  type ClusterBackends,
  createClusterBackends,
  createNodeGroup,
  deliveryAfterKill,
  killAndMeasure,
  NATS_URL,
  type NodeGroup,
  POSTGRES_ADMIN_URL,
  postBatch,
  probeBackends,
  putRule,
  type Sink,
  sleep,
  startSink,
  type Takeover,
  waitForSettled,
  waitUntil,
  warmUp,
} from '../test/cluster/nodes.js';
import { createFlagReader } from './flags.js';
import { readCpuSeconds } from './ingest/server.js';
import { machineLines } from './machine.js';

const flags = createFlagReader('bench/cluster.ts', {
  events: { env: 'BENCH_EVENTS', help: 'events per throughput run (default 20000)' },
  nodes: { env: 'BENCH_NODES', help: 'comma list of node counts (default 1,2,3)' },
  modes: { env: 'BENCH_MODES', help: 'comma list of backlog,live (default backlog,live)' },
  keys: { env: 'BENCH_KEYS', help: 'partition keys the events spread over (default 256)' },
  concurrency: { env: 'BENCH_CONCURRENCY', help: "the target's concurrency per node (default 16)" },
  ordered: { env: 'BENCH_ORDERED', help: 'ordered target (one delivery per key at a time): true|false (default true)' },
  'failover-rate': { env: 'BENCH_FAILOVER_RATE', help: 'events/s during the failover run, 0 skips it (default 300)' },
});

const PARTITIONS = 16;
const MAX_BYTES = '256MiB';
const SOURCE = '/bench/cluster';

const out = (line = ''): void => void process.stdout.write(`${line}\n`);
const progress = (line: string): void =>
  void process.stderr.write(`[cluster ${new Date().toISOString().slice(11, 19)}] ${line}\n`);

interface Settings {
  readonly events: number;
  readonly keys: number;
  readonly concurrency: number;
  readonly ordered: boolean;
}

interface ThroughputRow {
  readonly nodes: number;
  readonly mode: 'backlog' | 'live';
  readonly events: number;
  readonly publishSeconds: number;
  readonly spanSeconds: number;
  readonly repeats: number;
  /** User + system CPU seconds the nodes used from the start of publishing to the last arrival. */
  readonly nodeCpuSeconds: number;
  /** The same for this process (the sink, and the publisher in `live` mode). */
  readonly benchCpuSeconds: number;
  /** Share of the machine's CPU time that was busy over the same interval (all processes). */
  readonly machineBusy: number;
}

/** CPU time counters of this process, the nodes and the whole machine (/proc/stat), to diff. */
interface CpuSample {
  readonly nodes: number;
  readonly bench: number;
  readonly busy: number;
  readonly total: number;
}

function sampleCpu(c: Cluster): CpuSample {
  const fields = (readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '').trim().split(/\s+/).slice(1).map(Number);
  const idle = (fields[3] ?? 0) + (fields[4] ?? 0);
  const total = fields.slice(0, 8).reduce((a, b) => a + b, 0);
  const own = process.cpuUsage();
  return {
    nodes: c.group.live().reduce((sum, n) => sum + readCpuSeconds(n.pid), 0),
    bench: (own.user + own.system) / 1e6,
    busy: total - idle,
    total,
  };
}

function cpuSince(
  before: CpuSample,
  c: Cluster,
): Pick<ThroughputRow, 'nodeCpuSeconds' | 'benchCpuSeconds' | 'machineBusy'> {
  const after = sampleCpu(c);
  return {
    nodeCpuSeconds: after.nodes - before.nodes,
    benchCpuSeconds: after.bench - before.bench,
    machineBusy: (after.busy - before.busy) / Math.max(1, after.total - before.total),
  };
}

interface Cluster {
  readonly group: NodeGroup;
  readonly sink: Sink;
  readonly backends: ClusterBackends;
  readonly ids: readonly string[];
}

function event(tag: string, i: number, keys: number): CloudEvent {
  const key = `key-${i % keys}`;
  return {
    specversion: '1.0',
    id: `${tag}-${i}`,
    source: SOURCE,
    type: 'bench.cluster',
    subject: key,
    partitionkey: key,
    datacontenttype: 'application/json',
    data: { key, seq: Math.floor(i / keys), host: `web-${i % 64}`, cpu: (i % 97) / 97 },
  };
}

/** Starts `n` nodes on a database and stream of their own, applies the rule and warms every partition up. */
async function withCluster<T>(n: number, leaseTtl: string, s: Settings, fn: (c: Cluster) => Promise<T>): Promise<T> {
  const workDir = mkdtempSync(join(tmpdir(), 'homeostat-bench-cluster-'));
  const backends = await createClusterBackends('bench');
  const sink = await startSink();
  const group = createNodeGroup({ backends, workDir, entry: 'dist', leaseTtl, maxBytes: MAX_BYTES, logLevel: 'warn' });
  const ids = Array.from({ length: n }, (_, i) => `n${i + 1}`);
  let failed = true;
  try {
    await group.start(ids[0]!);
    await Promise.all(ids.slice(1).map((id) => group.start(id)));
    await waitForSettled(group, ids);
    await putRule(group.live()[0]!.url, {
      apiVersion: 'homeostat/v1',
      kind: 'Rule',
      metadata: { name: 'bench-to-sink' },
      spec: {
        match: { type: ['bench.cluster'] },
        targets: [
          { name: 'sink', action: 'http', with: { url: sink.url }, ordered: s.ordered, concurrency: s.concurrency },
        ],
      },
    });
    await warmUp(
      () => group.live(),
      sink,
      PARTITIONS,
      (key, id) => ({ specversion: '1.0', id, source: '/bench/warm', type: 'bench.cluster', partitionkey: key }),
    );
    const result = await fn({ group, sink, backends, ids });
    failed = false;
    return result;
  } finally {
    if (failed) progress(`failed; node logs:\n${group.tails(20)}`);
    await Promise.all(group.live().map((node) => node.stop()));
    await sink.close();
    await backends.drop();
    if (failed) progress(`node logs kept in ${workDir}`);
    else rmSync(workDir, { recursive: true, force: true });
  }
}

/** Waits until every id reached the sink; returns the first and last arrival among them. */
async function deliveredSpan(sink: Sink, ids: ReadonlySet<string>): Promise<{ first: number; last: number }> {
  await waitUntil(() => [...ids].every((id) => sink.eventIds.has(id)), `${ids.size} events at the sink`, 600_000, 250);
  let first = Infinity;
  let last = 0;
  const seen = new Set<string>();
  for (const r of sink.requests) {
    if (!ids.has(r.eventId) || seen.has(r.eventId)) continue;
    seen.add(r.eventId);
    first = Math.min(first, r.at);
    last = Math.max(last, r.at);
  }
  return { first, last };
}

const repeatsOf = (sink: Sink, ids: ReadonlySet<string>): number =>
  sink.requests.filter((r) => ids.has(r.eventId)).length - ids.size;

async function backlogRun(c: Cluster, s: Settings): Promise<ThroughputRow> {
  const tag = `b${randomBytes(3).toString('hex')}`;
  const events = Array.from({ length: s.events }, (_, i) => event(tag, i, s.keys));
  const ids = new Set(events.map((e) => e.id));
  for (const node of c.group.live()) node.pause();
  const cpuBefore = sampleCpu(c);
  const log = await createNatsEventLog({ servers: NATS_URL, name: c.backends.stream, maxBytes: 256 * 2 ** 20 });
  const started = performance.now();
  try {
    for (let i = 0; i < events.length; i += 500) await log.append(events.slice(i, i + 500));
  } finally {
    await log.close();
  }
  const publishSeconds = (performance.now() - started) / 1000;
  for (const node of c.group.live()) node.resume();
  return throughputRow(c, s, 'backlog', ids, publishSeconds, cpuBefore);
}

async function liveRun(c: Cluster, s: Settings): Promise<ThroughputRow> {
  const tag = `l${randomBytes(3).toString('hex')}`;
  const ids = new Set<string>();
  const cpuBefore = sampleCpu(c);
  const started = performance.now();
  let next = 0;
  let turn = 0;
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      while (next < s.events) {
        const from = next;
        next = Math.min(s.events, next + 100);
        const batch = Array.from({ length: next - from }, (_, k) => event(tag, from + k, s.keys));
        for (const e of batch) ids.add(e.id);
        const nodes = c.group.live();
        const status = await postBatch(nodes[turn++ % nodes.length]!.url, batch, 60_000);
        if (status !== 201) throw new Error(`POST /v1/events answered ${status}`);
      }
    }),
  );
  const publishSeconds = (performance.now() - started) / 1000;
  return throughputRow(c, s, 'live', ids, publishSeconds, cpuBefore);
}

/** Waits for every event of the run at the sink and makes its row. */
async function throughputRow(
  c: Cluster,
  s: Settings,
  mode: ThroughputRow['mode'],
  ids: ReadonlySet<string>,
  publishSeconds: number,
  cpuBefore: CpuSample,
): Promise<ThroughputRow> {
  const { first, last } = await deliveredSpan(c.sink, ids);
  return {
    nodes: c.ids.length,
    mode,
    events: s.events,
    publishSeconds,
    spanSeconds: (last - first) / 1000,
    repeats: repeatsOf(c.sink, ids),
    ...cpuSince(cpuBefore, c),
  };
}

interface FailoverReport {
  readonly rate: number;
  readonly events: number;
  readonly lost: number;
  readonly repeats: number;
  readonly takeovers: readonly (Takeover & { resumedMs?: number; silenceMs?: number })[];
}

/** Three nodes under a steady load of `rate` events/s: kill -9 a follower, then the leader. */
async function failoverRun(c: Cluster, rate: number): Promise<FailoverReport> {
  const tag = `f${randomBytes(3).toString('hex')}`;
  const ids = new Set<string>();
  const pending = new Set<Promise<void>>();
  let stopped = false;
  let turn = 0;
  const send = async (batch: CloudEvent[]): Promise<void> => {
    for (let attempt = 0; attempt < 600; attempt++) {
      const nodes = c.group.live();
      try {
        const status = await postBatch(nodes[turn++ % nodes.length]!.url, batch, 5_000);
        if (status === 200 || status === 201) return;
      } catch {
        // Its node was just killed: the same ids go to the next node (the log drops repeats).
      }
      await sleep(50);
    }
    throw new Error('a batch was refused for 30 s');
  };
  const started = performance.now();
  const pacer = (async () => {
    let i = 0;
    while (!stopped) {
      const due = Math.floor(((performance.now() - started) * rate) / 1000);
      if (due > i) {
        const batch = Array.from({ length: due - i }, (_, k) => event(tag, i + k, 256));
        for (const e of batch) ids.add(e.id);
        i = due;
        const p = send(batch).finally(() => pending.delete(p));
        pending.add(p);
      }
      await sleep(20);
    }
  })();
  await sleep(3_000);
  let views = await waitForSettled(c.group, c.ids);
  const leader = views.find((v) => v.isLeader)!.node;
  const follower = c.ids.find((id) => id !== leader)!;
  progress(`failover: kill -9 follower ${follower}`);
  const first = await killAndMeasure(c.group, follower, views);
  await sleep(3_000);
  views = await waitForSettled(
    c.group,
    c.ids.filter((id) => id !== follower),
  );
  progress(`failover: kill -9 leader ${leader}`);
  const second = await killAndMeasure(c.group, leader, views);
  await sleep(3_000);
  stopped = true;
  await pacer;
  await Promise.all(pending);
  await waitUntil(() => [...ids].every((id) => c.sink.eventIds.has(id)), 'every failover event at the sink', 120_000);
  const requests = c.sink.requests.filter((r) => r.source === SOURCE);
  return {
    rate,
    events: ids.size,
    lost: [...ids].filter((id) => !c.sink.eventIds.has(id)).length,
    repeats: requests.length - new Set(requests.map((r) => r.idempotencyKey)).size,
    takeovers: [first, second].map((t) => ({ ...t, ...deliveryAfterKill(requests, t, PARTITIONS) })),
  };
}

function report(
  machine: readonly string[],
  s: Settings,
  rows: readonly ThroughputRow[],
  failover: FailoverReport | undefined,
): void {
  out('# Cluster benchmark: delivered events/s by node count, and failover');
  out(`command:   npm run bench:cluster -- ${process.argv.slice(2).join(' ')}`.trimEnd());
  for (const line of machine) out(line);
  out(`backends:  NATS JetStream ${NATS_URL}, PostgreSQL ${POSTGRES_ADMIN_URL}; all on this machine`);
  out(
    `workload:  ${s.events} events per run over ${s.keys} keys, ${PARTITIONS} partitions; one rule, one http target ` +
      `(ordered: ${s.ordered}, concurrency ${s.concurrency}) to a sink in the bench process that answers 200 at once`,
  );
  out('nodes:     node bin/homeostat.js up --config <node>.json (cluster; log level warn)');
  out('backlog:   nodes frozen, events appended straight to the log, nodes thawed; 60 s leases');
  out('live:      4 callers POST batches of 100 to the nodes in turn while they deliver; 3 s leases');
  out();
  out(
    '| nodes | mode | events | publish s | ingest ev/s | delivery span s | delivered ev/s | repeats | node CPU s | bench CPU s | machine busy |',
  );
  out('|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const r of rows) {
    const ingest = r.mode === 'live' ? Math.round(r.events / r.publishSeconds).toLocaleString('en-US') : '-';
    out(
      `| ${r.nodes} | ${r.mode} | ${r.events} | ${r.publishSeconds.toFixed(2)} | ${ingest} | ${r.spanSeconds.toFixed(2)} | ` +
        `${Math.round(r.events / r.spanSeconds).toLocaleString('en-US')} | ${r.repeats} | ${r.nodeCpuSeconds.toFixed(1)} | ` +
        `${r.benchCpuSeconds.toFixed(1)} | ${(r.machineBusy * 100).toFixed(0)} % |`,
    );
  }
  if (!failover) return;
  out();
  out(
    `## Failover: 3 nodes, ${failover.rate} events/s posted in turn to the live nodes, lease TTL 3 s, renewal 1 s; ` +
      `times from the SIGKILL, /v1/cluster polled every 100 ms on the survivors`,
  );
  out(
    `${failover.events} events, ${failover.lost} lost, ${failover.repeats} repeated deliveries (same Idempotency-Key)`,
  );
  out();
  out('| killed | partitions | re-owned ms | leader ms | first delivery on them ms | silence on them ms |');
  out('|---|---:|---:|---:|---:|---:|');
  for (const t of failover.takeovers) {
    const leader =
      t.role === 'leader' ? `${t.leaderMs.toFixed(0)} (${t.leaderAfter.node}, token ${t.leaderAfter.token})` : '-';
    out(
      `| ${t.role} ${t.killed} | ${t.partitions.length} | ${t.partitionsMs.toFixed(0)} | ${leader} | ` +
        `${t.resumedMs?.toFixed(0) ?? '-'} | ${t.silenceMs?.toFixed(0) ?? '-'} |`,
    );
  }
}

async function main(): Promise<number> {
  let raw;
  try {
    raw = flags.read(process.argv.slice(2), process.env);
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    return process.argv.includes('--help') ? 0 : 2;
  }
  const s: Settings = {
    events: flags.int(raw, 'events', 20_000),
    keys: flags.int(raw, 'keys', 256),
    concurrency: flags.int(raw, 'concurrency', 16),
    ordered: (raw.ordered ?? 'true') !== 'false',
  };
  const counts = (raw.nodes ?? '1,2,3').split(',').map((n) => Number(n.trim()));
  if (counts.some((n) => !Number.isInteger(n) || n < 1 || n > 8)) throw new Error('--nodes: node counts from 1 to 8');
  const modes = (raw.modes ?? 'backlog,live').split(',').map((m) => m.trim());
  const rate = flags.int(raw, 'failover-rate', 300, 0);
  const machine = machineLines();
  const env = await probeBackends();
  if (!env.available)
    throw new Error(`${env.reason}; start them or set HOMEOSTAT_TEST_NATS_URL / HOMEOSTAT_TEST_POSTGRES_URL`);

  const rows: ThroughputRow[] = [];
  for (const n of counts) {
    if (modes.includes('backlog')) {
      progress(`${n} node(s): backlog of ${s.events}`);
      rows.push(await withCluster(n, '60s', s, (c) => backlogRun(c, s)));
      progress(`  ${Math.round(s.events / rows.at(-1)!.spanSeconds)} delivered/s`);
    }
    if (modes.includes('live')) {
      progress(`${n} node(s): live, ${s.events} events`);
      rows.push(await withCluster(n, '3s', s, (c) => liveRun(c, s)));
      progress(`  ${Math.round(s.events / rows.at(-1)!.spanSeconds)} delivered/s`);
    }
  }
  let failover: FailoverReport | undefined;
  if (rate > 0) {
    progress(`failover: 3 nodes at ${rate} events/s`);
    failover = await withCluster(3, '3s', s, (c) => failoverRun(c, rate));
  }
  report(machine, s, rows, failover);
  return 0;
}

process.exitCode = await main();
