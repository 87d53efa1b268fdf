/**
 * @module Ingest benchmark: Homeostat's POST /v1/events (single events, open-loop half rate, batches)
 * with `--fsync normal` and `--fsync always`, beside NATS JetStream and Redis Streams on the same events.
 * Run: `npm run bench:ingest` (options: `tsx bench/ingest.ts --help`; quick: `BENCH_DURATION=3`).
 */
import { existsSync } from 'node:fs';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { join } from 'node:path';
import { findLocalPid } from './ingest/cpu.js';
import type { ScenarioResult } from './ingest/drive.js';
import { createEventPool, type EventPool, eventsFor } from './ingest/events.js';
import { runHomeostat } from './ingest/homeostat.js';
import { runNatsPeer } from './ingest/nats.js';
import { type BenchOptions, type ResolvedBenchOptions, readRawOptions, resolveBenchOptions } from './ingest/options.js';
import { runRedisPeer } from './ingest/redis.js';
import { aimLines, detailLines, type HomeostatRun, type PeerRun, serverLines, summaryLines } from './ingest/report.js';
import { REPO_ROOT, readCpuSeconds, startServer } from './ingest/server.js';

const log = (line: string) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
const out = (line = '') => process.stdout.write(`${line}\n`);

interface Pools {
  readonly single: EventPool;
  readonly batch: EventPool;
}

async function main(): Promise<number> {
  let raw: BenchOptions;
  let opts: ResolvedBenchOptions;
  try {
    raw = readRawOptions(process.argv.slice(2), process.env);
    opts = resolveBenchOptions(raw);
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n`);
    return process.argv.includes('--help') || process.argv.includes('-h') ? 0 : 2;
  }
  if (!existsSync(join(REPO_ROOT, 'dist/cli/main.js'))) {
    process.stderr.write('dist/cli/main.js is missing: run `npm run build` (or use `npm run bench:ingest`)\n');
    return 1;
  }
  const header = headerLines(opts);
  const pools = generatePools(opts);
  const runs: HomeostatRun[] = [];
  for (const fsync of opts.fsync) {
    const run = await runOneServer(opts, pools, fsync);
    if (run === undefined) return 1;
    runs.push(run);
  }
  const peers: PeerRun[] = [];
  if (opts.peers.includes('nats')) peers.push(await runPeer('NATS JetStream', opts, pools));
  if (opts.peers.includes('redis')) peers.push(await runPeer('Redis Streams', opts, pools));
  printReport(header, opts, pools, runs, peers);
  return 0;
}

function headerLines(opts: ResolvedBenchOptions): string[] {
  const cpu = cpus();
  const envSet = Object.entries(process.env)
    .filter(([k]) => k.startsWith('BENCH_'))
    .map(([k, v]) => `${k}=${v}`);
  return [
    'Homeostat ingest benchmark',
    `date:      ${new Date().toISOString()}`,
    `command:   ${[...envSet, 'tsx', 'bench/ingest.ts', ...process.argv.slice(2)].join(' ')}`,
    `machine:   ${cpu.length} × ${cpu[0]?.model.trim() ?? 'unknown CPU'}, ${(totalmem() / 2 ** 30).toFixed(1)} GiB RAM, Linux ${release()}`,
    `node:      ${process.version}`,
    `load avg:  ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')} (1/5/15 min) at start`,
    `settings:  ${opts.durationSec} s measured after ${opts.warmupSec} s warm-up per scenario; single: ${opts.connections} keep-alive connections, pipelining 1; batch: ${opts.batchSize} events per request, ${opts.batchConnections} connections`,
  ];
}

function generatePools(opts: ResolvedBenchOptions): Pools {
  const seconds = opts.warmupSec + opts.durationSec;
  const t0 = performance.now();
  const single = createEventPool('s', eventsFor(opts.maxSingleRate, seconds), opts.batchSize);
  const batch = createEventPool('b', eventsFor(opts.maxBatchRate, seconds), opts.batchSize);
  const ms = Math.round(performance.now() - t0);
  log(
    `pre-generated ${single.size + batch.size} events (${((single.bytes + batch.bytes) / 2 ** 20).toFixed(0)} MiB) in ${ms} ms`,
  );
  return { single, batch };
}

async function runOneServer(
  opts: ResolvedBenchOptions,
  pools: Pools,
  fsync: HomeostatRun['fsync'],
): Promise<HomeostatRun | undefined> {
  log(`starting homeostat --fsync ${fsync}`);
  let server: Awaited<ReturnType<typeof startServer>>;
  try {
    server = await startServer({
      fsync,
      extraArgs: opts.serverArgs,
      nodeArgs: opts.serverNodeArgs,
      timeoutMs: opts.startTimeoutSec * 1000,
    });
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n`);
    return undefined;
  }
  log(`serving ${server.url} (pid ${server.pid}, data ${server.dataDir})`);
  try {
    const results = await runHomeostat({
      server,
      connections: opts.connections,
      batchConnections: opts.batchConnections,
      warmupMs: opts.warmupSec * 1000,
      durationMs: opts.durationSec * 1000,
      singlePool: pools.single,
      batchPool: pools.batch,
      log,
    });
    return { fsync, command: server.command, results };
  } finally {
    const code = await server.stop();
    log(`homeostat --fsync ${fsync} stopped (exit ${code})`);
  }
}

async function runPeer(name: PeerRun['name'], opts: ResolvedBenchOptions, pools: Pools): Promise<PeerRun> {
  const nats = name === 'NATS JetStream';
  const pid = isLoopback(nats ? opts.natsUrl : opts.redisUrl)
    ? findLocalPid(nats ? 'nats-server' : 'redis-server')
    : undefined;
  const peerOptions = {
    url: nats ? opts.natsUrl : opts.redisUrl,
    connections: opts.connections,
    batchConnections: opts.batchConnections,
    warmupMs: opts.warmupSec * 1000,
    durationMs: opts.durationSec * 1000,
    singlePool: pools.single,
    batchPool: pools.batch,
    log,
    serverCpuSeconds: pid === undefined ? undefined : () => readCpuSeconds(pid),
  };
  try {
    return { name, results: await (nats ? runNatsPeer(peerOptions) : runRedisPeer(peerOptions)) };
  } catch (error) {
    log(`${name} failed: ${(error as Error).message}`);
    return { name, results: undefined, error: (error as Error).message };
  }
}

function isLoopback(url: string): boolean {
  return /(^|\/\/)(127\.\d+\.\d+\.\d+|localhost|\[::1\])(:|\/|$)/.test(url);
}

function printReport(
  header: readonly string[],
  opts: ResolvedBenchOptions,
  pools: Pools,
  runs: readonly HomeostatRun[],
  peers: readonly PeerRun[],
): void {
  const eventBytes = Math.round(pools.single.bytes / pools.single.size);
  for (const line of header) out(line);
  out(`events:    infra.metrics CloudEvents, ~${eventBytes} B each as JSON, unique ids per server run`);
  for (const run of runs) out(`server:    ${run.command.replace(/--data-dir \S+/, '--data-dir <fresh tmp dir>')}`);
  for (const peer of peers)
    out(`peer:      ${peer.name}: ${peer.results?.serverInfo ?? `unavailable (${peer.error})`}`);
  out();
  out('Durability of an acknowledgement:');
  const promise = {
    normal: 'SQLite WAL commit written (fsynced at checkpoints); survives a process crash',
    always: 'fsync per group commit; survives power loss',
  };
  for (const run of runs) out(`  Homeostat fsync=${run.fsync}: ${promise[run.fsync]}`);
  for (const peer of peers) if (peer.results) out(`  ${peer.name}: ${peer.results.durability}`);
  out();
  out('Details (latency per request: one event, or one batch / ack window / pipeline; CPU in cores over the window)');
  const rows: [string, ScenarioResult][] = [];
  for (const { fsync, results: h } of runs) {
    rows.push([`homeostat fsync=${fsync} single`, h.single]);
    rows.push([`homeostat fsync=${fsync} single @ half (open loop)`, h.halfRate]);
    rows.push([`homeostat fsync=${fsync} batch ${opts.batchSize}`, h.batch]);
  }
  for (const peer of peers) {
    if (!peer.results) continue;
    const short = peer.name === 'NATS JetStream' ? 'nats' : 'redis';
    rows.push([`${short} single`, peer.results.single]);
    rows.push([`${short} batch ${opts.batchSize}`, peer.results.batch]);
  }
  for (const line of detailLines(rows)) out(line);
  out();
  for (const line of serverLines(runs)) out(line);
  out();
  out('Summary');
  for (const line of summaryLines(runs, peers)) out(line);
  out();
  out('Aims');
  for (const line of aimLines(runs, peers)) out(line);
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 1;
  },
);
