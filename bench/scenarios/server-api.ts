/**
 * @module The scenario's view of the server: the Stack it applies, its resources, and the
 * `infra.*` events it reads back from the log (incrementally, by offset).
 */
import { join } from 'node:path';
import { REPO_ROOT } from '../ingest/server.js';
import type { ResolvedScenarioOptions } from './options.js';

export const STACK = 'scenario';
/** The HealingPolicy the scenarios apply to the group (`HealingPolicy/<HEAL_POLICY>`). */
export const HEAL_POLICY = 'scenario-heal';
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
  'homeostat.action.executed',
  'homeostat.action.refused',
  'homeostat.action.failed',
  'homeostat.incident.opened',
  'homeostat.incident.escalated',
  'homeostat.incident.resolved',
].join(',');

/** The instance fields of the scenario's stack, so another scenario can vary them. */
export type StackOptions = Pick<ResolvedScenarioOptions, 'instances' | 'workMs' | 'intervalMs' | 'timeoutMs'> &
  Partial<Pick<ResolvedScenarioOptions, 'unhealthyThreshold'>> & {
    /** Extra environment of every instance (e.g. `EXIT_ON_START` for a crash loop). */
    readonly env?: Readonly<Record<string, string>>;
  };

export interface HealingPolicyOptions {
  /** crashLoop.crashes (3) and .within ('1m'). */
  readonly crashes?: number;
  readonly within?: string;
  /** notify.url (none). */
  readonly notify?: string;
  /** verify.timeout ('30s'). */
  readonly verify?: string;
  /** blastRadius.per ('10m'): with maxPercent 100 a group of N can have N instances replaced per window. */
  readonly blastPer?: string;
}

/**
 * A HealingPolicy on the scenario's group: every failure kind, a crash loop after `crashes` within
 * `within`, and a blast radius that allows replacing every instance of the group per `blastPer`
 * (the default 50 % per 10 min would refuse the second replacement of a three-instance group, and
 * 100 % per 10 min the fourth).
 */
export function healingPolicy(opts: HealingPolicyOptions = {}): Record<string, unknown> {
  return {
    apiVersion: 'homeostat/v1',
    kind: 'HealingPolicy',
    metadata: { name: HEAL_POLICY },
    spec: {
      target: 'group/web',
      on: ['crashed', 'hung', 'unhealthy', 'not-ready'],
      verify: { timeout: opts.verify ?? '30s' },
      crashLoop: { crashes: opts.crashes ?? 3, within: opts.within ?? '1m' },
      ...(opts.notify === undefined ? {} : { notify: { url: opts.notify } }),
      safety: {
        blastRadius: { maxResources: 100, maxPercent: 100, per: opts.blastPer ?? '10m' },
        rateLimit: { max: 100, per: '1m' },
        cooldown: '0s',
      },
    },
  };
}

/** An incident as `GET /v1/incidents/{id}` returns it (timeline omitted). */
export interface IncidentView {
  readonly id: string;
  readonly title: string;
  readonly severity: string;
  readonly status: string;
  readonly openedAt: string;
  readonly resolvedAt?: string;
  readonly resolvedBy?: string;
  readonly details: Record<string, unknown>;
}

/** The Stack: one group of the example service behind a balancer on a free port, local clients only. */
export function scenarioStack(o: StackOptions): Record<string, unknown> {
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
            template: {
              command: process.execPath,
              args: [WEB],
              env: { WORK_MS: String(o.workMs), ...o.env },
              port: 0,
            },
            desired: o.instances,
            healthCheck: {
              path: '/healthz',
              interval: `${o.intervalMs}ms`,
              timeout: `${o.timeoutMs}ms`,
              unhealthyThreshold: o.unhealthyThreshold ?? 2,
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
  /** One incident with its details. */
  incident(id: string): Promise<IncidentView>;
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
    async incident(id) {
      return call<IncidentView>('GET', `/v1/incidents/${encodeURIComponent(id)}`);
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
