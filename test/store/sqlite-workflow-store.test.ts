/** @module SQLite workflow and approval stores: the WorkflowStore, ApprovalStore and (workflow manifests) RuleStore conformance suites. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach } from 'vitest';
import type { Clock } from '../../src/core/clock.js';
import { createSqliteApprovalStore } from '../../src/store/sqlite/approval-store.js';
import { openStateDatabase } from '../../src/store/sqlite/state.js';
import { createSqliteWorkflowStore } from '../../src/store/sqlite/workflow-store.js';
import { type RuleStoreHarness, runRuleStoreConformance } from '../conformance/rule-store.js';
import {
  type ApprovalStoreHarness,
  runApprovalStoreConformance,
  runWorkflowStoreConformance,
  type WorkflowStoreHarness,
} from '../conformance/workflow-store.js';

let dir: string;
let files = 0;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'homeostat-wfstore-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

function nextPath(): string {
  files += 1;
  return join(dir, `state-${files}.db`);
}

function openWorkflows(path: string, clock: Clock): WorkflowStoreHarness {
  const db = openStateDatabase({ path, fsync: 'normal' });
  return {
    store: createSqliteWorkflowStore(db, clock),
    async reopen() {
      db.close();
      return openWorkflows(path, clock);
    },
    close: async () => void db.close(),
  };
}

function openManifests(path: string, clock: Clock): RuleStoreHarness {
  const h = openWorkflows(path, clock);
  return {
    store: h.store.manifests,
    async reopen() {
      await h.close();
      return openManifests(path, clock);
    },
    close: () => h.close(),
  };
}

function openApprovals(path: string): ApprovalStoreHarness {
  const db = openStateDatabase({ path, fsync: 'normal' });
  return {
    store: createSqliteApprovalStore(db),
    async reopen() {
      db.close();
      return openApprovals(path);
    },
    close: async () => void db.close(),
  };
}

runWorkflowStoreConformance({ name: 'SQLite', create: async (clock) => openWorkflows(nextPath(), clock) });
runRuleStoreConformance({
  name: 'SQLite workflow manifests',
  create: async (clock) => openManifests(nextPath(), clock),
});
runApprovalStoreConformance({ name: 'SQLite', create: async () => openApprovals(nextPath()) });
