/**
 * @module The events a workflow run publishes (`homeostat.workflow.*`) and the synthetic log record
 * its actions receive as their trigger. Ids are derived from the run id and step path, so an
 * event written twice (a retried outbox publish) is a duplicate the log suppresses.
 */
import type { CloudEvent } from '../../core/event.js';
import type { LogRecord } from '../../ports/event-log.js';
import type { RunRecord } from '../../ports/workflow-store.js';

export const WorkflowEventType = {
  started: 'homeostat.workflow.started',
  stepCompleted: 'homeostat.workflow.step.completed',
  stepFailed: 'homeostat.workflow.step.failed',
  waitingApproval: 'homeostat.workflow.waiting-approval',
  completed: 'homeostat.workflow.completed',
  failed: 'homeostat.workflow.failed',
  cancelled: 'homeostat.workflow.cancelled',
} as const;
export type WorkflowEventType = (typeof WorkflowEventType)[keyof typeof WorkflowEventType];

/** `homeostat/workflows/<name>`: the source of a workflow's events. */
export function workflowSource(workflow: string): string {
  return `homeostat/workflows/${workflow}`;
}

/** One event of a run: id `<run id>/<suffix>`, caused by the run's trigger. */
export function runEvent(
  run: RunRecord,
  type: WorkflowEventType,
  suffix: string,
  at: number,
  data: Readonly<Record<string, unknown>> = {},
): CloudEvent {
  const trigger = run.event;
  const correlation = typeof trigger?.correlationid === 'string' ? trigger.correlationid : (run.cause ?? run.id);
  return {
    specversion: '1.0',
    id: `${run.id}/${suffix}`,
    source: workflowSource(run.workflow),
    type,
    subject: `workflow/${run.workflow}`,
    time: new Date(at).toISOString(),
    datacontenttype: 'application/json',
    data: { run: run.id, workflow: run.workflow, ...data },
    ...(run.cause === undefined ? {} : { causationid: run.cause }),
    correlationid: correlation,
    ...(typeof trigger?.traceparent === 'string' ? { traceparent: trigger.traceparent } : {}),
  };
}

/** The run's `started` event (deterministic: rebuilt the same after a restart). */
export function startedEvent(run: RunRecord): CloudEvent {
  return runEvent(run, WorkflowEventType.started, 'started', run.startedAt, {
    generation: run.generation,
    input: run.input ?? null,
  });
}

/**
 * What a step's action sees as its trigger: the run's `started` event, so events the action emits
 * are caused by the run (whose own cause is the triggering event). Offset -1: not read from the log.
 */
export function triggerRecord(run: RunRecord): LogRecord {
  return {
    offset: -1,
    partition: 0,
    partitionKey: `workflow/${run.workflow}`,
    appendedAt: run.startedAt,
    event: startedEvent(run),
  };
}
