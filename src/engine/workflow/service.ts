/**
 * @module WorkflowService: workflow manifests, durable runs and their resumption.
 *
 * Contract:
 * - `apply` validates a manifest (E_INVALID with every problem) and stores it; runs started later
 *   follow it, runs already started keep the manifest they started with.
 * - `startRun` records the run (and its `started` event) before it returns; with a `runId` that
 *   exists it returns that run (`created: false`) and starts nothing.
 * - `start` registers the approval handler and resumes every run that was running or
 *   compensating (see runner.ts for what is and is not run again), then publishes what the outbox
 *   still holds. `close` stops the runs where they are (they resume at the next `start`).
 * - `target` is the `workflow` action for rules (and steps): see target.ts.
 */
import type { Clock } from '../../core/clock.js';
import { ErrorCode, HomeostatError } from '../../core/errors.js';
import type { RuleValidationContext } from '../../core/rules/manifest.js';
import { jsonEqual } from '../../core/schema-compat.js';
import { parseWorkflowManifest } from '../../core/workflow/manifest.js';
import type { WorkflowSpec } from '../../core/workflow/types.js';
import type { EventLog } from '../../ports/event-log.js';
import type { Target, TargetRegistry } from '../../ports/target.js';
import {
  ACTIVE_RUN_STATUSES,
  type RunFilter,
  type RunRecord,
  type StepRecord,
  type WorkflowStore,
} from '../../ports/workflow-store.js';
import type { Approval, Approvals } from '../automation/types.js';
import { createRunContext, type RunContext, type RunnerDeps, Stop } from './context.js';
import { runEvent, startedEvent, WorkflowEventType } from './events.js';
import { createOutbox, type PublishEvents } from './outbox.js';
import { drive } from './runner.js';
import { createWorkflowTarget, type StartRunOptions } from './target.js';

export type { StartRunOptions } from './target.js';
import { runDetail, runSummary, workflowInfo } from './views.js';
import { WORKFLOW_APPROVAL_KIND } from './waits.js';

export interface WorkflowServiceOptions {
  readonly store: WorkflowStore;
  readonly log: EventLog;
  /** The actions steps call; a getter, since the registry also holds this service's `target`. */
  readonly targets: TargetRegistry | (() => TargetRegistry);
  readonly approvals: Approvals;
  /** Appends the `homeostat.workflow.*` events (through ingest). */
  readonly publish: PublishEvents;
  readonly clock: Clock;
  readonly logger?: { warn(obj: object, msg: string): void };
  readonly onError?: (err: unknown) => void;
  /** Longest real sleep before a wait re-reads the clock. Default 1,000 ms (tests with a manual clock use less). */
  readonly pollMs?: number;
}

export interface ApplyWorkflowResult {
  readonly workflow: Record<string, unknown>;
  readonly created: boolean;
  readonly changed: boolean;
}

export interface WorkflowService {
  apply(manifest: unknown): Promise<ApplyWorkflowResult>;
  get(name: string): Promise<Record<string, unknown> | undefined>;
  list(): Promise<Record<string, unknown>[]>;
  delete(name: string): Promise<boolean>;
  /** E_NOT_FOUND when no workflow has that name. */
  startRun(
    name: string,
    input: unknown,
    options?: StartRunOptions,
  ): Promise<{ readonly run: Record<string, unknown>; readonly created: boolean }>;
  runs(filter?: RunFilter): Promise<Record<string, unknown>[]>;
  /** The run with its step records, or undefined. */
  run(id: string): Promise<Record<string, unknown> | undefined>;
  /** Stops a running run (no compensation); E_NOT_FOUND, or E_CONFLICT when it is not running. */
  cancel(id: string): Promise<Record<string, unknown>>;
  /** Resolves when the run ends (or at once when it is not active in this process). For tests and tools. */
  settled(id: string): Promise<void>;
  readonly target: Target;
  start(): Promise<void>;
  close(): Promise<void>;
}

export function workflowNotFound(name: string): HomeostatError {
  return new HomeostatError(
    ErrorCode.NOT_FOUND,
    `no workflow named '${name}'; list them with \`homeostat get workflows\` or GET /v1/workflows`,
    { details: { name } },
  );
}

export function runNotFound(id: string): HomeostatError {
  return new HomeostatError(ErrorCode.NOT_FOUND, `no run '${id}'; list runs with \`homeostat runs\` or GET /v1/runs`, {
    details: { id },
  });
}

function validationContext(targets: () => TargetRegistry): RuleValidationContext {
  return {
    get knownActions() {
      return [...targets().keys()].sort();
    },
    validateAction: (action, options) => targets().get(action)?.validate(options),
  };
}

function normalize(doc: unknown): Record<string, unknown> {
  const { apiVersion, kind, metadata, spec } = doc as Record<string, unknown>;
  return JSON.parse(JSON.stringify({ apiVersion, kind, metadata, spec })) as Record<string, unknown>;
}

/** Delay before a run stopped by an unexpected error is taken up again. */
const RETRY_MS = 5_000;

function newRunId(clock: Clock): string {
  return `run-${clock.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;
}

export function createWorkflowService(o: WorkflowServiceOptions): WorkflowService {
  const targets = typeof o.targets === 'function' ? o.targets : () => o.targets as TargetRegistry;
  const context = validationContext(targets);
  const onError = o.onError ?? (() => undefined);
  const outbox = createOutbox(o.store, o.publish, onError);
  const shutdown = new AbortController();
  const active = new Map<string, { ctx: RunContext; done: Promise<void> }>();
  /** Runs whose records are being read before they become active (no second launch meanwhile). */
  const launching = new Set<string>();
  const deps: RunnerDeps = {
    store: o.store,
    log: o.log,
    targets,
    approvals: o.approvals,
    clock: o.clock,
    pollMs: o.pollMs ?? 1_000,
    outboxChanged: () => outbox.kick(),
    approvalWaiters: new Map<string, (a: Approval) => void>(),
  };
  let queue: Promise<unknown> = Promise.resolve();
  let closed = false;

  function exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = queue.then(fn);
    queue = run.catch(() => undefined);
    return run;
  }

  function specOf(manifest: Readonly<Record<string, unknown>>): WorkflowSpec {
    return parseWorkflowManifest(manifest, context);
  }

  async function launch(run: RunRecord): Promise<void> {
    if (closed || active.has(run.id) || launching.has(run.id)) return;
    launching.add(run.id);
    try {
      await launchNow(run);
    } finally {
      launching.delete(run.id);
    }
  }

  async function launchNow(run: RunRecord): Promise<void> {
    let spec: WorkflowSpec;
    try {
      spec = specOf(run.manifest);
    } catch (err) {
      const message = `the run's workflow manifest no longer validates: ${(err as Error).message}`;
      await o.store.updateRun(
        run.id,
        { status: 'failed', error: { code: 'E_RESUME', message }, endedAt: o.clock.now() },
        [],
      );
      return;
    }
    const ctx = createRunContext(deps, run, spec, await o.store.steps(run.id), shutdown.signal);
    const done = drive(ctx)
      .catch((err: unknown) => {
        onError(err);
        o.logger?.warn({ run: run.id, err }, `workflow run ${run.id} stopped on an error; retrying in 5 s`);
        retryLater(run.id);
      })
      .finally(() => active.delete(run.id));
    active.set(run.id, { ctx, done });
  }

  /** After an unexpected error (e.g. the database was busy) the run is taken up again from its records. */
  function retryLater(id: string): void {
    const timer = setTimeout(() => {
      void o.store
        .getRun(id)
        .then((run) => (run && ACTIVE_RUN_STATUSES.includes(run.status) ? launch(run) : undefined))
        .catch(onError);
    }, RETRY_MS);
    timer.unref();
  }

  async function startRun(name: string, input: unknown, options: StartRunOptions = {}) {
    if (closed) throw new HomeostatError(ErrorCode.CLOSED, 'the workflow service is closed');
    const stored = await o.store.manifests.get(name);
    if (!stored) throw workflowNotFound(name);
    const spec = specOf(stored.manifest);
    const id = options.runId ?? newRunId(o.clock);
    const now = o.clock.now();
    const run: RunRecord = {
      id,
      workflow: name,
      generation: stored.generation,
      manifest: stored.manifest,
      input: input === undefined ? null : JSON.parse(JSON.stringify(input)),
      ...(options.event ? { event: options.event } : {}),
      ...((options.cause ?? options.event?.id) ? { cause: options.cause ?? options.event?.id } : {}),
      status: 'running',
      startedAt: now,
      ...(spec.timeoutMs === undefined ? {} : { deadline: now + spec.timeoutMs }),
      startOffset: (await o.log.stats()).nextOffset,
    };
    const created = await o.store.createRun(run, [startedEvent(run)]);
    if (!created) {
      const existing = await o.store.getRun(id);
      return { run: runSummary(existing ?? run), created: false };
    }
    outbox.kick();
    await launch(run);
    return { run: runSummary(run), created: true };
  }

  const service: WorkflowService = {
    apply: (doc) => {
      const spec = parseWorkflowManifest(doc, context);
      const manifest = normalize(doc);
      return exclusive(async () => {
        const current = await o.store.manifests.get(spec.name);
        if (current && jsonEqual(current.manifest, manifest)) {
          return { workflow: workflowInfo(current, spec), created: false, changed: false };
        }
        const stored = await o.store.manifests.put(spec.name, manifest);
        return { workflow: workflowInfo(stored, spec), created: current === undefined, changed: true };
      });
    },
    async get(name) {
      const stored = await o.store.manifests.get(name);
      if (!stored) return undefined;
      try {
        return workflowInfo(stored, specOf(stored.manifest));
      } catch (err) {
        return workflowInfo(stored, undefined, (err as Error).message);
      }
    },
    async list() {
      return (await o.store.manifests.list()).map((stored) => {
        try {
          return workflowInfo(stored, specOf(stored.manifest));
        } catch (err) {
          return workflowInfo(stored, undefined, (err as Error).message);
        }
      });
    },
    delete: (name) => exclusive(() => o.store.manifests.delete(name)),
    startRun,
    async runs(filter) {
      return (await o.store.listRuns(filter)).map(runSummary);
    },
    async run(id) {
      const run = await o.store.getRun(id);
      return run && runDetail(run, await o.store.steps(id));
    },
    async cancel(id) {
      const run = await o.store.getRun(id);
      if (!run) throw runNotFound(id);
      const entry = active.get(id);
      if (run.status !== 'running') {
        throw new HomeostatError(
          ErrorCode.CONFLICT,
          `run ${id} is ${run.status}; only a running run can be cancelled`,
          {
            details: { id, status: run.status },
          },
        );
      }
      if (!entry) return cancelStored(run);
      entry.ctx.cancel.abort(new Stop('cancel'));
      await entry.done;
      await rejectPendingApprovals(entry.ctx.records.values(), id);
      return runDetail((await o.store.getRun(id))!, await o.store.steps(id));
    },
    async settled(id) {
      await active.get(id)?.done;
    },
    target: undefined as unknown as Target,
    async start() {
      o.approvals.register(WORKFLOW_APPROVAL_KIND, async (approval) => {
        deps.approvalWaiters.get(approval.id)?.(approval);
      });
      for (const run of await o.store.activeRuns()) await launch(run);
      outbox.kick();
    },
    async close() {
      if (closed) return;
      closed = true;
      shutdown.abort(new Stop('shutdown'));
      await Promise.all([...active.values()].map((e) => e.done));
      await outbox.flush().catch(onError);
      await outbox.close();
    },
  };

  /** Cancels a run this process is not driving (its resumption failed): only the records change. */
  async function cancelStored(run: RunRecord): Promise<Record<string, unknown>> {
    const now = o.clock.now();
    const error = { code: 'E_CANCELLED', message: 'the run was cancelled' };
    const event = runEvent(run, WorkflowEventType.cancelled, 'cancelled', now, { status: 'cancelled', error });
    await o.store.updateRun(run.id, { status: 'cancelled', error, endedAt: now }, [event]);
    outbox.kick();
    const steps = await o.store.steps(run.id);
    await rejectPendingApprovals(steps, run.id);
    return runDetail((await o.store.getRun(run.id))!, steps);
  }

  async function rejectPendingApprovals(records: Iterable<StepRecord>, runId: string): Promise<void> {
    for (const record of records) {
      const id = record.state?.approval;
      if (record.kind !== 'approval' || typeof id !== 'string') continue;
      const approval = await o.approvals.get(id);
      if (approval?.status !== 'pending') continue;
      await o.approvals
        .decide(id, { approve: false, by: 'homeostat', comment: `run ${runId} was cancelled` })
        .catch(onError);
    }
  }

  return Object.assign(service, { target: createWorkflowTarget(startRun) });
}
