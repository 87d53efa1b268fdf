/**
 * @module The workflow runner: drives one run through its steps, durably.
 *
 * Invariants:
 * - A step's start (with its rendered input) is recorded before it runs, and its outcome before
 *   the next step starts. A step whose record is finished (succeeded, failed, skipped, cancelled)
 *   is never run again; a started one runs again after a restart (same idempotency key).
 * - A failure (after the step's retries, unless `continueOnError`) stops the forward steps; the run
 *   becomes `compensating`, runs the `compensate` call of every succeeded step in reverse order of
 *   completion (each once, recorded as `<step>/compensate`), then ends `failed`.
 * - Parallel branches run concurrently; the first failing branch stops its siblings (their
 *   running steps end `cancelled`).
 * - A Stop('shutdown') leaves records as they are (the run resumes at the next start); a cancel
 *   marks running steps `cancelled` and ends the run without compensation.
 */
import { WorkflowErrorCode } from '../../core/workflow/codes.js';
import { isTrue } from '../../core/workflow/expr.js';
import type { BranchStep, ParallelStep, StepSpec } from '../../core/workflow/types.js';
import type { SerializedError } from '../../ports/target.js';
import type { RunStatus, StepRecord } from '../../ports/workflow-store.js';
import { renderCall, runCall } from './call.js';
import {
  bindings,
  complete,
  fail,
  FINISHED,
  newRecord,
  type RunContext,
  save,
  sleepUntil,
  Stop,
  StepFailure,
  stepError,
  stopOf,
} from './context.js';
import { runEvent, WorkflowEventType } from './events.js';
import { prepareApproval, prepareWaitForEvent, runApproval, runWait, runWaitForEvent } from './waits.js';

const STOP_ERRORS: Readonly<Record<Stop['kind'], SerializedError>> = {
  shutdown: { code: 'E_ABORTED', message: 'stopped by shutdown' },
  cancel: { code: WorkflowErrorCode.CANCELLED, message: 'the run was cancelled' },
  timeout: { code: WorkflowErrorCode.WORKFLOW_TIMEOUT, message: 'the run passed its spec.timeout' },
  sibling: { code: WorkflowErrorCode.SIBLING_FAILED, message: 'a parallel branch failed, so this one was stopped' },
};

function evaluateCondition(source: string, evaluate: () => ReturnType<BranchStep['condition']['evaluate']>): boolean {
  const r = evaluate();
  if (!r.ok) throw stepError(WorkflowErrorCode.EXPRESSION, r.message);
  if (typeof r.value !== 'boolean') {
    throw stepError(WorkflowErrorCode.EXPRESSION, `${source}: must be true or false, got ${JSON.stringify(r.value)}`);
  }
  return isTrue(r.value);
}

/** What a step records when it starts: its rendered input, and for waits their deadline and state. */
async function prepare(ctx: RunContext, step: StepSpec): Promise<Partial<StepRecord>> {
  const now = ctx.deps.clock.now();
  switch (step.kind) {
    case 'action':
      return { input: renderCall(ctx, step.call, step.pointer) };
    case 'branch': {
      const value = evaluateCondition(step.condition.source, () => step.condition.evaluate(bindings(ctx)));
      return { input: { if: step.condition.source }, state: { branch: value ? 'then' : 'else' } };
    }
    case 'wait':
      return { input: { waitMs: step.durationMs }, wakeAt: now + step.durationMs, status: 'waiting' };
    case 'waitForEvent':
      return prepareWaitForEvent(ctx, step);
    case 'parallel':
      return { input: { branches: step.branches.length } };
    case 'approval':
      return prepareApproval(ctx, step);
  }
}

async function execute(ctx: RunContext, step: StepSpec, record: StepRecord, signal: AbortSignal): Promise<unknown> {
  switch (step.kind) {
    case 'action':
      return runCall(ctx, record, step.call, signal);
    case 'branch': {
      const branch = record.state?.branch === 'then' ? 'then' : 'else';
      await runSteps(ctx, branch === 'then' ? step.then : step.else, signal);
      return { branch };
    }
    case 'wait':
      return runWait(ctx, record, signal);
    case 'waitForEvent':
      return runWaitForEvent(ctx, step, record, signal);
    case 'parallel':
      return runParallel(ctx, step, signal);
    case 'approval':
      return runApproval(ctx, record, signal);
  }
}

export async function runSteps(ctx: RunContext, steps: readonly StepSpec[], signal: AbortSignal): Promise<void> {
  for (const step of steps) await runStep(ctx, step, signal);
}

/** Starts the step's record: skipped when its guard is false, failed when its input cannot be rendered. */
async function begin(ctx: RunContext, step: StepSpec): Promise<StepRecord | undefined> {
  try {
    if (step.when) {
      const run = evaluateCondition(step.when.source, () => step.when!.evaluate(bindings(ctx)));
      if (!run) {
        const now = ctx.deps.clock.now();
        await save(
          ctx,
          newRecord(ctx, step.name, step.kind, { status: 'skipped', input: { if: step.when.source }, endedAt: now }),
        );
        return undefined;
      }
    }
    return await save(ctx, newRecord(ctx, step.name, step.kind, await prepare(ctx, step)));
  } catch (err) {
    if (!(err instanceof StepFailure)) throw err;
    const failed = await fail(ctx, newRecord(ctx, step.name, step.kind), err.error);
    return failed;
  }
}

async function runStep(ctx: RunContext, step: StepSpec, signal: AbortSignal): Promise<void> {
  let record = ctx.records.get(step.name);
  if (record === undefined || !FINISHED.has(record.status)) {
    if (signal.aborted) throw stopOf(signal);
    record ??= await begin(ctx, step);
    if (record === undefined) return;
    if (!FINISHED.has(record.status)) record = await attempt(ctx, step, record, signal);
  }
  if (record.status === 'failed' && !step.continueOnError) {
    throw new StepFailure(record.error ?? { code: 'E_INTERNAL', message: 'failed' }, failedStep(ctx, step));
  }
}

/** The innermost failed step under `step` (the step itself when it has no failed children). */
function failedStep(ctx: RunContext, step: StepSpec): string {
  const children =
    step.kind === 'branch' ? [...step.then, ...step.else] : step.kind === 'parallel' ? step.branches.flat() : [];
  for (const child of children) {
    const r = ctx.records.get(child.name);
    if (r?.status === 'failed' && !child.continueOnError) return failedStep(ctx, child);
  }
  return step.name;
}

async function attempt(ctx: RunContext, step: StepSpec, record: StepRecord, signal: AbortSignal): Promise<StepRecord> {
  try {
    const output = await execute(ctx, step, record, signal);
    return await complete(ctx, ctx.records.get(step.name) ?? record, output);
  } catch (err) {
    const current = ctx.records.get(step.name) ?? record;
    if (err instanceof StepFailure) return fail(ctx, current, err.error);
    if (!(err instanceof Stop) || err.kind === 'shutdown') throw err;
    if (err.kind === 'timeout') return fail(ctx, current, STOP_ERRORS.timeout);
    await fail(ctx, current, STOP_ERRORS[err.kind], 'cancelled');
    throw err;
  }
}

async function runParallel(ctx: RunContext, step: ParallelStep, signal: AbortSignal): Promise<unknown> {
  const controllers = step.branches.map(() => new AbortController());
  const results = await Promise.allSettled(
    step.branches.map((branch, i) =>
      runSteps(ctx, branch, AbortSignal.any([signal, controllers[i]!.signal])).catch((err: unknown) => {
        if (err instanceof StepFailure) controllers.forEach((c, j) => j !== i && c.abort(new Stop('sibling')));
        throw err;
      }),
    ),
  );
  if (signal.aborted) throw stopOf(signal);
  const failures = results.flatMap((r, i) => (r.status === 'rejected' ? [{ i, err: r.reason as unknown }] : []));
  const failed = failures.find((f) => f.err instanceof StepFailure);
  if (failed) {
    const f = failed.err as StepFailure;
    throw new StepFailure({ ...f.error, message: `branch ${failed.i} failed at step '${f.step}': ${f.error.message}` });
  }
  const other = failures.find((f) => !(f.err instanceof Stop));
  if (other) throw other.err;
  return { branches: step.branches.length };
}

/** Runs the compensations of succeeded steps, latest first; each at most once. Returns those that failed. */
export async function compensate(ctx: RunContext): Promise<string[]> {
  const done = [...ctx.records.values()]
    .filter((r) => r.status === 'succeeded' && ctx.spec.byName.get(r.path)?.compensate)
    .sort((a, b) => (b.doneOrder ?? 0) - (a.doneOrder ?? 0));
  const failed: string[] = [];
  for (const r of done) {
    const call = ctx.spec.byName.get(r.path)!.compensate!;
    const path = `${r.path}/compensate`;
    let record = ctx.records.get(path);
    if (record === undefined) {
      try {
        record = await save(
          ctx,
          newRecord(ctx, path, 'compensate', {
            input: renderCall(ctx, call, `${ctx.spec.byName.get(r.path)!.pointer}/compensate`),
          }),
        );
      } catch (err) {
        if (!(err instanceof StepFailure)) throw err;
        record = await fail(ctx, newRecord(ctx, path, 'compensate'), err.error);
      }
    }
    if (!FINISHED.has(record.status)) {
      try {
        record = await complete(ctx, record, await runCall(ctx, record, call, ctx.shutdown));
      } catch (err) {
        if (!(err instanceof StepFailure)) throw err;
        record = await fail(ctx, ctx.records.get(path) ?? record, err.error);
      }
    }
    if (record.status === 'failed') failed.push(r.path);
  }
  return failed;
}

const FINAL_EVENTS = {
  succeeded: [WorkflowEventType.completed, 'completed'],
  failed: [WorkflowEventType.failed, 'failed'],
  cancelled: [WorkflowEventType.cancelled, 'cancelled'],
} as const;

async function setStatus(ctx: RunContext, status: RunStatus, error?: RunContext['run']['error']): Promise<void> {
  const now = ctx.deps.clock.now();
  const final =
    status === 'succeeded' || status === 'failed' || status === 'cancelled' ? FINAL_EVENTS[status] : undefined;
  const change = { status, ...(error ? { error } : {}), ...(final ? { endedAt: now } : {}) };
  const data = { status, ...(error ? { error } : {}), durationMs: now - ctx.run.startedAt };
  const events = final ? [runEvent(ctx.run, final[0], final[1], now, data)] : [];
  await ctx.deps.store.updateRun(ctx.run.id, change, events);
  ctx.run = { ...ctx.run, ...change };
  if (events.length > 0) ctx.deps.outboxChanged();
}

/** Aborts the run with Stop('timeout') at its deadline; returns a function that stops watching. */
function watchDeadline(ctx: RunContext): () => void {
  const { deadline } = ctx.run;
  const done = new AbortController();
  if (deadline === undefined) return () => undefined;
  const signal = AbortSignal.any([ctx.signal, done.signal]);
  void sleepUntil(ctx, deadline, signal).then((reached) => reached && ctx.cancel.abort(new Stop('timeout')));
  return () => done.abort();
}

/**
 * Drives a run to its end (or until shutdown): forward steps while `running`, then compensation
 * when `compensating`. Resolves when the run ended or was stopped by shutdown; rejects only on a
 * storage failure (the run is then resumed at the next start).
 */
export async function drive(ctx: RunContext): Promise<void> {
  try {
    if (ctx.run.status === 'running') await forward(ctx);
    if (ctx.run.status !== 'compensating') return;
    const failed = await compensate(ctx);
    const note = failed.length > 0 ? `; compensation failed for ${failed.join(', ')}` : '';
    const error = ctx.run.error ?? { code: 'E_INTERNAL', message: 'failed' };
    await setStatus(ctx, 'failed', { ...error, message: `${error.message}${note}` });
  } catch (err) {
    if (err instanceof Stop && err.kind === 'shutdown') return;
    throw err;
  }
}

/** Runs the forward steps; ends the run succeeded or cancelled, or makes it compensating. */
async function forward(ctx: RunContext): Promise<void> {
  const unwatch = watchDeadline(ctx);
  try {
    await runSteps(ctx, ctx.spec.steps, ctx.signal);
    return setStatus(ctx, 'succeeded');
  } catch (err) {
    if (err instanceof Stop && err.kind === 'cancel') return setStatus(ctx, 'cancelled', { ...STOP_ERRORS.cancel });
    if (err instanceof Stop && err.kind === 'timeout')
      return setStatus(ctx, 'compensating', { ...STOP_ERRORS.timeout });
    if (!(err instanceof StepFailure)) throw err;
    return setStatus(ctx, 'compensating', { ...err.error, ...(err.step ? { step: err.step } : {}) });
  } finally {
    unwatch();
  }
}
