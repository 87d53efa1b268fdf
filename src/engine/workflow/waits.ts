/**
 * @module The steps that wait: `wait` (a duration), `waitForEvent` (an event matching a pattern,
 * read from the log from an offset recorded when the wait began, so events appended while the
 * process was down still count) and `approval` (a durable approval request). Deadlines are stored
 * as times, so a resumed wait only waits for what is left.
 */
import { hasCode } from '../../core/errors.js';
import { matchPattern, parsePattern } from '../../core/pattern/index.js';
import type { Pattern } from '../../core/pattern/types.js';
import { WorkflowErrorCode } from '../../core/workflow/codes.js';
import type { ApprovalStep, WaitForEventStep } from '../../core/workflow/types.js';
import type { LogRecord } from '../../ports/event-log.js';
import type { StepRecord } from '../../ports/workflow-store.js';
import type { Approval } from '../automation/types.js';
import { bindings, type RunContext, save, sleepUntil, stepError, stopOf } from './context.js';
import { runEvent, WorkflowEventType } from './events.js';

/** The approval kind workflows use. */
export const WORKFLOW_APPROVAL_KIND = 'workflow';
/** Approval summaries are one line for humans; longer rendered ones are cut. */
const MAX_SUMMARY = 500;

export async function runWait(ctx: RunContext, record: StepRecord, signal: AbortSignal): Promise<unknown> {
  const until = record.wakeAt ?? ctx.deps.clock.now();
  if (!(await sleepUntil(ctx, until, signal))) throw stopOf(signal);
  return { until: new Date(until).toISOString() };
}

/** Renders the pattern and notes where in the log the wait begins. */
export async function prepareWaitForEvent(ctx: RunContext, step: WaitForEventStep): Promise<Partial<StepRecord>> {
  const rendered = step.match.render(bindings(ctx));
  if (!rendered.ok) {
    throw stepError(
      WorkflowErrorCode.EXPRESSION,
      `${step.pointer}/waitForEvent/match${rendered.pointer}: ${rendered.message}`,
    );
  }
  try {
    parsePattern(rendered.value);
  } catch (err) {
    const problems = hasCode(err, 'E_INVALID')
      ? err.problems.map((p) => `${p.pointer || '/'}: ${p.message}`)
      : [String(err)];
    throw stepError(WorkflowErrorCode.PATTERN, `the rendered pattern is not valid: ${problems.join('; ')}`, {
      match: rendered.value,
    });
  }
  const fromOffset = step.since === 'run' ? ctx.run.startOffset : (await ctx.deps.log.stats()).nextOffset;
  const now = ctx.deps.clock.now();
  return {
    input: {
      match: rendered.value,
      ...(step.timeoutMs === undefined ? {} : { timeoutMs: step.timeoutMs }),
      since: step.since,
    },
    state: { fromOffset },
    ...(step.timeoutMs === undefined ? {} : { wakeAt: now + step.timeoutMs }),
    status: 'waiting',
  };
}

/** Only the types a pattern lists as plain strings, to narrow the log query; undefined when it has others. */
function literalTypes(pattern: Pattern): string[] | undefined {
  const types = pattern.source.type;
  return Array.isArray(types) && types.length > 0 && types.every((t) => typeof t === 'string') ? types : undefined;
}

async function firstMatch(
  ctx: RunContext,
  pattern: Pattern,
  from: number,
  signal: AbortSignal,
): Promise<LogRecord | undefined> {
  const types = literalTypes(pattern);
  for await (const rec of ctx.deps.log.follow({ from, signal, ...(types ? { types } : {}) })) {
    if (matchPattern(pattern, rec.event)) return rec;
  }
  return undefined;
}

export async function runWaitForEvent(
  ctx: RunContext,
  step: WaitForEventStep,
  record: StepRecord,
  signal: AbortSignal,
): Promise<unknown> {
  const input = record.input as { match: unknown };
  const pattern = parsePattern(input.match);
  const from = Number(record.state?.fromOffset ?? 0);
  const local = new AbortController();
  const both = AbortSignal.any([signal, local.signal]);
  try {
    const found = firstMatch(ctx, pattern, from, both);
    const timeout =
      record.wakeAt === undefined ? new Promise<boolean>(() => undefined) : sleepUntil(ctx, record.wakeAt, both);
    const winner = await Promise.race([found.then((rec) => ({ rec })), timeout.then((reached) => ({ reached }))]).catch(
      (err: unknown) => {
        // The log closes on shutdown: that is a stop, not a failure of the step.
        throw signal.aborted ? stopOf(signal) : err;
      },
    );
    if (signal.aborted) throw stopOf(signal);
    if ('rec' in winner && winner.rec) return { event: winner.rec.event, offset: winner.rec.offset };
    if (step.onTimeout === 'continue') return { timedOut: true };
    const after = `${Math.round((step.timeoutMs ?? 0) / 1000)} s`;
    throw stepError(WorkflowErrorCode.WAIT_TIMEOUT, `no event matched ${JSON.stringify(input.match)} within ${after}`, {
      match: input.match,
    });
  } finally {
    local.abort();
  }
}

export function prepareApproval(ctx: RunContext, step: ApprovalStep): Partial<StepRecord> {
  const summary = step.summary.render(bindings(ctx));
  if (!summary.ok)
    throw stepError(WorkflowErrorCode.EXPRESSION, `${step.pointer}/approval/summary: ${summary.message}`);
  const full = typeof summary.value === 'string' ? summary.value : JSON.stringify(summary.value);
  const text = full.length > MAX_SUMMARY ? `${full.slice(0, MAX_SUMMARY - 1)}…` : full;
  const now = ctx.deps.clock.now();
  return {
    input: { summary: text, ...(step.timeoutMs === undefined ? {} : { timeoutMs: step.timeoutMs }) },
    ...(step.timeoutMs === undefined ? {} : { wakeAt: now + step.timeoutMs }),
  };
}

/** The approval of a step: the one recorded, else one requested before a crash, else a new one. */
async function approvalOf(ctx: RunContext, record: StepRecord): Promise<{ approval: Approval; record: StepRecord }> {
  const { approvals } = ctx.deps;
  const ref = `${ctx.run.id}/${record.path}`;
  const id = record.state?.approval;
  const known = typeof id === 'string' ? await approvals.get(id) : undefined;
  if (known) return { approval: known, record };
  const earlier = (await approvals.list({ kind: WORKFLOW_APPROVAL_KIND })).find((a) => a.ref === ref);
  const approval =
    earlier ??
    (await approvals.request({
      kind: WORKFLOW_APPROVAL_KIND,
      ref,
      summary: String((record.input as { summary?: unknown }).summary),
      payload: { run: ctx.run.id, workflow: ctx.run.workflow, step: record.path },
      ...(record.wakeAt === undefined ? {} : { expiresAt: record.wakeAt }),
    }));
  const now = ctx.deps.clock.now();
  const event = runEvent(ctx.run, WorkflowEventType.waitingApproval, `${record.path}/waiting-approval`, now, {
    step: record.path,
    approval: approval.id,
    summary: approval.summary,
    ...(approval.expiresAt === undefined ? {} : { expiresAt: new Date(approval.expiresAt).toISOString() }),
  });
  const waiting = await save(ctx, { ...record, status: 'waiting', state: { approval: approval.id } }, [event]);
  return { approval, record: waiting };
}

function decision(ctx: RunContext, id: string, signal: AbortSignal): Promise<Approval> {
  const waiters = ctx.deps.approvalWaiters;
  return new Promise((resolve, reject) => {
    const done = (a: Approval): void => {
      if (a.status === 'pending') return;
      waiters.delete(id);
      signal.removeEventListener('abort', onAbort);
      resolve(a);
    };
    const onAbort = (): void => {
      waiters.delete(id);
      reject(stopOf(signal));
    };
    if (signal.aborted) return onAbort();
    waiters.set(id, done);
    signal.addEventListener('abort', onAbort, { once: true });
    // A decision taken before the waiter existed (while the run was resuming) is read here.
    ctx.deps.approvals.get(id).then((a) => a && done(a), reject);
  });
}

export async function runApproval(ctx: RunContext, started: StepRecord, signal: AbortSignal): Promise<unknown> {
  const { approval } = await approvalOf(ctx, started);
  const decided = approval.status === 'pending' ? await decision(ctx, approval.id, signal) : approval;
  const who = { approval: decided.id, by: decided.decidedBy ?? null, comment: decided.comment ?? null };
  if (decided.status === 'approved') return { approved: true, ...who };
  if (decided.status === 'expired') {
    throw stepError(WorkflowErrorCode.APPROVAL_EXPIRED, `approval ${decided.id} expired before anyone decided`, who);
  }
  const comment = decided.comment ? `: ${decided.comment}` : '';
  throw stepError(
    WorkflowErrorCode.APPROVAL_REJECTED,
    `approval ${decided.id} was rejected by ${decided.decidedBy}${comment}`,
    who,
  );
}
