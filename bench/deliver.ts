/**
 * @module Delivery benchmark: latency from the ingest acknowledgement to an http target's receiver
 * at paced rates (open loop), and the sustained end-to-end delivery rate, against the built server
 * in its own process. Run: `npm run bench:deliver` (options: `tsx bench/deliver.ts --help`).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Pool } from 'undici';
import { type PacedResult, runPaced, runSustained } from './deliver/load.js';
import { type ResolvedDeliverOptions, readDeliverOptions } from './deliver/options.js';
import { startReceiver } from './deliver/receiver.js';
import { aimLines, headerLines, pacedLines, sustainedLines } from './deliver/report.js';
import { REPO_ROOT, startServer } from './ingest/server.js';

const log = (line: string) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
const out = (line = '') => process.stdout.write(`${line}\n`);

function ruleManifest(url: string, concurrency: number): unknown {
  return {
    apiVersion: 'homeostat/v1',
    kind: 'Rule',
    metadata: { name: 'bench-deliver' },
    spec: {
      match: { type: ['bench.deliver'] },
      targets: [{ name: 'receiver', action: 'http', with: { url }, concurrency, timeout: '5s' }],
    },
  };
}

async function putRule(serverUrl: string, manifest: unknown): Promise<void> {
  const res = await fetch(`${serverUrl}/v1/rules/bench-deliver`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(manifest),
  });
  if (res.status >= 300) throw new Error(`PUT /v1/rules/bench-deliver answered ${res.status}: ${await res.text()}`);
}

function commandLine(): string {
  const env = Object.entries(process.env)
    .filter(([k]) => k.startsWith('BENCH_'))
    .map(([k, v]) => `${k}=${v}`);
  return [...env, 'tsx', 'bench/deliver.ts', ...process.argv.slice(2)].join(' ');
}

async function run(o: ResolvedDeliverOptions): Promise<number> {
  const receiver = await startReceiver();
  let server;
  try {
    server = await startServer({
      fsync: o.fsync,
      extraArgs: [],
      nodeArgs: o.serverNodeArgs,
      timeoutMs: o.startTimeoutSec * 1000,
    });
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    await receiver.close();
    return 1;
  }
  const header = headerLines(o, commandLine(), server.command.replace(server.dataDir, '<fresh tmp dir>'));
  const timing = {
    warmupMs: o.warmupSec * 1000,
    durationMs: o.durationSec * 1000,
    serverCpuSeconds: server.cpuSeconds,
  };
  const single = new Pool(server.url, { connections: o.connections, pipelining: 1 });
  const batch = new Pool(server.url, { connections: o.batchConnections, pipelining: 1 });
  try {
    await putRule(server.url, ruleManifest(receiver.url, o.targetConcurrency));
    const paced: PacedResult[] = [];
    for (const rate of o.rates) {
      log(`paced: ${rate} events/s, ${o.pacedBatch} per request, open loop`);
      paced.push(await runPaced(single, receiver, `p${rate}`, { ...timing, rate, batch: o.pacedBatch }));
    }
    log(`sustained: batches of ${o.batchSize}, ${o.batchConnections} posters`);
    const sustained = await runSustained(batch, receiver, 's', { ...timing, ...o });
    const peak = server.peakRss();
    for (const line of header) out(line);
    out();
    for (const line of pacedLines(paced)) out(line);
    out();
    for (const line of sustainedLines(sustained)) out(line);
    out();
    out(
      `receiver: ${receiver.requests.toLocaleString('en-US')} requests, ${receiver.repeats} repeats of an event id; server peak RSS ${peak === undefined ? '—' : `${(peak / 2 ** 20).toFixed(1)} MiB`}`,
    );
    out();
    out('Aims');
    for (const line of aimLines(paced)) out(line);
    return 0;
  } finally {
    await single.close();
    await batch.close();
    const code = await server.stop();
    if (code !== 0) log(`the server exited with code ${code}`);
    await receiver.close();
  }
}

async function main(): Promise<number> {
  let o: ResolvedDeliverOptions;
  try {
    o = readDeliverOptions(process.argv.slice(2), process.env);
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    return process.argv.includes('--help') || process.argv.includes('-h') ? 0 : 2;
  }
  if (!existsSync(join(REPO_ROOT, 'dist/cli/main.js'))) {
    process.stderr.write('dist/cli/main.js is missing: run `npm run build` (or use `npm run bench:deliver`)\n');
    return 1;
  }
  return run(o);
}

process.exitCode = await main();
