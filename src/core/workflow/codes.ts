/** @module The error codes a workflow step or run can record (data in step records and events, not thrown errors). */

/**
 * Codes of the `SerializedError`s the workflow runner records; an action step's own failure keeps
 * the action's code (E_HTTP_STATUS, E_EXEC_EXIT, ...). Keep docs/WORKFLOWS.md in step.
 */
export const WorkflowErrorCode = {
  /** An expression failed at run time (missing field, wrong type, a condition that is not a bool). */
  EXPRESSION: 'E_EXPRESSION',
  /** The step names an action this server does not have (it was removed from the config). */
  ACTION_UNKNOWN: 'E_ACTION_UNKNOWN',
  /** A rendered `waitForEvent.match` is not a valid pattern. */
  PATTERN: 'E_PATTERN',
  /** A `waitForEvent` step saw no matching event within its timeout. */
  WAIT_TIMEOUT: 'E_WAIT_TIMEOUT',
  /** An approval step was rejected. */
  APPROVAL_REJECTED: 'E_APPROVAL_REJECTED',
  /** An approval step's request expired before anyone decided. */
  APPROVAL_EXPIRED: 'E_APPROVAL_EXPIRED',
  /** The run passed its `spec.timeout`. */
  WORKFLOW_TIMEOUT: 'E_WORKFLOW_TIMEOUT',
  /** The run was cancelled (`POST /v1/runs/{id}/cancel`). */
  CANCELLED: 'E_CANCELLED',
  /** A parallel branch failed, so this branch's step was stopped. */
  SIBLING_FAILED: 'E_SIBLING_FAILED',
  /** The stored run could not be resumed (its manifest no longer validates). */
  RESUME: 'E_RESUME',
} as const;
export type WorkflowErrorCode = (typeof WorkflowErrorCode)[keyof typeof WorkflowErrorCode];
