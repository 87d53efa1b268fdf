/**
 * @module The flash sale's view of the server: the Stack and ScalingPolicy it applies, every event
 * it reads back from the log (incrementally, by offset), and the causal chains it follows
 * (metrics event → scale action → the provider's and reconciler's events → the new instances).
 */
import { join } from 'node:path';
import { REPO_ROOT } from '../ingest/server.js';
import type { LoggedEvent } from './server-api.js';

export type { LoggedEvent } from './server-api.js';

export const FLASH_STACK = 'flash-sale';
export const FLASH_GROUP = 'web';
export const FLASH_POLICY = 'web';
const WEB = join(REPO_ROOT, 'examples', 'services', 'web.mjs');

/** Types the flash sale follows. */
export const FLASH_TYPES = [
  'infra.metrics',
  'homeostat.action.executed',
  'homeostat.action.refused',
  'homeostat.action.failed',
  'infra.resource.changed',
  'infra.group.scaled',
  'infra.reconcile.decided',
  'infra.instance.started',
  'infra.instance.ready',
  'infra.instance.stopped',
  'infra.instance.crashed',
] as const;

export interface FlashStackOptions {
  readonly minInstances: number;
  readonly maxInstances: number;
  readonly healthIntervalMs: number;
  readonly workMs: number;
}

/** One group of the example service (min..max) behind a balancer on a free port, local clients only. */
export function flashSaleStack(o: FlashStackOptions): Record<string, unknown> {
  return {
    apiVersion: 'homeostat/v1',
    kind: 'Stack',
    metadata: { name: FLASH_STACK },
    spec: {
      provider: 'local',
      resources: [
        {
          kind: 'InstanceGroup',
          name: FLASH_GROUP,
          spec: {
            template: { command: process.execPath, args: [WEB], env: { WORK_MS: String(o.workMs) }, port: 0 },
            desired: o.minInstances,
            min: o.minInstances,
            max: o.maxInstances,
            healthCheck: {
              path: '/healthz',
              interval: `${o.healthIntervalMs}ms`,
              timeout: `${Math.max(10, Math.floor(o.healthIntervalMs * 0.8))}ms`,
              unhealthyThreshold: 2,
              healthyThreshold: 1,
            },
          },
        },
        { kind: 'LoadBalancer', name: 'web-lb', spec: { listen: '127.0.0.1:0', targetGroup: FLASH_GROUP } },
        { kind: 'SecurityRule', name: 'web-lb-local', spec: { loadBalancer: 'web-lb', allow: ['127.0.0.0/8'] } },
      ],
    },
  };
}

export interface FlashPolicyOptions {
  readonly minInstances: number;
  readonly maxInstances: number;
  readonly target: number;
  readonly scaleOutCooldownMs: number;
  readonly scaleInStabilizationMs: number;
  /** scaleIn.cooldown, ms. Default 5,000. */
  readonly scaleInCooldownMs?: number;
}

/**
 * Target tracking of data.rpsPerInstance (derived: data.rps / data.instances), the whole step at
 * once. The flap rail is widened because every run reverses the direction twice on purpose.
 */
export function flashSalePolicy(o: FlashPolicyOptions): Record<string, unknown> {
  return {
    apiVersion: 'homeostat/v1',
    kind: 'ScalingPolicy',
    metadata: { name: FLASH_POLICY },
    spec: {
      target: `group/${FLASH_GROUP}`,
      min: o.minInstances,
      max: o.maxInstances,
      metric: { type: 'infra.metrics', field: 'data.rpsPerInstance', target: o.target },
      scaleOut: { cooldown: `${o.scaleOutCooldownMs}ms` },
      scaleIn: { stabilization: `${o.scaleInStabilizationMs}ms`, cooldown: `${o.scaleInCooldownMs ?? 5_000}ms` },
      safety: { flap: { maxReversals: 1_000, within: '10m' } },
    },
  };
}

export interface FlashApi {
  call<T>(method: string, path: string, body?: unknown): Promise<T>;
  instances(): Promise<{ name: string; status: { pid: number; phase: string; healthy: boolean } }[]>;
  balancerAddress(): Promise<string>;
  /** Every followed event appended since the last call (and all before, kept), in log order. */
  events(): Promise<readonly LoggedEvent[]>;
}

interface WireRecord {
  offset: number;
  appendedAt: string;
  event: { id: string; type: string; time: string; subject?: string; causationid?: string; data?: unknown };
}

export function createFlashApi(url: string): FlashApi {
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
      const body = await call<{ resources: Awaited<ReturnType<FlashApi['instances']>> }>(
        'GET',
        '/v1/resources?kind=Instance',
      );
      return body.resources;
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
    async events() {
      for (;;) {
        const page = await call<{ events: WireRecord[]; next: number | null }>(
          'GET',
          `/v1/events?type=${FLASH_TYPES.join(',')}&after=${after}&limit=1000`,
        );
        for (const r of page.events) seen.push(fromWire(r));
        after = page.events.at(-1)?.offset ?? after;
        if (page.next === null) return seen;
      }
    },
  };
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

/** The scale actions the policy executed (`homeostat.action.executed` with action `scale`). */
export function scaleActions(events: readonly LoggedEvent[]): LoggedEvent[] {
  return events.filter((e) => e.type === 'homeostat.action.executed' && e.data.action === 'scale');
}

export function directionOf(action: LoggedEvent): string {
  return String(action.data.direction);
}

export function paramsOf(action: LoggedEvent): { from: number; to: number } {
  const p = (action.data.params ?? {}) as { from?: unknown; to?: unknown };
  return { from: Number(p.from), to: Number(p.to) };
}

/** Every event whose chain of `causationid`s leads back to `rootId` (not the root itself), in log order. */
export function descendants(events: readonly LoggedEvent[], rootId: string): LoggedEvent[] {
  const ids = new Set([rootId]);
  const out: LoggedEvent[] = [];
  for (const e of events) {
    if (e.causationid !== undefined && ids.has(e.causationid) && !ids.has(e.id)) {
      ids.add(e.id);
      out.push(e);
    }
  }
  return out;
}

/** The instance name of an `instance/<name>` subject. */
export const instanceName = (subject: string): string => subject.replace(/^instance\//, '');

/** Polls `fn` every 25 ms until it returns a value; throws naming `what` after `timeoutMs`. */
export { until } from './server-api.js';
