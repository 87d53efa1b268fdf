/**
 * @module The state of one run while the runner drives it: its records, the expression bindings,
 * durable record writes (record + events in one transaction), stop reasons and clock-based sleeps.
 */
import type { Clock } from '../../core/clock.js';
import type { CloudEvent } from '../../core/event.js';
import type { StepSpec, WorkflowSpec } from '../../core/workflow/types.js';
import type { EventLog } from '../../ports/event-log.js';
import type { SerializedError, TargetRegistry } from '../../ports/target.js';
import type { RunRecord, StepRecord, WorkflowStore } from '../../ports/workflow-store.js';
import type { Approval, Approvals } from '../automation/types.js';
import { runEvent, WorkflowEventType } from './events.js';

/** What the runner needs from the service. */
export interface RunnerDeps {
  readonly store: WorkflowStore;
  readonly log: EventLog;
  readonly targets: () => TargetRegistry;
  readonly approvals: Approvals;
  readonly clock: Clock;
  /** Longest real-time sleep before the clock is read again (a manual clock in tests moves in jumps). */
  readonly pollMs: number;
  /** Something was written to the outbox. */
  readonly outboxChanged: () => void;
  /** Waiting approval steps by approval id; the approval handler calls them. */
  readonly approvalWaiters: Map<string, (approval: Approval) => void>;
}

/** Why a run's steps were stopped: the service closes, the run is cancelled or timed out, a parallel sibling failed. */
export class Stop extends Error {
  constructor(readonly kind: 'shutdown' | 'cancel' | 'timeout' | 'sibling') {
    super(`stopped: ${kind}`);
    this.name = 'Stop';
  }
}

/** A step failed (after its retries); `step` is the innermost failed step. */
export class StepFailure extends Error {
  constructor(
    readonly error: SerializedError,
    readonly step?: string,
  ) {
    super(error.message);
    this.name = 'StepFailure';
  }
}

export function stepError(code: string, message: string, details?: Readonly<Record<string, unknown>>): StepFailure {
  return new StepFailure(details === undefined ? { code, message } : { code, message, details });
}

export interface RunContext {
  readonly deps: RunnerDeps;
  run: RunRecord;
  readonly spec: WorkflowSpec;
  readonly records: Map<string, StepRecord>;
  order: number;
  doneOrder: number;
  /** Aborted with a Stop('cancel' | 'timeout'). */
  readonly cancel: AbortController;
  /** Aborted with Stop('shutdown') when the service closes. */
  readonly shutdown: AbortSignal;
  /** The signal forward steps run under: shutdown, cancel or timeout. */
  readonly signal: AbortSignal;
}

export const FINISHED: ReadonlySet<StepRecord['status']> = new Set(['succeeded', 'failed', 'skipped', 'cancelled']);

export function createRunContext(
  deps: RunnerDeps,
  run: RunRecord,
  spec: WorkflowSpec,
  records: readonly StepRecord[],
  shutdown: AbortSignal,
): RunContext {
  const cancel = new AbortController();
  return {
    deps,
    run,
    spec,
    records: new Map(records.map((r) => [r.path, r])),
    order: Math.max(0, ...records.map((r) => r.order)),
    doneOrder: Math.max(0, ...records.map((r) => r.doneOrder ?? 0)),
    cancel,
    shutdown,
    signal: AbortSignal.any([shutdown, cancel.signal]),
  };
}

/** The variables expressions see (docs/WORKFLOWS.md, "Expressions"). */
export function bindings(ctx: RunContext): Record<string, unknown> {
  const steps: Record<string, unknown> = {};
  for (const name of ctx.spec.byName.keys()) {
    const r = ctx.records.get(name);
    steps[name] = {
      status: r?.status ?? 'pending',
      output: r?.output ?? null,
      error: r?.error ?? null,
      attempts: r?.attempts ?? 0,
    };
  }
  const { run } = ctx;
  return {
    input: run.input ?? null,
    event: run.event ?? null,
    steps,
    run: { id: run.id, workflow: run.workflow, startedAt: new Date(run.startedAt).toISOString() },
    error: run.error ?? null,
  };
}

/** Writes a step record (and its events) durably and keeps it as the run's current one. */
export async function save(
  ctx: RunContext,
  record: StepRecord,
  events: readonly CloudEvent[] = [],
): Promise<StepRecord> {
  await ctx.deps.store.putStep(record, events);
  ctx.records.set(record.path, record);
  if (events.length > 0) ctx.deps.outboxChanged();
  return record;
}

export function newRecord(ctx: RunContext, path: string, kind: string, extra: Partial<StepRecord> = {}): StepRecord {
  return {
    runId: ctx.run.id,
    path,
    kind,
    status: 'running',
    attempts: 0,
    startedAt: ctx.deps.clock.now(),
    order: ++ctx.order,
    ...extra,
  };
}

function stepData(record: StepRecord): Record<string, unknown> {
  return {
    step: record.path,
    kind: record.kind,
    status: record.status,
    attempts: record.attempts,
    ...(record.output === undefined ? {} : { output: record.output }),
    ...(record.error === undefined ? {} : { error: record.error }),
  };
}

export async function complete(ctx: RunContext, record: StepRecord, output: unknown): Promise<StepRecord> {
  const now = ctx.deps.clock.now();
  const { wakeAt: _wake, error: _error, ...rest } = record;
  const done: StepRecord = {
    ...rest,
    status: 'succeeded',
    output: output ?? null,
    endedAt: now,
    doneOrder: ++ctx.doneOrder,
  };
  const event = runEvent(ctx.run, WorkflowEventType.stepCompleted, `${record.path}/completed`, now, stepData(done));
  return save(ctx, done, [event]);
}

export async function fail(
  ctx: RunContext,
  record: StepRecord,
  error: SerializedError,
  status: 'failed' | 'cancelled' = 'failed',
): Promise<StepRecord> {
  const now = ctx.deps.clock.now();
  const { wakeAt: _wake, ...rest } = record;
  const failed: StepRecord = { ...rest, status, error, endedAt: now };
  const events =
    status === 'failed'
      ? [runEvent(ctx.run, WorkflowEventType.stepFailed, `${record.path}/failed`, now, stepData(failed))]
      : [];
  return save(ctx, failed, events);
}

/**
 * Resolves true at `deadline` by the clock (re-reading it at least every `pollMs`), or false as soon
 * as `signal` aborts.
 */
export function sleepUntil(ctx: RunContext, deadline: number, signal: AbortSignal): Promise<boolean> {
  const { clock, pollMs } = ctx.deps;
  return new Promise((resolve) => {
    let timer: NodeJS.Timeout | undefined;
    const onAbort = (): void => {
      clearTimeout(timer);
      resolve(false);
    };
    const check = (): void => {
      const remaining = deadline - clock.now();
      if (remaining <= 0) {
        signal.removeEventListener('abort', onAbort);
        resolve(true);
        return;
      }
      timer = setTimeout(check, Math.min(remaining, pollMs));
    };
    if (signal.aborted) return resolve(false);
    signal.addEventListener('abort', onAbort, { once: true });
    check();
  });
}

/** The Stop a signal was aborted with (a bare abort counts as shutdown). */
export function stopOf(signal: AbortSignal): Stop {
  return signal.reason instanceof Stop ? signal.reason : new Stop('shutdown');
}

export function stepOf(ctx: RunContext, path: string): StepSpec | undefined {
  return ctx.spec.byName.get(path);
}
