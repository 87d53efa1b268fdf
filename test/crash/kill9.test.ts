/** @module kill -9 durability: acknowledged events survive SIGKILL exactly once; re-sends converge; the file stays sound. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type CrashEvent,
  createLedger,
  eventKey,
  type Ledger,
  type LoadOutcome,
  loadUntilKilled,
  makeWorkload,
  resend,
} from './ingest-client.js';
import { auditDatabase, offsetsByKey, orderViolations, readStats, readWholeLog } from './log-audit.js';
import { assertBuilt, killLeftovers, startServer, stopGracefully } from './server-process.js';

const RUN = 24_000;
const BATCH = 100;
const CONCURRENCY = 4;
const ROUND_TIMEOUT_MS = 90_000;

const root = mkdtempSync(join(tmpdir(), 'homeostat-kill9-'));
const totals = { sentInKilledRuns: 0, eventsPerMs: 10 };

/** At most a few items, so a failure message stays readable. */
function some<T>(items: readonly T[]): T[] {
  return items.slice(0, 5);
}

interface Trigger {
  readonly killAfterAcked?: number;
  readonly killAfterMs?: number;
}

interface DataDir {
  readonly path: string;
  readonly ledger: Ledger;
  readonly workload: readonly CrashEvent[];
  /** Next workload index to send. */
  next: number;
}

function newDataDir(name: string): DataDir {
  const path = join(root, name);
  return { path, ledger: createLedger(), workload: makeWorkload(name, RUN), next: 0 };
}

/** Checks the log right after a restart; returns how many unacknowledged events made it in. */
async function checkAfterRestart(url: string, dir: DataDir, unacked: readonly CrashEvent[]): Promise<Set<string>> {
  const logged = await readWholeLog(url);
  expect(some(orderViolations(logged.map((e) => e.offset))), 'offsets strictly increase').toEqual([]);
  const byKey = offsetsByKey(logged);
  const twice = [...byKey].filter(([, offsets]) => offsets.length > 1);
  expect(some(twice), 'no event is in the log twice').toEqual([]);
  expect(some([...byKey.keys()].filter((k) => !dir.ledger.sent.has(k))), 'no event that was never sent').toEqual([]);
  const lost = [...dir.ledger.acked.keys()].filter((k) => !byKey.has(k));
  expect(some(lost), `acknowledged events lost (${lost.length})`).toEqual([]);
  const moved = [...dir.ledger.acked].filter(([k, offset]) => offset !== undefined && byKey.get(k)?.[0] !== offset);
  expect(some(moved), 'acknowledged events sit at the offset their ack named').toEqual([]);
  const stats = await readStats(url);
  expect(stats.count).toBe(logged.length);
  expect(stats.nextOffset).toBeGreaterThan(logged.at(-1)?.offset ?? 0);
  return new Set(unacked.map(eventKey).filter((k) => byKey.has(k)));
}

/** Re-sends the unacknowledged events: present ones must be duplicates, the rest accepted. */
async function resendAndConverge(
  url: string,
  dir: DataDir,
  unacked: readonly CrashEvent[],
  present: Set<string>,
): Promise<void> {
  const { statuses, problems } = await resend(url, unacked, dir.ledger, BATCH);
  expect(some(problems), 'every re-sent event is answered').toEqual([]);
  const wrong = unacked
    .map(eventKey)
    .map((k) => ({ k, want: present.has(k) ? 'duplicate' : 'accepted', got: statuses.get(k) }))
    .filter(({ want, got }) => typeof got !== 'object' || got.status !== want);
  expect(some(wrong), 'a re-send is a duplicate exactly when the event survived the kill').toEqual([]);
  const logged = await readWholeLog(url);
  const byKey = offsetsByKey(logged);
  expect(logged.length, 'the log holds every sent event once').toBe(dir.ledger.sent.size);
  expect(some([...dir.ledger.sent.keys()].filter((k) => byKey.get(k)?.length !== 1))).toEqual([]);
  expect(dir.ledger.acked.size).toBe(dir.ledger.sent.size);
}

/** After a graceful stop: SQLite agrees the file is sound and holds exactly the sent events. */
function checkDatabase(dir: DataDir): void {
  const audit = auditDatabase(dir.path);
  expect(audit.integrity).toBe('ok');
  expect(some(audit.repeated), 'rows per (source, id)').toEqual([]);
  expect(audit.rows).toBe(dir.ledger.sent.size);
  expect(some([...dir.ledger.sent.keys()].filter((k) => !audit.keys.has(k)))).toEqual([]);
  expect(some(orderViolations(audit.offsets)), 'offsets strictly increase in the file').toEqual([]);
}

function report(label: string, dir: DataDir, load: LoadOutcome, present: number, ms: number): void {
  const rate = load.killedAtMs > 0 ? Math.round(load.ackedAtKill / load.killedAtMs) : 0;
  console.log(
    `[kill9] ${label}: killed at ${Math.round(load.killedAtMs)} ms with ${load.ackedAtKill} acked ` +
      `(${load.inFlightAtKill} batches in flight${load.exhausted ? ', workload exhausted first' : ''}); ` +
      `sent ${load.sent}, acked ${load.acked}, unacked ${load.unacked.length} of which ${present} were in the log ` +
      `after restart; ${dir.ledger.acked.size} of the dir's ${RUN}-event run acked so far; ~${rate} events/ms; ` +
      `round took ${Math.round(ms)} ms`,
  );
}

/** One kill: load, SIGKILL mid-flight, restart, verify, re-send, verify, stop gracefully, audit the file. */
async function crashRound(label: string, dir: DataDir, trigger: Trigger): Promise<void> {
  const began = performance.now();
  const server = await startServer(dir.path);
  const load = await loadUntilKilled({
    url: server.url,
    workload: dir.workload,
    start: dir.next,
    ledger: dir.ledger,
    batchSize: BATCH,
    concurrency: CONCURRENCY,
    ...trigger,
    kill: () => process.kill(server.pid, 'SIGKILL'),
  });
  expect((await server.exited).signal).toBe('SIGKILL');
  dir.next = load.next;
  totals.sentInKilledRuns += load.sent;
  if (load.killedAtMs > 0 && load.ackedAtKill > 0) totals.eventsPerMs = load.ackedAtKill / load.killedAtMs;
  expect(some(load.problems), 'no error answers before the kill').toEqual([]);

  const restarted = await startServer(dir.path);
  try {
    const present = await checkAfterRestart(restarted.url, dir, load.unacked);
    report(label, dir, load, present.size, performance.now() - began);
    await resendAndConverge(restarted.url, dir, load.unacked, present);
  } finally {
    const exit = await stopGracefully(restarted);
    expect(exit, `graceful stop\n${restarted.output()}`).toEqual({ code: 0, signal: null });
  }
  checkDatabase(dir);
}

beforeAll(() => {
  assertBuilt();
});

afterAll(async () => {
  await killLeftovers();
  rmSync(root, { recursive: true, force: true });
});

describe('homeostat killed with SIGKILL during batch ingest', () => {
  describe('one data dir killed three times as a 24,000-event run goes on', () => {
    const dir = newDataDir('shared');
    for (const [n, share] of [
      [1, 0.1],
      [2, 0.35],
      [3, 0.6],
    ] as const) {
      it(
        `keeps every acknowledged event exactly once after a kill at ${share * 100}% acknowledged`,
        async () => {
          await crashRound(`round ${n} (shared dir, ${share * 100}%)`, dir, {
            killAfterAcked: RUN * share - dir.ledger.acked.size,
          });
        },
        ROUND_TIMEOUT_MS,
      );
    }
  });

  it(
    'keeps every acknowledged event exactly once after a kill at 90% on a fresh data dir',
    async () => {
      await crashRound('round 4 (fresh dir, 90%)', newDataDir('fresh-90'), { killAfterAcked: RUN * 0.9 });
    },
    ROUND_TIMEOUT_MS,
  );

  it(
    'keeps every acknowledged event exactly once after a kill at a random moment',
    async () => {
      const fullRunMs = RUN / totals.eventsPerMs;
      const killAfterMs = Math.round(fullRunMs * (0.1 + 0.8 * Math.random()));
      console.log(`[kill9] round 5: random kill ${killAfterMs} ms into a run estimated at ${Math.round(fullRunMs)} ms`);
      await crashRound('round 5 (fresh dir, random)', newDataDir('fresh-random'), { killAfterMs });
    },
    ROUND_TIMEOUT_MS,
  );

  it('sent at least 20,000 events into runs that were killed', () => {
    expect(totals.sentInKilledRuns).toBeGreaterThanOrEqual(20_000);
  });
});
