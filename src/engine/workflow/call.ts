/**
 * @module Runs one action call of a workflow (a step's `action`, or a `compensate`): renders its
 * `with` and `payload` once (recorded as the step's input), then delivers through the action
 * registry with the idempotency key `<run id>/<step path>` and retries per the call's policy. The
 * attempt count is recorded before each attempt and the backoff deadline while waiting, so after a
 * restart the attempts go on from where they were (an attempt cut short by the crash runs again,
 * with the same key: at least once, with idempotent effect).
 */
import { WorkflowErrorCode } from '../../core/workflow/codes.js';
import type { ActionCall } from '../../core/workflow/types.js';
import type { DeliveryOutcome, SerializedError } from '../../ports/target.js';
import type { TargetSpec } from '../../core/rules/types.js';
import type { StepRecord } from '../../ports/workflow-store.js';
import { bindings, type RunContext, save, sleepUntil, stepError, stopOf } from './context.js';
import { triggerRecord } from './events.js';

/** What an action step records as its input. */
export interface CallInput {
  readonly action: string;
  readonly with: Readonly<Record<string, unknown>>;
  readonly payload: unknown;
}

/** Extra time the runner gives an action past its own timeout before aborting the attempt. */
const SAFETY_MARGIN_MS = 1_000;

/** Renders a call's `with` and `payload` against the run's current bindings; E_EXPRESSION on failure. */
export function renderCall(ctx: RunContext, call: ActionCall, pointer: string): CallInput {
  const b = bindings(ctx);
  const options = call.with.render(b);
  if (!options.ok)
    throw stepError(WorkflowErrorCode.EXPRESSION, `${pointer}/with${options.pointer}: ${options.message}`);
  const payload = call.payload ? call.payload.render(b) : { ok: true as const, value: ctx.run.input ?? null };
  if (!payload.ok) {
    throw stepError(WorkflowErrorCode.EXPRESSION, `${pointer}/payload${payload.pointer}: ${payload.message}`);
  }
  const withValue = options.value;
  if (typeof withValue !== 'object' || withValue === null || Array.isArray(withValue)) {
    throw stepError(WorkflowErrorCode.EXPRESSION, `${pointer}/with must render to an object`);
  }
  return { action: call.action, with: withValue as Record<string, unknown>, payload: payload.value };
}

/** attempt n (1-based) waits min(maxDelay, initialDelay * 2^(n-1)) before attempt n+1. */
export function backoffMs(call: ActionCall, attempts: number): number {
  return Math.min(call.retry.maxDelayMs, call.retry.initialDelayMs * 2 ** Math.max(0, attempts - 1));
}

function targetSpec(name: string, call: ActionCall, options: Readonly<Record<string, unknown>>): TargetSpec {
  return {
    id: name.replaceAll('/', '-'),
    action: call.action,
    with: options,
    retry: {
      maxAttempts: call.retry.maxAttempts,
      maxAgeMs: Number.MAX_SAFE_INTEGER,
      initialDelayMs: call.retry.initialDelayMs,
      maxDelayMs: call.retry.maxDelayMs,
    },
    concurrency: 1,
    ordered: false,
    circuitBreaker: { failureThreshold: 0, cooldownMs: 0 },
    timeoutMs: call.timeoutMs,
  };
}

function serialize(err: unknown): SerializedError {
  const e = err as { code?: unknown; message?: unknown };
  return { code: typeof e?.code === 'string' ? e.code : 'E_INTERNAL', message: String(e?.message ?? err) };
}

async function attempt(
  ctx: RunContext,
  record: StepRecord,
  call: ActionCall,
  input: CallInput,
  signal: AbortSignal,
): Promise<DeliveryOutcome> {
  const target = ctx.deps.targets().get(call.action);
  if (!target) {
    const known = [...ctx.deps.targets().keys()].sort().join(', ');
    return {
      ok: false,
      retry: 'no',
      error: { code: WorkflowErrorCode.ACTION_UNKNOWN, message: `unknown action '${call.action}'; known: ${known}` },
    };
  }
  const net = new AbortController();
  const timer = setTimeout(() => net.abort(), call.timeoutMs + SAFETY_MARGIN_MS);
  try {
    return await target.deliver({
      record: triggerRecord(ctx.run),
      rule: `workflow/${ctx.run.workflow}`,
      target: targetSpec(record.path, call, input.with),
      attempt: record.attempts,
      idempotencyKey: `${ctx.run.id}/${record.path}`,
      payload: input.payload,
      replayed: false,
      signal: AbortSignal.any([signal, net.signal]),
    });
  } catch (err) {
    return { ok: false, retry: 'yes', error: serialize(err) };
  } finally {
    clearTimeout(timer);
  }
}

function outputOf(outcome: Extract<DeliveryOutcome, { ok: true }>): unknown {
  const detail = { ...outcome.detail };
  return outcome.emitted?.length ? { ...detail, emitted: outcome.emitted } : detail;
}

/**
 * Runs the call's attempts for a started record (its input already rendered) and resolves with the
 * output; throws StepFailure after the last attempt, or the Stop when `signal` aborts.
 */
export async function runCall(
  ctx: RunContext,
  started: StepRecord,
  call: ActionCall,
  signal: AbortSignal,
): Promise<unknown> {
  const input = started.input as CallInput;
  let record = started;
  for (;;) {
    if (record.wakeAt !== undefined && !(await sleepUntil(ctx, record.wakeAt, signal))) throw stopOf(signal);
    const { wakeAt: _wake, ...rest } = record;
    record = await save(ctx, { ...rest, status: 'running', attempts: record.attempts + 1 });
    const outcome = await attempt(ctx, record, call, input, signal);
    if (signal.aborted) throw stopOf(signal);
    if (outcome.ok) return outputOf(outcome);
    if (outcome.retry === 'no' || record.attempts >= call.retry.maxAttempts) {
      const why = outcome.retry === 'no' ? 'not retryable' : `after ${record.attempts} attempts`;
      throw stepError(outcome.error.code, `${outcome.error.message} (${why})`, outcome.error.details);
    }
    const delay = Math.max(backoffMs(call, record.attempts), outcome.retryAfterMs ?? 0);
    record = await save(ctx, {
      ...record,
      status: 'waiting',
      error: outcome.error,
      wakeAt: ctx.deps.clock.now() + delay,
    });
  }
}
