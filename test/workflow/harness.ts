/**
 * @module Workflow test harness: a real log and state (SQLite files; NATS JetStream and PostgreSQL
 * in the cluster pass, test/cluster/backends.ts), the real actions plus a recording `test` action.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { createTargetRegistry } from '../../src/actions/registry.js';
import { type Clock, systemClock } from '../../src/core/clock.js';
import type { CloudEvent } from '../../src/core/event.js';
import { type ApprovalService, createApprovals } from '../../src/engine/approvals.js';
import { createWorkflowService, type WorkflowService } from '../../src/engine/workflow/service.js';
import type { EventLog } from '../../src/ports/event-log.js';
import type { DeliveryRequest, Target } from '../../src/ports/target.js';
import type { StateStores } from '../../src/runtime/backends.js';
import { openTestBackends, removeTestBackends } from '../cluster/backends.js';

export interface Call {
  readonly key: string;
  readonly attempt: number;
  readonly with: Readonly<Record<string, unknown>>;
  readonly payload: unknown;
}

/**
 * The `test` action: records every call. `with.fail: n` fails the first n attempts of a key
 * (retryable), `with.fatal: true` fails without retry, `with.block: true` waits until aborted
 * (`blockFirst`: only the first attempt of a key).
 * Output: `{ value: with.value, attempt }`.
 */
export function createTestAction(calls: Call[]): Target {
  const seen = new Map<string, number>();
  return {
    action: 'test',
    validate: () => [],
    async deliver(req: DeliveryRequest) {
      const n = (seen.get(req.idempotencyKey) ?? 0) + 1;
      seen.set(req.idempotencyKey, n);
      calls.push({ key: req.idempotencyKey, attempt: req.attempt, with: req.target.with, payload: req.payload });
      const w = req.target.with;
      if (w.block === true || (w.blockFirst === true && n === 1)) {
        await new Promise<void>((resolve) => req.signal.addEventListener('abort', () => resolve(), { once: true }));
        return { ok: false, retry: 'yes', error: { code: 'E_ABORTED', message: 'aborted' } };
      }
      if (w.fatal === true) return { ok: false, retry: 'no', error: { code: 'E_TEST', message: 'fatal failure' } };
      if (typeof w.fail === 'number' && n <= w.fail) {
        return { ok: false, retry: 'yes', error: { code: 'E_TEST', message: `failure ${n}` } };
      }
      return { ok: true, detail: { value: w.value ?? null, attempt: req.attempt } };
    },
  };
}

export interface Harness {
  readonly dir: string;
  readonly log: EventLog;
  /** The state stores (approvals, schemas, tokens, … on the same database as the workflows). */
  readonly stores: StateStores;
  readonly calls: Call[];
  readonly approvals: ApprovalService;
  readonly service: WorkflowService;
  /** Stops the service and approvals (not the log or database). */
  stopService(): Promise<void>;
  /** A new service and approvals over the same database (a restart). */
  restart(): Promise<void>;
  /** Appends events as ingest would (tests append triggering events directly). */
  append(...events: Record<string, unknown>[]): Promise<void>;
  /** The events the log holds, by type prefix. */
  events(prefix?: string): Promise<CloudEvent[]>;
  close(): Promise<void>;
}

export interface HarnessOptions {
  readonly clock?: Clock;
  readonly pollMs?: number;
  readonly dir?: string;
}

export async function startHarness(opts: HarnessOptions = {}): Promise<Harness> {
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'homeostat-wf-'));
  const clock = opts.clock ?? systemClock;
  const backends = await openTestBackends(dir, clock);
  const { log, stores } = backends;
  const calls: Call[] = [];
  const publish = async (events: readonly CloudEvent[]) => log.append(events);
  const logger = pino({ level: 'silent' });
  const registry = new Map<string, Target>(createTargetRegistry({ logger, publish, clock, exec: { allow: {} } }));
  registry.set('test', createTestAction(calls));
  const errors: unknown[] = [];
  const build = () => {
    const approvals = createApprovals({ store: stores.approvals, clock, expiryIntervalMs: 10 });
    const service = createWorkflowService({
      store: stores.workflows,
      log,
      targets: () => registry,
      approvals,
      publish,
      clock,
      pollMs: opts.pollMs ?? 20,
      onError: (err) => errors.push(err),
    });
    registry.set('workflow', service.target);
    return { approvals, service };
  };
  let current = build();
  await current.service.start();
  const h: Harness = {
    dir,
    log,
    stores,
    calls,
    get approvals() {
      return current.approvals;
    },
    get service() {
      return current.service;
    },
    async stopService() {
      await current.service.close();
      current.approvals.close();
    },
    async restart() {
      await h.stopService();
      current = build();
      await current.service.start();
    },
    async append(...events) {
      await log.append(events.map((e) => ({ specversion: '1.0', source: '/test', ...e }) as unknown as CloudEvent));
    },
    async events(prefix = '') {
      const records = await log.read({ limit: 10_000 });
      return records.map((r) => r.event).filter((e) => e.type.startsWith(prefix));
    },
    async close() {
      await h.stopService();
      await backends.close();
      if (!opts.dir) await removeTestBackends(dir);
      if (errors.length > 0) throw new Error(`workflow service errors: ${errors.map(String).join('; ')}`);
    },
  };
  return h;
}

/** A Workflow manifest with these steps. */
export function workflow(name: string, steps: unknown[], spec: Record<string, unknown> = {}): Record<string, unknown> {
  return { apiVersion: 'homeostat/v1', kind: 'Workflow', metadata: { name }, spec: { steps, ...spec } };
}

/** Polls `check` until it is truthy (real time), failing after `ms`. */
export async function until<T>(
  check: () => Promise<T> | T,
  what: string,
  ms = 10_000,
): Promise<Exclude<T, undefined | null | false | 0 | ''>> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v) return v as Exclude<T, undefined | null | false | 0 | ''>;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
