/**
 * @module Micro benchmark of the NATS JetStream event log: append throughput (batches of 1 and 100,
 * one caller and concurrent callers), follow throughput (replaying history and tailing live
 * appends, with delivery latency), and read/query paging; the SQLite log runs the same steps in
 * the same run for scale. Run: `npx tsx bench/nats-log.ts` (options: `--help`).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import type { CloudEvent } from '../src/core/event.js';
import { createNatsEventLog } from '../src/log/nats/event-log.js';
import { createSqliteEventLog } from '../src/log/sqlite/event-log.js';
import type { EventLog } from '../src/ports/event-log.js';
import { createFlagReader } from './flags.js';
import { machineLines } from './machine.js';

const flags = createFlagReader('bench/nats-log.ts', {
  url: { env: 'BENCH_NATS_URL', help: 'NATS server (default nats://127.0.0.1:4222)' },
  events: { env: 'BENCH_EVENTS', help: 'events per append step (default 20000)' },
  concurrency: { env: 'BENCH_CONCURRENCY', help: 'concurrent callers in the concurrent steps (default 16)' },
  backends: { env: 'BENCH_BACKENDS', help: 'comma list of nats,sqlite (default nats,sqlite)' },
});

const out = (line = ''): void => void process.stdout.write(`${line}\n`);
const progress = (line: string): void =>
  void process.stderr.write(`[nats-log ${new Date().toISOString().slice(11, 19)}] ${line}\n`);

interface Backend {
  readonly name: string;
  open(): Promise<{ log: EventLog; drop(): Promise<void> }>;
}

interface Row {
  readonly backend: string;
  readonly step: string;
  readonly events: number;
  readonly seconds: number;
  readonly note?: string;
}

let seq = 0;
function event(i: number): CloudEvent {
  seq += 1;
  return {
    specversion: '1.0',
    id: `b-${seq}`,
    source: '/bench/nats-log',
    type: i % 100 === 0 ? 'bench.rare' : 'infra.metrics',
    subject: `web-${i % 64}`,
    time: '2026-11-24T10:00:00.000Z',
    data: { host: `web-${i % 64}`, cpu: (i % 97) / 97, rps: i % 1000, region: 'eu-west-1' },
  };
}

async function appendStep(log: EventLog, total: number, batch: number, callers: number): Promise<number> {
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: callers }, async () => {
      for (;;) {
        const first = next;
        if (first >= total) return;
        next += batch;
        const events = Array.from({ length: Math.min(batch, total - first) }, (_, k) => event(first + k));
        await log.append(events);
      }
    }),
  );
  return (performance.now() - started) / 1000;
}

async function followHistory(log: EventLog, count: number): Promise<number> {
  const from = (await log.stats()).firstOffset;
  const controller = new AbortController();
  let seen = 0;
  const started = performance.now();
  for await (const _rec of log.follow({ from, signal: controller.signal })) {
    seen += 1;
    if (seen === count) controller.abort();
  }
  return (performance.now() - started) / 1000;
}

/** A follower tails the log while one caller appends batches of 100; latency is append call to delivery. */
async function followLive(log: EventLog, total: number): Promise<{ seconds: number; p50: number; p99: number }> {
  const from = (await log.stats()).nextOffset;
  const controller = new AbortController();
  const sentAt = new Map<string, number>();
  const latencies: number[] = [];
  let seen = 0;
  const started = performance.now();
  const follower = (async () => {
    for await (const rec of log.follow({ from, signal: controller.signal })) {
      seen += 1;
      const t = sentAt.get(rec.event.id);
      if (t !== undefined) latencies.push(performance.now() - t);
      if (seen === total) controller.abort();
    }
  })();
  for (let i = 0; i < total; i += 100) {
    const events = Array.from({ length: Math.min(100, total - i) }, (_, k) => event(i + k));
    sentAt.set(events[0]!.id, performance.now());
    await log.append(events);
  }
  await follower;
  latencies.sort((a, b) => a - b);
  const q = (p: number): number => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? NaN;
  return { seconds: (performance.now() - started) / 1000, p50: q(0.5), p99: q(0.99) };
}

async function readPages(log: EventLog): Promise<{ seconds: number; events: number }> {
  let cursor = (await log.stats()).firstOffset;
  let events = 0;
  const started = performance.now();
  for (;;) {
    const page = await log.read({ from: cursor, limit: 1000 });
    if (page.length === 0) break;
    events += page.length;
    cursor = page[page.length - 1]!.offset + 1;
  }
  return { seconds: (performance.now() - started) / 1000, events };
}

async function runBackend(b: Backend, o: { events: number; concurrency: number }): Promise<Row[]> {
  const rows: Row[] = [];
  const step = async (name: string, fn: (log: EventLog) => Promise<Omit<Row, 'backend' | 'step'>>): Promise<void> => {
    progress(`${b.name}: ${name}`);
    const { log, drop } = await b.open();
    try {
      rows.push({ backend: b.name, step: name, ...(await fn(log)) });
    } finally {
      await log.close();
      await drop();
    }
  };
  const single = Math.max(1, Math.floor(o.events / 4));
  await step('append batch=1, 1 caller', async (log) => ({
    events: single,
    seconds: await appendStep(log, single, 1, 1),
  }));
  await step(`append batch=1, ${o.concurrency} callers`, async (log) => ({
    events: o.events,
    seconds: await appendStep(log, o.events, 1, o.concurrency),
  }));
  await step('append batch=100, 1 caller', async (log) => ({
    events: o.events,
    seconds: await appendStep(log, o.events, 100, 1),
  }));
  await step(`append batch=100, ${Math.max(1, o.concurrency / 4)} callers`, async (log) => ({
    events: o.events,
    seconds: await appendStep(log, o.events, 100, Math.max(1, o.concurrency / 4)),
  }));
  await step('follow history (replay from first offset)', async (log) => {
    await appendStep(log, o.events, 100, 4);
    return { events: o.events, seconds: await followHistory(log, o.events) };
  });
  await step('follow live (tail while appending batch=100)', async (log) => {
    const r = await followLive(log, o.events);
    return {
      events: o.events,
      seconds: r.seconds,
      note: `append→delivery p50 ${r.p50.toFixed(1)} ms, p99 ${r.p99.toFixed(1)} ms`,
    };
  });
  await step('read pages of 1000', async (log) => {
    await appendStep(log, o.events, 100, 4);
    const r = await readPages(log);
    const started = performance.now();
    let found = 0;
    for (let i = 0; i < 20; i++) found += (await log.query({ types: ['bench.rare'], order: 'desc', limit: 10 })).length;
    const queryMs = (performance.now() - started) / 20;
    return {
      events: r.events,
      seconds: r.seconds,
      note: `query {types:[1% type], desc, limit 10}: ${queryMs.toFixed(1)} ms each (${found / 20} found)`,
    };
  });
  return rows;
}

async function main(): Promise<number> {
  let raw;
  try {
    raw = flags.read(process.argv.slice(2), process.env);
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    return process.argv.includes('--help') ? 0 : 2;
  }
  const url = raw.url ?? 'nats://127.0.0.1:4222';
  const events = flags.int(raw, 'events', 20_000);
  const concurrency = flags.int(raw, 'concurrency', 16);
  const wanted = (raw.backends ?? 'nats,sqlite').split(',').map((s) => s.trim());

  const admin = await connect({ servers: url }).catch((err: unknown) => {
    throw new Error(`cannot reach NATS at ${url}: ${(err as Error).message}; start nats-server -js or pass --url`);
  });
  const jsm = await jetstreamManager(admin);
  const natsVersion = admin.info?.version ?? '?';
  const backends: Backend[] = [];
  if (wanted.includes('nats')) {
    backends.push({
      name: 'nats',
      async open() {
        const name = `bench${randomBytes(4).toString('hex')}`;
        const log = await createNatsEventLog({ servers: url, name });
        return {
          log,
          drop: async () => {
            for (const s of [`HOMEOSTAT_${name}`, `KV_HOMEOSTAT_${name}_offsets`]) {
              await jsm.streams.delete(s).catch(() => undefined);
            }
          },
        };
      },
    });
  }
  if (wanted.includes('sqlite')) {
    backends.push({
      name: 'sqlite',
      async open() {
        const dir = mkdtempSync(join(tmpdir(), 'homeostat-bench-log-'));
        const log = await createSqliteEventLog({ path: join(dir, 'events.db') });
        return { log, drop: async () => rmSync(dir, { recursive: true, force: true }) };
      },
    });
  }

  const rows: Row[] = [];
  try {
    for (const b of backends) rows.push(...(await runBackend(b, { events, concurrency })));
  } finally {
    await admin.close();
  }

  out('# NATS JetStream event log micro benchmark');
  out(`command:   npx tsx bench/nats-log.ts ${process.argv.slice(2).join(' ')}`.trimEnd());
  for (const line of machineLines()) out(line);
  out(`nats:      nats-server ${natsVersion} at ${url}; stream on file storage, 1 replica; acks after the store write`);
  out('sqlite:    embedded log, writer thread, fsync normal (the default), temp dir');
  out(
    `events:    ${events} per step (batch=1 with 1 caller: ${Math.max(1, Math.floor(events / 4))}); ~330-byte events`,
  );
  out();
  out('| backend | step | events | seconds | events/s | note |');
  out('|---|---|---:|---:|---:|---|');
  for (const r of rows) {
    out(
      `| ${r.backend} | ${r.step} | ${r.events} | ${r.seconds.toFixed(2)} | ${Math.round(r.events / r.seconds).toLocaleString('en-US')} | ${r.note ?? ''} |`,
    );
  }
  return 0;
}

process.exitCode = await main();
