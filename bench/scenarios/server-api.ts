/**
 * @module The scenario's view of the server: the Stack it applies, its resources, and the
 * `infra.*` events it reads back from the log (incrementally, by offset).
 */
import { join } from 'node:path';
import { REPO_ROOT } from '../ingest/server.js';
import type { ResolvedScenarioOptions } from './options.js';

export const STACK = 'scenario';
const WEB = join(REPO_ROOT, 'examples', 'services', 'web.mjs');

/** An event as `GET /v1/events` returns it, with both clocks parsed to epoch ms. */
export interface LoggedEvent {
  readonly offset: number;
  /** `appendedAt`: when the event was durable on the log. */
  readonly appendedAt: number;
  /** The event's own `time`: when the provider (or reconciler) observed or decided it. */
  readonly time: number;
  readonly id: string;
  readonly type: string;
  readonly subject: string;
  readonly causationid: string | undefined;
  readonly data: Record<string, unknown>;
}

export interface InstanceView {
  readonly name: string;
  readonly status: { pid: number; address: string; phase: string; healthy: boolean };
}

/** The types the scenario follows. */
const TYPES = [
  'infra.instance.crashed',
  'infra.instance.unhealthy',
  'infra.reconcile.decided',
  'infra.instance.started',
  'infra.instance.ready',
  'infra.instance.stopped',
].join(',');

/** The Stack: one group of the example service behind a balancer on a free port, local clients only. */
export function scenarioStack(o: ResolvedScenarioOptions): Record<string, unknown> {
  return {
    apiVersion: 'homeostat/v1',
    kind: 'Stack',
    metadata: { name: STACK },
    spec: {
      provider: 'local',
      resources: [
        {
          kind: 'InstanceGroup',
          name: 'web',
          spec: {
            template: { command: process.execPath, args: [WEB], env: { WORK_MS: String(o.workMs) }, port: 0 },
            desired: o.instances,
            healthCheck: {
              path: '/healthz',
              interval: `${o.intervalMs}ms`,
              timeout: `${o.timeoutMs}ms`,
              unhealthyThreshold: o.unhealthyThreshold,
              healthyThreshold: 1,
            },
          },
        },
        { kind: 'LoadBalancer', name: 'web-lb', spec: { listen: '127.0.0.1:0', targetGroup: 'web' } },
        { kind: 'SecurityRule', name: 'web-lb-local', spec: { loadBalancer: 'web-lb', allow: ['127.0.0.0/8'] } },
      ],
    },
  };
}

export interface ServerApi {
  call<T>(method: string, path: string, body?: unknown): Promise<T>;
  instances(): Promise<InstanceView[]>;
  balancerAddress(): Promise<string>;
  converged(): Promise<boolean>;
  /** Every followed event appended since the last call (and all before, kept). */
  events(): Promise<readonly LoggedEvent[]>;
}

export function createServerApi(url: string): ServerApi {
  const seen: LoggedEvent[] = [];
  let after = 0;
  async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await fetch(`${url}${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    if (res.status >= 300) throw new Error(`${method} ${path} answered ${res.status}: ${text}`);
    return (text ? JSON.parse(text) : undefined) as T;
  }
  return {
    call,
    async instances() {
      return (await call<{ resources: InstanceView[] }>('GET', '/v1/resources?kind=Instance')).resources;
    },
    async balancerAddress() {
      const { resources } = await call<{ resources: { status?: { address?: string } }[] }>(
        'GET',
        '/v1/resources?kind=LoadBalancer',
      );
      const address = resources[0]?.status?.address;
      if (address === undefined) throw new Error('the load balancer has no address yet');
      return address;
    },
    async converged() {
      return (await call<{ converged: boolean }>('GET', `/v1/stacks/${STACK}/status`)).converged;
    },
    async events() {
      for (;;) {
        const page = await call<{ events: WireRecord[]; next: number | null }>(
          'GET',
          `/v1/events?type=${TYPES}&after=${after}&limit=1000`,
        );
        for (const r of page.events) seen.push(fromWire(r));
        after = page.events.at(-1)?.offset ?? after;
        if (page.next === null) return seen;
      }
    },
  };
}

interface WireRecord {
  offset: number;
  appendedAt: string;
  event: { id: string; type: string; time: string; subject?: string; causationid?: string; data?: unknown };
}

function fromWire(r: WireRecord): LoggedEvent {
  return {
    offset: r.offset,
    appendedAt: Date.parse(r.appendedAt),
    time: Date.parse(r.event.time),
    id: r.event.id,
    type: r.event.type,
    subject: r.event.subject ?? '',
    causationid: r.event.causationid,
    data: (r.event.data ?? {}) as Record<string, unknown>,
  };
}

/** Polls `fn` every 25 ms until it returns a value; throws naming `what` after `timeoutMs`. */
export async function until<T>(fn: () => Promise<T | undefined>, what: string, timeoutMs: number): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (value !== undefined) return value;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
