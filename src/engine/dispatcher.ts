/**
 * @module The dispatcher: delivers (event, rule, target) jobs through each target's lane with
 * its concurrency and rate limits, ordering per partition key, circuit breaker, retries with
 * backoff, dead letters and idempotency, recording every attempt and outcome in the trace.
 *
 * Durability: a job's fate after each attempt (delivered, pending retry with its due time, or
 * dead) is written to the DeliveryStore before `settled` is called, so the router may commit its
 * offset past the event; pending retries are reloaded at start.
 */
import type { Clock } from '../core/clock.js';
import { retryDecision } from '../core/delivery/backoff.js';
import { type CircuitBreaker, createCircuitBreaker } from '../core/delivery/circuit-breaker.js';
import { idempotencyKey } from '../core/delivery/idempotency.js';
import { createRateLimiter, type RateLimiter } from '../core/delivery/rate-limiter.js';
import { compileTransform, type Transform } from '../core/delivery/transform.js';
import { ErrorCode, HomeostatError } from '../core/errors.js';
import type { TargetSpec } from '../core/rules/types.js';
import type { DeliveryChange, DeliveryKey, DeliveryStore, TraceEntry } from '../ports/delivery-store.js';
import type { LogRecord } from '../ports/event-log.js';
import type { DeliveryOutcome, SerializedError, Target, TargetRegistry } from '../ports/target.js';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { disabledTracing, type EventTracing } from '../telemetry/event-tracing.js';
import { Fifo } from './fifo.js';
import type { StateWriter } from './state-writer.js';

export interface DeliveryJob {
  readonly record: LogRecord;
  readonly rule: string;
  readonly target: string;
  readonly key: DeliveryKey;
  /** Attempts made so far. */
  attempts: number;
  /** `maxAge` counts from here: the event's append time, or the redrive time. */
  readonly firstSeenAt: number;
  readonly replayed: boolean;
  readonly redriven: boolean;
  /** The job is known to be new or pending (skip the idempotency lookup). */
  checked: boolean;
  /** Called once, when the job's fate after its first attempt is durable. */
  settled?: () => void;
}

interface Lane {
  readonly id: string;
  spec: TargetSpec;
  target: Target;
  transform: Transform;
  breaker: CircuitBreaker;
  limiter: RateLimiter | undefined;
  readonly queue: Fifo<DeliveryJob>;
  inFlight: number;
  /** Ordered lanes: jobs held per partition key (queued, in flight or awaiting retry). */
  readonly held: Map<string, DeliveryJob[]>;
  wake: ReturnType<typeof setTimeout> | undefined;
}

export interface DispatcherOptions {
  readonly store: DeliveryStore;
  readonly writer: StateWriter;
  readonly targets: TargetRegistry;
  readonly clock: Clock;
  /** Looks up a rule's target spec now (undefined: the rule or target is gone). */
  readonly lookup: (rule: string, target: string) => TargetSpec | undefined;
  readonly onError?: (err: unknown) => void;
  /** A `deliver <rule>` span around each attempt, active while the target runs. */
  readonly tracing?: EventTracing;
  /** Counts into this map (several dispatchers of one node share one). Default its own. */
  readonly stats?: Map<string, DeliveryCounts>;
}

/** Delivery counts since start, per rule (for /metrics). */
export interface DeliveryCounts {
  attempts: number;
  delivered: number;
  /** Failed attempts that will be tried again. */
  retried: number;
  dead: number;
}

export interface Dispatcher {
  submit(job: DeliveryJob): void;
  /** Jobs queued or in flight, retries waiting excluded. */
  readonly backlog: number;
  /** Attempts and outcomes since start, by rule. */
  readonly stats: ReadonlyMap<string, Readonly<DeliveryCounts>>;
  /** Resolves when the backlog is below `limit`. */
  whenBelow(limit: number): Promise<void>;
  /**
   * Reloads pending retries from the store; `read` fetches an event by offset. With `accept`, only
   * the pending deliveries it accepts (`record` undefined: the event left the log); the others stay
   * pending for another dispatcher.
   */
  restore(
    read: (offset: number) => Promise<LogRecord | undefined>,
    accept?: (record: LogRecord | undefined, key: DeliveryKey) => boolean,
  ): Promise<number>;
  /**
   * Stops starting attempts and waits for those in flight (bounded by their timeouts). They are
   * aborted, unless `drain`: then they run to their end and their outcomes are recorded (a
   * partition handed to another node). Queued jobs and timed retries are left: the next owner
   * re-reads the events and restores the pending retries.
   */
  close(options?: { readonly drain?: boolean }): Promise<void>;
}

/** How long after a target's own timeout the dispatcher aborts an attempt itself. */
const SAFETY_MARGIN_MS = 1_000;

export const laneId = (rule: string, target: string): string => `${rule}\u0000${target}`;

export function serializeError(err: unknown): SerializedError {
  if (err instanceof HomeostatError) return { code: err.code, message: err.message };
  const e = err as { code?: unknown; message?: unknown };
  return {
    code: typeof e?.code === 'string' ? e.code : 'E_ACTION_FAILED',
    message: typeof e?.message === 'string' ? e.message : String(err),
  };
}

class DispatcherImpl implements Dispatcher {
  private readonly lanes = new Map<string, Lane>();
  private readonly retries: { at: number; job: DeliveryJob }[] = [];
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private closed = false;
  private readonly shutdown = new AbortController();
  private active = 0;
  private queued = 0;
  private readonly drainWaiters: { limit: number; resolve: () => void }[] = [];
  private idle: (() => void) | undefined;

  readonly stats: Map<string, DeliveryCounts>;
  private readonly tracing: EventTracing;
  constructor(private readonly o: DispatcherOptions) {
    this.tracing = o.tracing ?? disabledTracing;
    this.stats = o.stats ?? new Map<string, DeliveryCounts>();
  }

  private count(rule: string, what: keyof DeliveryCounts): void {
    let c = this.stats.get(rule);
    if (c === undefined) this.stats.set(rule, (c = { attempts: 0, delivered: 0, retried: 0, dead: 0 }));
    c[what]++;
  }

  get backlog(): number {
    return this.queued + this.active;
  }

  submit(job: DeliveryJob): void {
    const lane = this.laneFor(job);
    if (!lane) {
      void this.finish(job, { kind: 'dead', reason: 'rule-deleted', error: gone(job) }, undefined);
      return;
    }
    this.enqueue(lane, job);
  }

  private laneFor(job: DeliveryJob): Lane | undefined {
    const spec = this.o.lookup(job.rule, job.target);
    if (!spec) return undefined;
    const id = laneId(job.rule, job.target);
    let lane = this.lanes.get(id);
    if (lane && lane.spec !== spec) this.refresh(lane, spec);
    if (!lane) {
      lane = {
        id,
        queue: new Fifo<DeliveryJob>(),
        inFlight: 0,
        held: new Map(),
        wake: undefined,
        ...this.laneParts(spec),
      };
      this.lanes.set(id, lane);
    }
    return lane;
  }

  private laneParts(spec: TargetSpec) {
    const target = this.o.targets.get(spec.action);
    if (!target) throw new HomeostatError(ErrorCode.INTERNAL, `no action '${spec.action}' is registered`);
    return {
      spec,
      target,
      transform: compileTransform(spec.input),
      breaker: createCircuitBreaker(spec.circuitBreaker),
      limiter: spec.rateLimit ? createRateLimiter(spec.rateLimit) : undefined,
    };
  }

  private refresh(lane: Lane, spec: TargetSpec): void {
    Object.assign(lane, this.laneParts(spec));
  }

  private enqueue(lane: Lane, job: DeliveryJob, front = false): void {
    this.queued++;
    if (lane.spec.ordered) {
      const key = job.record.partitionKey;
      const held = lane.held.get(key);
      if (held && !front) {
        held.push(job);
        return;
      }
      if (!held) lane.held.set(key, []);
    }
    if (front) lane.queue.unshift(job);
    else lane.queue.push(job);
    this.pump(lane);
  }

  /** Starts as many queued jobs as the lane's limits allow. */
  private pump(lane: Lane): void {
    while (!this.closed && lane.queue.length > 0 && lane.inFlight < lane.spec.concurrency) {
      const now = this.o.clock.now();
      // Rate limit first: asking the breaker may use up its single half-open trial.
      const wait = lane.limiter?.tryTake(now) ?? 0;
      if (wait > 0) return this.wakeAt(lane, now + wait);
      if (!lane.breaker.canPass(now)) return this.wakeAt(lane, lane.breaker.openUntil ?? now + 100);
      const job = lane.queue.shift()!;
      lane.inFlight++;
      this.active++;
      this.queued--;
      void this.run(lane, job).finally(() => {
        lane.inFlight--;
        this.active--;
        this.pump(lane);
        this.notifyDrain();
      });
    }
  }

  private wakeAt(lane: Lane, at: number): void {
    if (lane.wake) return;
    lane.wake = setTimeout(
      () => {
        lane.wake = undefined;
        this.pump(lane);
      },
      Math.max(1, at - this.o.clock.now()),
    );
  }

  private async run(lane: Lane, job: DeliveryJob): Promise<void> {
    try {
      if (!job.checked && (await this.alreadyDone(job))) return this.release(lane, job);
      job.checked = true;
      const payload = lane.transform(job.record.event);
      if (!payload.ok) {
        await this.finish(job, { kind: 'dead', reason: 'transform-failed', error: payload.error }, lane);
        return;
      }
      const outcome = await this.attempt(lane, job, payload.payload);
      // An attempt cut short by shutdown is not an outcome: the job is taken up again after the
      // restart (from its pending record or by the router re-reading the event). One that ran to
      // its end while the dispatcher drained is recorded.
      if (this.shutdown.signal.aborted) return;
      await this.afterAttempt(lane, job, outcome);
    } catch (err) {
      this.o.onError?.(err);
      // The state could not be written: keep the job (it is retried, never dropped).
      this.scheduleRetry(job, this.o.clock.now() + 1_000);
    }
  }

  private async alreadyDone(job: DeliveryJob): Promise<boolean> {
    // One key per job: a remote store batches the lookups of jobs starting together itself.
    const [status] = await this.o.store.statusOf([job.key]);
    if (status === undefined) return false;
    // delivered / dead: finished before (a restart re-read the event); pending: restored from the store.
    this.trace(job, 'skipped', { reason: `already ${status}` });
    settle(job);
    return true;
  }

  private async attempt(lane: Lane, job: DeliveryJob, payload: unknown): Promise<DeliveryOutcome> {
    job.attempts++;
    // Actions enforce the target's timeout themselves; this is a safety net for one that does not,
    // and the signal also carries shutdown.
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), lane.spec.timeoutMs + SAFETY_MARGIN_MS);
    const signal = AbortSignal.any([controller.signal, this.shutdown.signal]);
    this.count(job.rule, 'attempts');
    const deliver = async (): Promise<DeliveryOutcome> => {
      try {
        return await lane.target.deliver({
          record: job.record,
          rule: job.rule,
          target: lane.spec,
          attempt: job.attempts,
          idempotencyKey: idempotencyKey(job.key.source, job.key.id, job.key.rule, job.key.target),
          payload,
          replayed: job.replayed,
          signal,
        });
      } catch (err) {
        return { ok: false, error: serializeError(err), retry: 'yes' };
      } finally {
        clearTimeout(timer);
      }
    };
    if (!this.tracing.enabled) return deliver();
    const attributes = {
      'homeostat.rule': job.rule,
      'homeostat.target': job.target,
      'homeostat.action': lane.spec.action,
      'homeostat.attempt': job.attempts,
      'cloudevents.event_id': job.record.event.id,
    };
    const parent = this.tracing.contextOf(job.record.event);
    return this.tracing.inSpan(
      `deliver ${job.rule}`,
      parent,
      attributes,
      async (span) => {
        const outcome = await deliver();
        span.setAttribute('homeostat.outcome', outcome.ok ? 'ok' : 'error');
        if (!outcome.ok) span.setStatus({ code: SpanStatusCode.ERROR, message: outcome.error.message });
        return outcome;
      },
      SpanKind.CONSUMER,
    );
  }

  private async afterAttempt(lane: Lane, job: DeliveryJob, outcome: DeliveryOutcome): Promise<void> {
    const now = this.o.clock.now();
    if (outcome.ok) {
      this.count(job.rule, 'delivered');
      lane.breaker.onSuccess(now);
      const changes: DeliveryChange[] = [
        { kind: 'delivered', key: job.key, offset: job.record.offset, attempts: job.attempts, at: now },
        this.traceChange(job, 'attempt', { outcome: { ok: true, ...outcome.detail } }),
        this.traceChange(job, 'delivered', outcome.detail ? { outcome: outcome.detail } : undefined),
      ];
      if (outcome.emitted?.length) changes.push(this.traceChange(job, 'emitted', { events: outcome.emitted }));
      await this.o.writer.write(changes);
      settle(job);
      return this.release(lane, job);
    }
    // Only failures the target may recover from count: a burst of bad events must not pause a healthy target.
    if (outcome.retry === 'yes') lane.breaker.onFailure(now);
    const decision = retryDecision({
      policy: lane.spec.retry,
      attempts: job.attempts,
      firstSeenAt: job.firstSeenAt,
      now,
      outcome,
    });
    const attemptTrace = this.traceChange(job, 'attempt', { error: outcome.error });
    if (!decision.retry) {
      await this.finish(job, { kind: 'dead', reason: decision.reason, error: outcome.error }, lane, [attemptTrace]);
      return;
    }
    this.count(job.rule, 'retried');
    await this.o.writer.write([
      { kind: 'pending', delivery: this.pending(job, decision.at, outcome.error) },
      attemptTrace,
      this.traceChange(job, 'retry-scheduled', { error: outcome.error, delayMs: decision.at - now }),
    ]);
    settle(job);
    this.scheduleRetry(job, decision.at);
  }

  private pending(job: DeliveryJob, nextAt: number, lastError?: SerializedError) {
    const { key, record, attempts, replayed } = job;
    return { key, offset: record.offset, attempts, nextAt, lastError, replayed };
  }

  private async finish(
    job: DeliveryJob,
    end: { kind: 'dead'; reason: string; error: SerializedError },
    lane: Lane | undefined,
    extra: DeliveryChange[] = [],
  ): Promise<void> {
    const now = this.o.clock.now();
    this.count(job.rule, 'dead');
    const letter = {
      key: job.key,
      offset: job.record.offset,
      attempts: job.attempts,
      reason: end.reason,
      error: end.error,
      event: job.record.event,
      deadAt: now,
    };
    await this.o.writer.write([
      ...extra,
      { kind: 'dead', letter },
      this.traceChange(job, 'dead-lettered', { reason: end.reason, error: end.error }),
    ]);
    settle(job);
    if (lane) this.release(lane, job);
  }

  /** The job reached a final state: let the next job of its partition key go (ordered lanes). */
  private release(lane: Lane, job: DeliveryJob): void {
    if (!lane.spec.ordered) return;
    const key = job.record.partitionKey;
    const waiting = lane.held.get(key);
    const next = waiting?.shift();
    if (next) {
      lane.queue.push(next);
      this.pump(lane);
    } else {
      lane.held.delete(key);
    }
  }

  private scheduleRetry(job: DeliveryJob, at: number): void {
    const list = this.retries;
    let i = list.length;
    while (i > 0 && list[i - 1]!.at > at) i--;
    list.splice(i, 0, { at, job });
    this.armRetryTimer();
  }

  private armRetryTimer(): void {
    if (this.closed) return;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    const first = this.retries[0];
    if (!first) return;
    this.retryTimer = setTimeout(() => this.dueRetries(), Math.max(0, first.at - this.o.clock.now()));
  }

  private dueRetries(): void {
    this.retryTimer = undefined;
    const now = this.o.clock.now();
    while (this.retries.length > 0 && this.retries[0]!.at <= now) {
      const { job } = this.retries.shift()!;
      const lane = this.laneFor(job);
      if (!lane) void this.finish(job, { kind: 'dead', reason: 'rule-deleted', error: gone(job) }, undefined);
      else {
        this.queued++;
        lane.queue.unshift(job);
        this.pump(lane);
      }
    }
    this.armRetryTimer();
  }

  async restore(
    read: (offset: number) => Promise<LogRecord | undefined>,
    accept?: (record: LogRecord | undefined, key: DeliveryKey) => boolean,
  ): Promise<number> {
    const pending = await this.o.store.pending();
    let restored = 0;
    for (const p of pending) {
      const record = await read(p.offset);
      if (accept && !accept(record, p.key)) continue;
      restored++;
      const job: DeliveryJob = {
        record: record ?? expiredRecord(p.key, p.offset),
        rule: p.key.rule,
        target: targetOfKey(p.key.target),
        key: p.key,
        attempts: p.attempts,
        firstSeenAt: record?.appendedAt ?? 0,
        replayed: p.replayed,
        redriven: false,
        checked: true,
      };
      const lane = this.laneFor(job);
      if (!record || !lane) {
        const reason = record ? 'rule-deleted' : 'event-expired';
        const error = {
          code: 'E_GONE',
          message: record ? gone(job).message : 'the event left the log before its retry',
        };
        await this.finish(job, { kind: 'dead', reason, error }, undefined);
        continue;
      }
      if (lane.spec.ordered) lane.held.set(record.partitionKey, lane.held.get(record.partitionKey) ?? []);
      this.scheduleRetry(job, p.nextAt);
    }
    return restored;
  }

  whenBelow(limit: number): Promise<void> {
    if (this.backlog < limit) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push({ limit, resolve }));
  }

  private notifyDrain(): void {
    for (let i = this.drainWaiters.length - 1; i >= 0; i--) {
      const w = this.drainWaiters[i]!;
      if (this.backlog < w.limit) {
        this.drainWaiters.splice(i, 1);
        w.resolve();
      }
    }
    if (this.active === 0) this.idle?.();
  }

  async close(options: { readonly drain?: boolean } = {}): Promise<void> {
    this.closed = true;
    if (!options.drain) this.shutdown.abort();
    if (this.retryTimer) clearTimeout(this.retryTimer);
    for (const lane of this.lanes.values()) if (lane.wake) clearTimeout(lane.wake);
    if (this.active > 0) await new Promise<void>((resolve) => (this.idle = resolve));
    await this.o.writer.flush();
  }

  private traceChange(job: DeliveryJob, kind: TraceEntry['kind'], detail?: Record<string, unknown>): DeliveryChange {
    const flags = { ...(job.replayed ? { replayed: true } : {}), ...(job.redriven ? { redriven: true } : {}) };
    return {
      kind: 'trace',
      entry: {
        source: job.key.source,
        id: job.key.id,
        offset: job.record.offset,
        at: this.o.clock.now(),
        kind,
        rule: job.rule,
        target: job.target,
        attempt: kind === 'attempt' ? job.attempts : undefined,
        detail: detail || job.replayed || job.redriven ? { ...detail, ...flags } : undefined,
      },
    };
  }

  private trace(job: DeliveryJob, kind: TraceEntry['kind'], detail?: Record<string, unknown>): void {
    this.o.writer.write([this.traceChange(job, kind, detail)]).catch((err: unknown) => this.o.onError?.(err));
  }
}

/** Tells the router once that the job's first outcome is durable. */
function settle(job: DeliveryJob): void {
  const settled = job.settled;
  job.settled = undefined;
  settled?.();
}

/** The key target of a replay's deliveries: `<target>#replay-<id>`, so each replay is delivered once. */
export function replayTarget(target: string, replayId: string): string {
  return `${target}#replay-${replayId}`;
}

/** The target id a delivery key's target names (replay suffix removed). */
export function targetOfKey(keyTarget: string): string {
  const at = keyTarget.indexOf('#replay-');
  return at < 0 ? keyTarget : keyTarget.slice(0, at);
}

function gone(job: DeliveryJob): SerializedError {
  return { code: 'E_GONE', message: `rule '${job.rule}' or its target '${job.target}' no longer exists` };
}

function expiredRecord(key: DeliveryKey, offset: number): LogRecord {
  return {
    offset,
    partition: 0,
    partitionKey: key.source,
    appendedAt: 0,
    event: { specversion: '1.0', id: key.id, source: key.source, type: 'homeostat.unknown' },
  };
}

export function createDispatcher(options: DispatcherOptions): Dispatcher {
  return new DispatcherImpl(options);
}
