/**
 * @module Tracing overhead on ingest: internal events (Homeostat's own publish path) appended to a
 * real SQLite log with tracing off, then on with spans exported over OTLP/HTTP to an in-process
 * sink, alternating runs so machine noise hits both. Run: `npm run bench:tracing`
 * (BENCH_EVENTS=20000 BENCH_ROUNDS=3 by default).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { systemClock } from '../src/core/clock.js';
import { createIngestor } from '../src/ingest/ingest.js';
import { createSchemaRegistry } from '../src/ingest/schema-registry.js';
import { createSqliteEventLog } from '../src/log/sqlite/event-log.js';
import { loadConfig } from '../src/runtime/config.js';
import { startTracing } from '../src/runtime/tracing.js';
import { createSqliteSchemaStore } from '../src/store/sqlite/schema-store.js';
import { openStateDatabase } from '../src/store/sqlite/state.js';
import { disabledTracing, type EventTracing } from '../src/telemetry/event-tracing.js';

const EVENTS = Number(process.env.BENCH_EVENTS ?? 20_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const BATCH = 100;
const out = (line = '') => process.stdout.write(`${line}\n`);

async function run(tracing: EventTracing, round: number): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'homeostat-bench-tracing-'));
  const db = openStateDatabase({ path: join(dir, 'state.db'), fsync: 'normal' });
  const log = await createSqliteEventLog({ path: join(dir, 'events.db'), clock: systemClock });
  const schemas = await createSchemaRegistry(createSqliteSchemaStore(db, systemClock));
  const ingestor = createIngestor({ log, schemas, limits: { maxEventBytes: 262_144, maxPendingEvents: 1e9 }, tracing });
  const started = performance.now();
  for (let i = 0; i < EVENTS; i += BATCH) {
    const entries = Array.from({ length: BATCH }, (_, k) => ({
      specversion: '1.0',
      id: `r${round}-${i + k}`,
      source: 'homeostat/bench',
      type: 'bench.happened',
      subject: `instance/web-${(i + k) % 50}`,
      // Half of them caused by an earlier event, as actions and provider events are.
      ...((i + k) % 2 === 1 ? { causationid: `r${round}-${i + k - 1}` } : {}),
      data: { n: i + k },
    }));
    await ingestor.ingest({ entries, batch: true, bodyBytes: Number.MAX_SAFE_INTEGER });
  }
  const seconds = (performance.now() - started) / 1000;
  await log.close();
  db.close();
  rmSync(dir, { recursive: true, force: true });
  return EVENTS / seconds;
}

async function main(): Promise<void> {
  // The sink only drains what it is sent: the figures are the exporter's cost, not a collector's.
  let exported = 0;
  const sink = createServer((req, res) => {
    req.on('data', (chunk: Buffer) => (exported += chunk.length));
    req.on('end', () => res.writeHead(200).end('{}'));
  });
  await new Promise<void>((r) => sink.listen(0, '127.0.0.1', r));
  const address = sink.address();
  const endpoint = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/v1/traces`;
  const config = loadConfig({ overrides: { tracing: { enabled: true, endpoint } } });
  const traced = startTracing(config.tracing, pino({ level: 'silent' }));

  out(`# Tracing overhead on ingest (${new Date().toISOString()})`);
  out(
    `machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, node ${process.version}, load ${loadavg()[0]!.toFixed(2)}`,
  );
  out(`command: npm run bench:tracing  (BENCH_EVENTS=${EVENTS} BENCH_ROUNDS=${ROUNDS}, batches of ${BATCH})`);
  const off: number[] = [];
  const on: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    off.push(await run(disabledTracing, r * 2));
    on.push(await run(traced.tracing, r * 2 + 1));
  }
  await traced.close();
  await new Promise((r) => sink.close(r));
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  out('');
  out('| tracing | events/s (median) | runs |');
  out('| --- | --- | --- |');
  out(`| off | ${median(off).toFixed(0)} | ${off.map((x) => x.toFixed(0)).join(', ')} |`);
  out(`| on, OTLP/HTTP export | ${median(on).toFixed(0)} | ${on.map((x) => x.toFixed(0)).join(', ')} |`);
  out('');
  out(
    `cost of tracing: ${((1 - median(on) / median(off)) * 100).toFixed(1)} % of ingest throughput; ${(exported / 1e6).toFixed(1)} MB of spans exported`,
  );
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
