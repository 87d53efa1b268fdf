/** @module PostgreSQL workflow and approval stores: the WorkflowStore, ApprovalStore and (workflow manifests) RuleStore conformance suites; two nodes deciding at once. */
import { describe, expect, it } from 'vitest';
import type { Clock } from '../../src/core/clock.js';
import { createPostgresApprovalStore } from '../../src/store/postgres/approval-store.js';
import { createPostgresWorkflowStore } from '../../src/store/postgres/workflow-store.js';
import { type RuleStoreHarness, runRuleStoreConformance } from '../conformance/rule-store.js';
import {
  type ApprovalStoreHarness,
  run,
  runApprovalStoreConformance,
  runWorkflowStoreConformance,
  type WorkflowStoreHarness,
} from '../conformance/workflow-store.js';
import { describeSkipped, postgresTestEnv } from './postgres-harness.js';

const env = await postgresTestEnv();

if (!env.available) {
  describeSkipped('PostgreSQL workflow stores', env.reason);
} else {
  const pg = env.database();
  const opts = (schema?: string) => (schema === undefined ? {} : { schema });

  const openWorkflows = async (clock: Clock, schema?: string): Promise<WorkflowStoreHarness> => {
    const db = await pg.open(opts(schema));
    return {
      store: createPostgresWorkflowStore(db, clock),
      async reopen() {
        await db.close();
        return openWorkflows(clock, db.schema);
      },
      close: () => db.close(),
    };
  };

  const openManifests = async (clock: Clock, schema?: string): Promise<RuleStoreHarness> => {
    const db = await pg.open(opts(schema));
    return {
      store: createPostgresWorkflowStore(db, clock).manifests,
      async reopen() {
        await db.close();
        return openManifests(clock, db.schema);
      },
      close: () => db.close(),
    };
  };

  const openApprovals = async (schema?: string): Promise<ApprovalStoreHarness> => {
    const db = await pg.open(opts(schema));
    return {
      store: createPostgresApprovalStore(db),
      async reopen() {
        await db.close();
        return openApprovals(db.schema);
      },
      close: () => db.close(),
    };
  };

  runWorkflowStoreConformance({ name: 'PostgreSQL', create: (clock) => openWorkflows(clock) });
  runRuleStoreConformance({ name: 'PostgreSQL workflow manifests', create: (clock) => openManifests(clock) });
  runApprovalStoreConformance({ name: 'PostgreSQL', create: () => openApprovals() });

  describe('PostgreSQL workflow stores shared by two nodes', () => {
    it('lets exactly one node decide a pending approval, and one node create a run', async () => {
      const a = await pg.open();
      const b = await pg.open({ schema: a.schema });
      try {
        const approvals = [createPostgresApprovalStore(a), createPostgresApprovalStore(b)];
        const ids = Array.from({ length: 10 }, (_, i) => `apr-${i}`);
        for (const id of ids) {
          await approvals[0]!.insert({
            id,
            kind: 'workflow',
            ref: 'r',
            summary: 's',
            payload: {},
            status: 'pending',
            requestedAt: 1,
            handled: false,
          });
        }
        const decided = await Promise.all(
          ids.flatMap((id) =>
            approvals.map((s, n) => s.decide(id, { status: n ? 'approved' : 'rejected', at: 2, by: `node-${n}` })),
          ),
        );
        expect(decided.filter(Boolean)).toHaveLength(10);

        const workflows = [createPostgresWorkflowStore(a), createPostgresWorkflowStore(b)];
        const created = await Promise.all(workflows.map((w) => w.createRun(run, [])));
        expect(created.filter(Boolean)).toHaveLength(1);
      } finally {
        await Promise.all([a.close(), b.close()]);
      }
    });
  });
}
