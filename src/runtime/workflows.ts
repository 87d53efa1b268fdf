/** @module Workflows and approvals on the SQLite state database: the embedded runtime's wiring of them. */
import type { Clock } from '../core/clock.js';
import { type ApprovalService, createApprovals } from '../engine/approvals.js';
import type { Approvals } from '../engine/automation/types.js';
import type { PublishEvents } from '../engine/workflow/outbox.js';
import { createWorkflowService, type WorkflowService } from '../engine/workflow/service.js';
import type { EventLog } from '../ports/event-log.js';
import type { TargetRegistry } from '../ports/target.js';
import { createSqliteApprovalStore } from '../store/sqlite/approval-store.js';
import type { SqliteDatabase } from '../store/sqlite/database.js';
import { createSqliteWorkflowStore } from '../store/sqlite/workflow-store.js';

/** Approvals in the state database (table `approvals`); call `close()` on shutdown (it stops the expiry timer). */
export function createSqliteApprovals(o: {
  readonly db: SqliteDatabase;
  readonly clock: Clock;
  readonly onError?: (err: unknown) => void;
}): ApprovalService {
  return createApprovals({
    store: createSqliteApprovalStore(o.db),
    clock: o.clock,
    ...(o.onError ? { onError: o.onError } : {}),
  });
}

/**
 * The workflow service over the state database. Register `service.target` as the `workflow`
 * action in the registry `targets` returns, call `start()` after the log is open (it resumes
 * interrupted runs) and `close()` before closing the log and database.
 */
export function createSqliteWorkflowService(o: {
  readonly db: SqliteDatabase;
  readonly log: EventLog;
  readonly targets: TargetRegistry | (() => TargetRegistry);
  readonly approvals: Approvals;
  readonly publish: PublishEvents;
  readonly clock: Clock;
  readonly logger?: { warn(obj: object, msg: string): void };
  readonly onError?: (err: unknown) => void;
}): WorkflowService {
  const { db, ...rest } = o;
  return createWorkflowService({ ...rest, store: createSqliteWorkflowStore(db, o.clock) });
}
