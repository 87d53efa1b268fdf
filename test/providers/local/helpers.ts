/** @module Helpers for the local provider tests: resources, an event recorder, HTTP calls, cleanup. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DesiredResource, HealthCheckSpec } from '../../../src/core/infra/types.js';
import { createLocalProvider, type LocalProviderOptions } from '../../../src/providers/local/provider.js';
import type { Provider, ProviderEvent } from '../../../src/ports/provider.js';

export const WEB = fileURLToPath(new URL('../../../examples/services/web.mjs', import.meta.url));

/** Fast health checks so tests do not wait; thresholds as the defaults. */
export const FAST_HEALTH: HealthCheckSpec = {
  path: '/healthz',
  intervalMs: 100,
  timeoutMs: 300,
  unhealthyThreshold: 2,
  healthyThreshold: 1,
};

export function webGroup(name: string, desired: number, extra: Partial<Record<string, unknown>> = {}): DesiredResource {
  return {
    kind: 'InstanceGroup',
    name,
    provider: 'local',
    tags: { team: 'shop' },
    pricePerHour: 0,
    spec: {
      template: { command: process.execPath, args: [WEB], env: { WORK_MS: '1' }, port: 0 },
      desired,
      min: 0,
      max: 10,
      instanceType: 'local.small',
      healthCheck: FAST_HEALTH,
      ...extra,
    },
  } as DesiredResource;
}

export function balancer(name: string, group: string, listen = '127.0.0.1:0'): DesiredResource {
  return {
    kind: 'LoadBalancer',
    name,
    provider: 'local',
    tags: {},
    pricePerHour: 0,
    spec: { listen, targetGroup: group, algorithm: 'round-robin' },
  };
}

/** Collects provider events and waits for the ones a test expects. */
export interface Recorder {
  readonly events: ProviderEvent[];
  readonly sink: (event: ProviderEvent) => void;
  /** The first event (seen or still to come) for which `match` holds. */
  waitFor(match: (e: ProviderEvent) => boolean, what: string, timeoutMs?: number): Promise<ProviderEvent>;
  /** Every event of `type` with `subject`, so far. */
  of(type: string, subject?: string): ProviderEvent[];
}

export function recorder(): Recorder {
  const events: ProviderEvent[] = [];
  const waiters = new Set<() => void>();
  return {
    events,
    sink: (e) => {
      events.push(e);
      for (const w of [...waiters]) w();
    },
    of: (type, subject) => events.filter((e) => e.type === type && (subject === undefined || e.subject === subject)),
    waitFor(match, what, timeoutMs = 15_000) {
      return new Promise((resolve, reject) => {
        const check = (): boolean => {
          const found = events.find(match);
          if (!found) return false;
          waiters.delete(check);
          clearTimeout(timer);
          resolve(found);
          return true;
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          const seen = events.filter((e) => e.type !== 'metrics').map((e) => `${e.type} ${e.subject}`);
          reject(new Error(`no ${what} within ${timeoutMs} ms; events seen: ${seen.join(', ')}`));
        }, timeoutMs);
        if (!check()) waiters.add(check);
      });
    },
  };
}

/** One test's providers, data dir and the process groups it must kill whatever happens. */
export interface Fixture {
  readonly dataDir: string;
  provider(rec: Recorder, extra?: Partial<LocalProviderOptions>): Promise<Provider>;
  cleanup(): Promise<void>;
}

export function fixture(): Fixture {
  const dataDir = mkdtempSync(join(tmpdir(), 'homeostat-local-'));
  const providers: Provider[] = [];
  const recorders: Recorder[] = [];
  return {
    dataDir,
    async provider(rec, extra = {}) {
      const p = createLocalProvider({ dataDir, metricsIntervalMs: 60_000, drainMs: 50, stopGraceMs: 3_000, ...extra });
      providers.push(p);
      recorders.push(rec);
      await p.start(rec.sink);
      return p;
    },
    async cleanup() {
      for (const p of providers) await p.close().catch(() => undefined);
      const pids = recorders.flatMap((r) => r.events.map((e) => e.data.pid)).filter((p) => typeof p === 'number');
      for (const pid of new Set(pids)) {
        try {
          process.kill(-pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** GET through `address` (host:port); resolves with status and JSON body (or text). */
export async function get(address: string, path = '/', timeoutMs = 5_000): Promise<{ status: number; body: any }> {
  const res = await fetch(`http://${address}${path}`, { signal: AbortSignal.timeout(timeoutMs) });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // plain text
  }
  return { status: res.status, body };
}

export async function post(address: string, path: string): Promise<number> {
  const res = await fetch(`http://${address}${path}`, { method: 'POST', signal: AbortSignal.timeout(5_000) });
  await res.text();
  return res.status;
}

/** Address of a resource from `observe`. */
export async function statusOf(p: Provider, kind: string, name: string): Promise<any> {
  const r = (await p.observe()).find((x) => x.kind === kind && x.name === name);
  return r?.status;
}
