/** @module How runs, steps and workflows are shown over the API (times as RFC 3339, durations in ms). */
import type { WorkflowSpec } from '../../core/workflow/types.js';
import type { StoredRule } from '../../ports/rule-store.js';
import type { RunRecord, StepRecord } from '../../ports/workflow-store.js';

const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());

function defined(o: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
}

/**
 * A workflow as listed: name, description, step count, timeoutMs, generation, times and the
 * manifest; `invalid` says why a stored manifest no longer validates (e.g. an action was removed).
 */
export function workflowInfo(
  stored: StoredRule,
  spec: WorkflowSpec | undefined,
  invalid?: string,
): Record<string, unknown> {
  return defined({
    name: stored.name,
    description: spec?.description,
    steps: spec?.byName.size,
    timeoutMs: spec?.timeoutMs,
    generation: stored.generation,
    createdAt: iso(stored.createdAt),
    updatedAt: iso(stored.updatedAt),
    manifest: stored.manifest,
    invalid,
  });
}

/** The list entry of a run. */
export function runSummary(run: RunRecord): Record<string, unknown> {
  return defined({
    id: run.id,
    workflow: run.workflow,
    generation: run.generation,
    status: run.status,
    cause: run.cause,
    error: run.error,
    startedAt: iso(run.startedAt),
    endedAt: iso(run.endedAt),
    durationMs: run.endedAt === undefined ? undefined : run.endedAt - run.startedAt,
    deadline: iso(run.deadline),
  });
}

export function stepView(step: StepRecord): Record<string, unknown> {
  return defined({
    path: step.path,
    kind: step.kind,
    status: step.status,
    attempts: step.attempts,
    input: step.input,
    output: step.output,
    error: step.error,
    startedAt: iso(step.startedAt),
    endedAt: iso(step.endedAt),
    durationMs: step.endedAt === undefined ? undefined : step.endedAt - step.startedAt,
    wakeAt: iso(step.wakeAt),
    approval: typeof step.state?.approval === 'string' ? step.state.approval : undefined,
    branch: typeof step.state?.branch === 'string' ? step.state.branch : undefined,
  });
}

/** A run in full: the summary, its input and trigger, and every step record in start order. */
export function runDetail(run: RunRecord, steps: readonly StepRecord[]): Record<string, unknown> {
  return defined({
    ...runSummary(run),
    input: run.input,
    event: run.event === undefined ? undefined : { id: run.event.id, source: run.event.source, type: run.event.type },
    steps: steps.map(stepView),
  });
}
