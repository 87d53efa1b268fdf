/**
 * @module Backends: where the event log and the state live, picked by configuration.
 *
 * - Embedded (the default): a SQLite log (`events.db`) and a SQLite state database (`state.db`)
 *   in the data directory.
 * - Scale-out: `log.url: nats://...` puts the log on NATS JetStream, `store.url: postgres://...`
 *   the state on PostgreSQL. Either can be chosen alone.
 *
 * Everything above this module sees only the ports; this is the one place that names a backend.
 */
import { join } from 'node:path';
import type { Clock } from '../core/clock.js';
import { createNatsEventLog } from '../log/nats/event-log.js';
import { createSqliteEventLog } from '../log/sqlite/event-log.js';
import type { ConditionStore } from '../ports/condition-store.js';
import type { CostLedger } from '../ports/cost-ledger.js';
import type { DeliveryStore } from '../ports/delivery-store.js';
import type { EventLog } from '../ports/event-log.js';
import type { IncidentStore } from '../ports/incident-store.js';
import type { PolicyStore, RuleStore, StackStore } from '../ports/rule-store.js';
import type { SchemaStore } from '../ports/schema-store.js';
import type { TokenStore } from '../ports/token-store.js';
import type { ApprovalStore, WorkflowStore } from '../ports/workflow-store.js';
import { createPostgresApprovalStore } from '../store/postgres/approval-store.js';
import { createPostgresConditionStore } from '../store/postgres/condition-store.js';
import { createPostgresCostLedger } from '../store/postgres/cost-ledger.js';
import { openPostgres } from '../store/postgres/database.js';
import { createPostgresDeliveryStore } from '../store/postgres/delivery-store.js';
import { createPostgresIncidentStore } from '../store/postgres/incident-store.js';
import {
  createPostgresPolicyStore,
  createPostgresRuleStore,
  createPostgresStackStore,
} from '../store/postgres/rule-store.js';
import { createPostgresSchemaStore } from '../store/postgres/schema-store.js';
import { createPostgresTokenStore } from '../store/postgres/token-store.js';
import { createPostgresWorkflowStore } from '../store/postgres/workflow-store.js';
import { createSqliteApprovalStore } from '../store/sqlite/approval-store.js';
import { createSqliteConditionStore } from '../store/sqlite/condition-store.js';
import { createSqliteCostLedger } from '../store/sqlite/cost-ledger.js';
import { createSqliteDeliveryStore } from '../store/sqlite/delivery-store.js';
import { createSqliteIncidentStore } from '../store/sqlite/incident-store.js';
import { createSqlitePolicyStore, createSqliteRuleStore, createSqliteStackStore } from '../store/sqlite/rule-store.js';
import { createSqliteSchemaStore } from '../store/sqlite/schema-store.js';
import { createSqliteLeaseStore } from '../store/sqlite/lease-store.js';
import { createPostgresLeaseStore } from '../store/postgres/lease-store.js';
import type { LeaseStore } from '../ports/lease-store.js';
import { openStateDatabase } from '../store/sqlite/state.js';
import { createSqliteTokenStore } from '../store/sqlite/token-store.js';
import { createSqliteWorkflowStore } from '../store/sqlite/workflow-store.js';
import type { ResolvedConfig } from './config.js';

/** Every state store the runtime uses. */
export interface StateStores {
  readonly tokens: TokenStore;
  readonly schemas: SchemaStore;
  readonly rules: RuleStore;
  readonly stacks: StackStore;
  readonly policies: PolicyStore;
  readonly deliveries: DeliveryStore;
  readonly conditions: ConditionStore;
  readonly workflows: WorkflowStore;
  readonly approvals: ApprovalStore;
  readonly incidents: IncidentStore;
  readonly costLedger: CostLedger;
  /** Leases with fencing tokens: what the nodes of a cluster coordinate through. */
  readonly leases: LeaseStore;
  /** `sqlite <path>` or `postgres <host/db>`: for the start-up line. */
  readonly describe: string;
  close(): Promise<void>;
}

/** File names inside the data directory. */
export const DataFiles = { log: 'events.db', state: 'state.db' } as const;

/** Opens the state stores the configuration names (SQLite in the data directory by default). */
export async function openStateStores(config: ResolvedConfig, clock: Clock): Promise<StateStores> {
  const url = config.store.url;
  if (url === undefined) {
    const path = join(config.dataDir, DataFiles.state);
    const db = openStateDatabase({ path, fsync: config.log.fsync });
    return {
      tokens: createSqliteTokenStore(db, clock),
      schemas: createSqliteSchemaStore(db, clock),
      rules: createSqliteRuleStore(db, clock),
      stacks: createSqliteStackStore(db, clock),
      policies: createSqlitePolicyStore(db, clock),
      deliveries: createSqliteDeliveryStore(db, clock),
      conditions: createSqliteConditionStore(db, clock),
      workflows: createSqliteWorkflowStore(db, clock),
      approvals: createSqliteApprovalStore(db),
      incidents: createSqliteIncidentStore(db),
      costLedger: createSqliteCostLedger(db, clock),
      leases: createSqliteLeaseStore(db, clock),
      describe: `sqlite ${path}`,
      close: async () => {
        db.close();
      },
    };
  }
  const db = await openPostgres(url, {
    ...(config.store.schema === undefined ? {} : { schema: config.store.schema }),
    applicationName: 'homeostat',
  });
  return {
    tokens: createPostgresTokenStore(db, clock),
    schemas: createPostgresSchemaStore(db, clock),
    rules: createPostgresRuleStore(db, clock),
    stacks: createPostgresStackStore(db, clock),
    policies: createPostgresPolicyStore(db, clock),
    deliveries: createPostgresDeliveryStore(db, clock),
    conditions: createPostgresConditionStore(db, clock),
    workflows: createPostgresWorkflowStore(db, clock),
    approvals: createPostgresApprovalStore(db),
    incidents: createPostgresIncidentStore(db),
    costLedger: createPostgresCostLedger(db, clock),
    leases: createPostgresLeaseStore(db),
    describe: `postgres ${redact(url)}${config.store.schema ? ` (schema ${config.store.schema})` : ''}`,
    close: () => db.close(),
  };
}

/** Opens the event log the configuration names (SQLite in the data directory by default). */
export async function openEventLog(config: ResolvedConfig, clock: Clock): Promise<{ log: EventLog; describe: string }> {
  const { url, nats, fsync, partitions, dedupWindowMs, dedupMaxKeys, maxAgeMs, maxBytes } = config.log;
  if (url === undefined) {
    const path = join(config.dataDir, DataFiles.log);
    const log = await createSqliteEventLog({
      path,
      fsync,
      partitions,
      dedupWindowMs,
      dedupMaxKeys,
      maxAgeMs,
      maxBytes,
      clock,
    });
    return { log, describe: `sqlite ${path}` };
  }
  const log = await createNatsEventLog({
    servers: url,
    name: nats.name,
    replicas: nats.replicas,
    partitions,
    dedupWindowMs,
    maxAgeMs,
    maxBytes,
    connectionName: 'homeostat',
  });
  return { log, describe: `nats ${redact(url)} (stream of '${nats.name}')` };
}

/** A URL without its password, for logs and messages. */
export function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return url;
  }
}
