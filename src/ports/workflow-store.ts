/**
 * @module WorkflowStore and ApprovalStore: the durable state of workflows (manifests, runs, step
 * records, an outbox of events) and of approval requests.
 *
 * Contract:
 * - Every write is durable when its promise resolves (it survives `kill -9`).
 * - `createRun`, `updateRun` and `putStep` write their `events` to the outbox in the same
 *   transaction as the record, so an event is published (from the outbox) if and only if its
 *   record was written. `pendingEvents` returns the outbox in write order; `removeEvents` drops
 *   what was published.
 * - `putStep` creates or replaces the record of `(runId, path)`.
 * - `createRun` is idempotent by id: it returns false (and writes nothing) when the id exists.
 * - Approvals: `decide` only changes a `pending` request (false otherwise); `handled` marks that
 *   the kind's handler has processed a decision, so decisions taken while no handler was
 *   registered can be handed over later.
 * - Errors: HomeostatError E_BACKEND for a storage failure.
 */
import type { CloudEvent } from '../core/event.js';
import type { RuleStore } from './rule-store.js';
import type { SerializedError } from './target.js';

export type RunStatus = 'running' | 'compensating' | 'succeeded' | 'failed' | 'cancelled';
export type StepStatus = 'running' | 'waiting' | 'succeeded' | 'failed' | 'skipped' | 'cancelled';

/** The run statuses that are not final: the runner resumes these after a restart. */
export const ACTIVE_RUN_STATUSES: readonly RunStatus[] = ['running', 'compensating'];

export interface RunRecord {
  /** `run-...`: unique. */
  readonly id: string;
  readonly workflow: string;
  /** The workflow's generation the run was started with. */
  readonly generation: number;
  /** The workflow manifest the run follows (a snapshot: later applies do not change a running run). */
  readonly manifest: Readonly<Record<string, unknown>>;
  readonly input: unknown;
  /** The event that triggered the run (a rule's workflow action), if any. */
  readonly event?: CloudEvent;
  /** The triggering event's id: the causation of the run's events. */
  readonly cause?: string;
  readonly status: RunStatus;
  /** Why it failed (the failed step's error), or was cancelled. */
  readonly error?: SerializedError & { readonly step?: string };
  readonly startedAt: number;
  readonly endedAt?: number;
  /** `spec.timeout` from the start, as a time. */
  readonly deadline?: number;
  /** The log's next offset when the run started (`waitForEvent.since: run`). */
  readonly startOffset: number;
}

export interface StepRecord {
  readonly runId: string;
  /** The step's name, or `<name>/compensate` for its compensation. */
  readonly path: string;
  readonly kind: string;
  readonly status: StepStatus;
  readonly input?: unknown;
  readonly output?: unknown;
  readonly error?: SerializedError;
  /** Attempts started (action steps). */
  readonly attempts: number;
  readonly startedAt: number;
  readonly endedAt?: number;
  /** When a wait, a retry backoff or a timeout ends (ms since the epoch). */
  readonly wakeAt?: number;
  /** Runner state that must survive a restart (a wait's log offset, an approval id, a branch taken). */
  readonly state?: Readonly<Record<string, unknown>>;
  /** Start order within the run. */
  readonly order: number;
  /** Completion order within the run (compensation runs in reverse of it). */
  readonly doneOrder?: number;
}

export interface RunFilter {
  readonly workflow?: string;
  readonly status?: RunStatus;
  /** Default 100, at most 1,000. Newest first. */
  readonly limit?: number;
}

export interface WorkflowStore {
  /** Workflow manifests by name (table `workflows`), with the RuleStore contract. */
  readonly manifests: RuleStore;
  createRun(run: RunRecord, events: readonly CloudEvent[]): Promise<boolean>;
  getRun(id: string): Promise<RunRecord | undefined>;
  listRuns(filter?: RunFilter): Promise<RunRecord[]>;
  /** Runs whose status is running or compensating, oldest first. */
  activeRuns(): Promise<RunRecord[]>;
  updateRun(
    id: string,
    change: Pick<RunRecord, 'status' | 'error' | 'endedAt'>,
    events: readonly CloudEvent[],
  ): Promise<void>;
  /** A run's step records in start order. */
  steps(runId: string): Promise<StepRecord[]>;
  putStep(step: StepRecord, events: readonly CloudEvent[]): Promise<void>;
  pendingEvents(limit: number): Promise<{ readonly seq: number; readonly event: CloudEvent }[]>;
  /** Removes outbox entries up to and including `seq`. */
  removeEvents(seq: number): Promise<void>;
}

export type ApprovalState = 'pending' | 'approved' | 'rejected' | 'expired';

export interface StoredApproval {
  readonly id: string;
  readonly kind: string;
  readonly ref: string;
  readonly summary: string;
  readonly payload: Readonly<Record<string, unknown>>;
  readonly status: ApprovalState;
  readonly requestedAt: number;
  readonly expiresAt?: number;
  readonly decidedAt?: number;
  readonly decidedBy?: string;
  readonly comment?: string;
  readonly handled: boolean;
}

export interface ApprovalStore {
  /** False when the id is taken. */
  insert(approval: StoredApproval): Promise<boolean>;
  get(id: string): Promise<StoredApproval | undefined>;
  /** Newest first; default limit 100, at most 1,000. */
  list(filter?: {
    readonly status?: ApprovalState;
    readonly kind?: string;
    readonly ref?: string;
    readonly limit?: number;
  }): Promise<StoredApproval[]>;
  /** Sets the decision on a pending request; false when it is not pending (or unknown). */
  decide(
    id: string,
    decision: {
      readonly status: Exclude<ApprovalState, 'pending'>;
      readonly at: number;
      readonly by: string;
      readonly comment?: string;
    },
  ): Promise<boolean>;
  markHandled(id: string): Promise<void>;
  /** Decided requests of a kind that its handler has not processed, oldest decision first. */
  unhandled(kind: string): Promise<StoredApproval[]>;
  /** Pending requests whose `expiresAt` is at or before `now`. */
  expired(now: number): Promise<StoredApproval[]>;
}
