/**
 * @module Flash-sale scenario: a group of real processes behind the load balancer, a ScalingPolicy
 * on requests per instance, and client load that rises 10× in seconds, N times; measures from the
 * log's events and the client's records the time to the scale decision, to the new instances being
 * ready and serving, errors and latency around it, and the scale-in after the load drops.
 * Run: `npm run scenario:flash-sale` (options: `tsx bench/scenarios/flash-sale.ts --help`).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type FlashFigures, flashFigures, type RunTimes } from './flash-sale-analyze.js';
import { type ResolvedFlashSaleOptions, readFlashSaleOptions } from './flash-sale-options.js';
import { flashHeaderLines, flashRunLines, flashSummaryLines, peerLines } from './flash-sale-report.js';
import {
  createFlashApi,
  directionOf,
  FLASH_POLICY,
  FLASH_STACK,
  type FlashApi,
  flashSalePolicy,
  flashSaleStack,
  scaleActions,
  until,
} from './flash-sale-server.js';
import { startLoad } from './load.js';
import { createCleanup } from './cleanup.js';
import { type ServerProcess, startServer } from '../ingest/server.js';

const log = (line: string) => process.stderr.write(`[flash-sale ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
const out = (line = '') => process.stdout.write(`${line}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function commandLine(): string {
  const env = Object.entries(process.env)
    .filter(([k]) => k.startsWith('BENCH_'))
    .map(([k, v]) => `${k}=${v}`);
  return [...env, 'tsx', 'bench/scenarios/flash-sale.ts', ...process.argv.slice(2)].join(' ');
}

const cleanup = createCleanup(log);

async function notePids(api: FlashApi): Promise<void> {
  for (const e of await api.events()) {
    if (e.type === 'infra.instance.started' && typeof e.data.pid === 'number') cleanup.note(e.data.pid);
  }
}

/** Waits until exactly `n` instances run, all healthy. */
async function atSize(api: FlashApi, n: number, timeoutMs: number): Promise<void> {
  await until(
    async () => {
      const live = (await api.instances()).filter((i) => ['starting', 'running', 'stopping'].includes(i.status.phase));
      for (const i of live) cleanup.note(i.status.pid);
      return live.length === n && live.every((i) => i.status.phase === 'running' && i.status.healthy)
        ? true
        : undefined;
    },
    `${n} healthy instances`,
    timeoutMs,
  );
}

/** The rate schedule of one run: base, rise (linear or a step), peak, base again. */
function schedule(o: ResolvedFlashSaleOptions): (elapsedMs: number) => number {
  const riseAt = o.baseMs;
  const peakAt = riseAt + o.riseMs;
  const dropAt = peakAt + o.peakMs;
  return (t) => {
    if (t < riseAt || t >= dropAt) return o.baseRate;
    if (t >= peakAt) return o.peakRate;
    return o.baseRate + ((o.peakRate - o.baseRate) * (t - riseAt)) / o.riseMs;
  };
}

async function oneRun(api: FlashApi, address: string, o: ResolvedFlashSaleOptions, run: number): Promise<FlashFigures> {
  await atSize(api, o.minInstances, o.scaleInTimeoutMs);
  const t0 = Date.now();
  const load = startLoad({ address, rate: schedule(o), timeoutMs: o.clientTimeoutMs });
  const times: RunTimes = {
    run,
    baseFrom: t0,
    riseAt: t0 + o.baseMs,
    peakAt: t0 + o.baseMs + o.riseMs,
    dropAt: t0 + o.baseMs + o.riseMs + o.peakMs,
  };
  try {
    await sleep(times.dropAt - Date.now());
    log(`run ${run}: load back to ${o.baseRate} req/s; waiting for the scale-in`);
    await until(
      async () => {
        const events = await api.events();
        return scaleActions(events).some((a) => directionOf(a) === 'down' && a.time >= times.dropAt) ? true : undefined;
      },
      'a scale-in after the drop',
      o.scaleInTimeoutMs,
    );
    await atSize(api, o.minInstances, o.scaleInTimeoutMs);
  } finally {
    await load.stop();
  }
  await notePids(api);
  const f = flashFigures(times, await api.events(), load.records);

  log(
    `run ${run}: decided +${f.decidedMs ?? '—'} ms (${f.out?.from ?? '?'} → ${f.out?.to ?? '?'}), ready +${f.allReadyMs ?? '—'} ms, ` +
      `first served by a new instance +${f.firstServedMs ?? '—'} ms, scale-in ${f.scaleInMs ?? '—'} ms after the drop`,
  );
  return f;
}

async function scenario(server: ServerProcess, api: FlashApi, o: ResolvedFlashSaleOptions): Promise<void> {
  try {
    log(`applying stack '${FLASH_STACK}' (${o.minInstances} instances) and ScalingPolicy/${FLASH_POLICY}`);
    await api.call('PUT', `/v1/stacks/${FLASH_STACK}`, flashSaleStack(o));
    await atSize(api, o.minInstances, 20_000);
    await api.call('PUT', `/v1/policies/ScalingPolicy/${FLASH_POLICY}`, flashSalePolicy(o));
    const address = await api.balancerAddress();
    const rows: FlashFigures[] = [];
    for (let run = 1; run <= o.runs; run++) {
      log(`run ${run}/${o.runs}: ${o.baseRate} → ${o.peakRate} req/s to http://${address}/`);
      rows.push(await oneRun(api, address, o, run));
    }
    for (const line of flashHeaderLines(o, commandLine(), server.command.replace(server.dataDir, '<fresh tmp dir>'))) {
      out(line);
    }
    for (const f of rows) {
      out();
      for (const line of flashRunLines(f)) out(line);
    }
    out();
    for (const line of flashSummaryLines(rows)) out(line);
    out();
    for (const line of peerLines(rows, o)) out(line);
    const failed = rows.filter((f) => f.out === undefined || f.scaleIn === undefined || f.firstServedMs === undefined);
    if (failed.length > 0) throw new Error(`runs ${failed.map((f) => f.times.run).join(', ')} are incomplete`);
  } finally {
    await removeStack(api);
  }
}

/** Deletes the policy, then the stack with its resources. */
async function removeStack(api: FlashApi): Promise<void> {
  await notePids(api);
  await api.call('DELETE', `/v1/policies/ScalingPolicy/${FLASH_POLICY}`).catch(() => undefined);
  await cleanup.remove(api, [`/v1/stacks/${FLASH_STACK}?prune=true`]);
}

async function main(): Promise<number> {
  let o: ResolvedFlashSaleOptions;
  try {
    o = readFlashSaleOptions(process.argv.slice(2), process.env);
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    return 2;
  }
  const configDir = mkdtempSync(join(tmpdir(), 'homeostat-flash-sale-'));
  const configFile = join(configDir, 'homeostat.json');
  writeFileSync(configFile, JSON.stringify({ providers: { local: { metricsInterval: `${o.metricsIntervalMs}ms` } } }));
  log('starting the server (node bin/homeostat.js up --port 0 --config <metricsInterval> on a fresh data dir)');
  let server: ServerProcess;
  try {
    server = await startServer({
      fsync: 'normal',
      extraArgs: ['--config', configFile],
      nodeArgs: [],
      timeoutMs: o.startTimeoutSec * 1000,
    });
  } catch (err) {
    rmSync(configDir, { recursive: true, force: true });
    process.stderr.write(`${(err as Error).message}\n`);
    return 1;
  }
  const api = createFlashApi(server.url);
  const interrupted = () => {
    log('interrupted: removing the stack and stopping the server');
    void removeStack(api)
      .then(() => cleanup.killLeftovers())
      .then(() => server.stop())
      .finally(() => {
        rmSync(configDir, { recursive: true, force: true });
        process.exit(130);
      });
  };
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);
  try {
    await scenario(server, api, o);
    return 0;
  } catch (err) {
    process.stderr.write(`scenario failed: ${(err as Error).stack ?? String(err)}\n`);
    return 1;
  } finally {
    cleanup.killLeftovers();
    await server.stop();
    rmSync(configDir, { recursive: true, force: true });
  }
}

process.exitCode = await main();
