/**
 * @module What the compliance and idle-cost scenarios share: the server as its own process on a
 * fresh data dir, the log read back by event type, and a clean-up that deletes the scenario's
 * stacks (stopping their instances) and kills any instance process left behind.
 */
import { type ServerProcess, startServer } from '../ingest/server.js';
import { createCleanup } from './cleanup.js';
import { createServerApi, type ServerApi } from './server-api.js';

export const log = (line: string): void => {
  process.stderr.write(`[scenario ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
};
export const out = (line = ''): void => {
  process.stdout.write(`${line}\n`);
};
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The command that reproduces this run: the `BENCH_*` variables set, then `tsx <script> <args>`. */
export function commandLine(script: string): string {
  const env = Object.entries(process.env)
    .filter(([k]) => k.startsWith('BENCH_'))
    .map(([k, v]) => `${k}=${v}`);
  return [...env, 'tsx', script, ...process.argv.slice(2)].join(' ');
}

/** An event read back from `GET /v1/events`, with both clocks as epoch ms. */
export interface LogEvent {
  readonly offset: number;
  /** When the event was durable on the log. */
  readonly appendedAt: number;
  /** The event's own `time`. */
  readonly time: number;
  readonly id: string;
  readonly type: string;
  readonly subject: string;
  readonly causationid: string | undefined;
  readonly data: Record<string, unknown>;
}

interface WireRecord {
  offset: number;
  appendedAt: string;
  event: { id: string; type: string; time: string; subject?: string; causationid?: string; data?: unknown };
}

/** Reads the log incrementally (by offset) for the given types; every call returns all seen so far. */
export function createEventReader(api: ServerApi, types: readonly string[]): () => Promise<readonly LogEvent[]> {
  const seen: LogEvent[] = [];
  let after = 0;
  return async () => {
    for (;;) {
      const page = await api.call<{ events: WireRecord[]; next: number | null }>(
        'GET',
        `/v1/events?type=${types.join(',')}&after=${after}&limit=1000`,
      );
      for (const r of page.events) {
        seen.push({
          offset: r.offset,
          appendedAt: Date.parse(r.appendedAt),
          time: Date.parse(r.event.time),
          id: r.event.id,
          type: r.event.type,
          subject: r.event.subject ?? '',
          causationid: r.event.causationid,
          data: (r.event.data ?? {}) as Record<string, unknown>,
        });
      }
      after = page.events.at(-1)?.offset ?? after;
      if (page.next === null) return seen;
    }
  };
}

/** A scenario body: gets the server and its API, and names the stacks it created for the clean-up. */
export type ScenarioBody = (server: ServerProcess, api: ServerApi, stacks: Set<string>) => Promise<void>;

const cleanup = createCleanup(log);
const removeStacks = (api: ServerApi, stacks: Set<string>) =>
  cleanup.remove(
    api,
    [...stacks].map((name) => `/v1/stacks/${name}?prune=true`),
  );

export async function notePids(api: ServerApi): Promise<void> {
  for (const i of await api.instances()) cleanup.note(i.status.pid);
}

/** Starts `node bin/homeostat.js up` on a fresh data dir, runs `body`, cleans up; resolves with an exit code. */
export async function runScenario(body: ScenarioBody, startTimeoutSec: number): Promise<number> {
  log('starting the server (node bin/homeostat.js up --port 0 on a fresh data dir)');
  const server = await startServer({ fsync: 'normal', extraArgs: [], nodeArgs: [], timeoutMs: startTimeoutSec * 1000 });
  const api = createServerApi(server.url);
  const stacks = new Set<string>();
  const interrupted = () => {
    log('interrupted: removing the stacks and stopping the server');
    void removeStacks(api, stacks)
      .then(() => cleanup.killLeftovers())
      .then(() => server.stop())
      .finally(() => process.exit(130));
  };
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);
  try {
    await body(server, api, stacks);
    return 0;
  } catch (err) {
    process.stderr.write(`scenario failed: ${(err as Error).stack ?? String(err)}\n`);
    return 1;
  } finally {
    await removeStacks(api, stacks);
    cleanup.killLeftovers();
    await server.stop();
  }
}

/** Median (lower middle) and maximum of `values`. */
export function p50max(values: readonly number[]): { p50: number; max: number } {
  const sorted = [...values].sort((a, b) => a - b);
  return { p50: sorted[Math.floor((sorted.length - 1) / 2)] ?? NaN, max: sorted.at(-1) ?? NaN };
}
