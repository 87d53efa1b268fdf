/**
 * @module The workflow model: a validated `kind: Workflow` manifest in its resolved form (defaults
 * applied, durations in ms, expressions compiled, frozen). Produced by `parseWorkflowManifest`.
 */
import type { Expression } from './expr.js';
import type { JsonTemplate } from './template.js';

export const WORKFLOW_API_VERSION = 'homeostat/v1';
export const WORKFLOW_KIND = 'Workflow';

/** The step kinds; a step has exactly one of these fields (`if` with `then` is a `branch`). */
export const StepKind = {
  action: 'action',
  branch: 'branch',
  wait: 'wait',
  waitForEvent: 'waitForEvent',
  parallel: 'parallel',
  approval: 'approval',
} as const;
export type StepKind = (typeof StepKind)[keyof typeof StepKind];

/** How a failed action attempt is retried: attempt n waits min(maxDelay, initialDelay * 2^(n-1)). */
export interface StepRetry {
  /** Attempts in all, the first included. Default 3; 1 means no retry. */
  readonly maxAttempts: number;
  /** Default 1,000. */
  readonly initialDelayMs: number;
  /** Default 60,000. */
  readonly maxDelayMs: number;
}

/** One call of an action (a step's own call, or its compensation). */
export interface ActionCall {
  readonly action: string;
  /** The action's options; `${...}` expressions are rendered before each run of the step. */
  readonly with: JsonTemplate;
  /** What the action receives as its payload (http body, exec stdin, emit data). Default: the run's input. */
  readonly payload?: JsonTemplate;
  readonly retry: StepRetry;
  /** Per-attempt timeout. Default 30,000. */
  readonly timeoutMs: number;
}

interface StepBase {
  /** Unique in the workflow; `steps.<name>` in expressions, part of idempotency keys. */
  readonly name: string;
  /** Where the step is in the manifest, e.g. `/spec/steps/2/then/0`. */
  readonly pointer: string;
  /** A guard: when it evaluates to false the step is skipped (status `skipped`). */
  readonly when?: Expression;
  /** When true a failure of this step is recorded and the workflow goes on. Default false. */
  readonly continueOnError: boolean;
  /** Undoes the step's effect when a later step fails (run in reverse order of completion). */
  readonly compensate?: ActionCall;
}

export interface ActionStep extends StepBase {
  readonly kind: typeof StepKind.action;
  readonly call: ActionCall;
}

export interface BranchStep extends StepBase {
  readonly kind: typeof StepKind.branch;
  readonly condition: Expression;
  readonly then: readonly StepSpec[];
  readonly else: readonly StepSpec[];
}

export interface WaitStep extends StepBase {
  readonly kind: typeof StepKind.wait;
  readonly durationMs: number;
}

export interface WaitForEventStep extends StepBase {
  readonly kind: typeof StepKind.waitForEvent;
  /** An EventBridge pattern; strings may hold `${...}` (rendered when the wait begins). */
  readonly match: JsonTemplate;
  /** Give up after this long; undefined waits until the run's own timeout. */
  readonly timeoutMs?: number;
  /** 'fail' (default) fails the step at the timeout; 'continue' completes it with `{ timedOut: true }`. */
  readonly onTimeout: 'fail' | 'continue';
  /** Where the wait starts reading the log: when the step starts (default) or when the run started. */
  readonly since: 'step' | 'run';
}

export interface ParallelStep extends StepBase {
  readonly kind: typeof StepKind.parallel;
  readonly branches: readonly (readonly StepSpec[])[];
}

export interface ApprovalStep extends StepBase {
  readonly kind: typeof StepKind.approval;
  /** One line for the approver; may hold `${...}`. */
  readonly summary: JsonTemplate;
  /** After this long the request expires (the step fails). Undefined: no expiry. */
  readonly timeoutMs?: number;
}

export type StepSpec = ActionStep | BranchStep | WaitStep | WaitForEventStep | ParallelStep | ApprovalStep;

export interface WorkflowSpec {
  readonly name: string;
  readonly description?: string;
  /** The whole run's deadline from its start; undefined for none. */
  readonly timeoutMs?: number;
  readonly steps: readonly StepSpec[];
  /** Every step by name, nested ones included. */
  readonly byName: ReadonlyMap<string, StepSpec>;
}

/** A stored workflow: its spec plus the manifest as applied. */
export interface WorkflowRecord {
  readonly spec: WorkflowSpec;
  readonly manifest: Readonly<Record<string, unknown>>;
  readonly generation: number;
  readonly createdAt: number;
  readonly updatedAt: number;
}
