/**
 * @module Workflows in the SQLite state database: manifests (table `workflows`), runs
 * (`workflow_runs`), step records (`workflow_steps`) and the event outbox (`workflow_outbox`).
 */
import type { Clock } from '../../core/clock.js';
import { systemClock } from '../../core/clock.js';
import { ErrorCode, HomeostatError } from '../../core/errors.js';
import type { CloudEvent } from '../../core/event.js';
import type { RuleStore, StoredRule } from '../../ports/rule-store.js';
import type { RunFilter, RunRecord, StepRecord, WorkflowStore } from '../../ports/workflow-store.js';
import type { SqliteDatabase } from './database.js';

interface ManifestRow {
  readonly name: string;
  readonly manifest: string;
  readonly generation: number;
  readonly created_at: number;
  readonly updated_at: number;
}

interface RunRow {
  readonly id: string;
  readonly workflow: string;
  readonly generation: number;
  readonly manifest: string;
  readonly input: string;
  readonly event: string | null;
  readonly cause: string | null;
  readonly status: RunRecord['status'];
  readonly error: string | null;
  readonly started_at: number;
  readonly ended_at: number | null;
  readonly deadline: number | null;
  readonly start_offset: number;
}

interface StepRow {
  readonly run_id: string;
  readonly path: string;
  readonly kind: string;
  readonly status: StepRecord['status'];
  readonly input: string | null;
  readonly output: string | null;
  readonly error: string | null;
  readonly attempts: number;
  readonly started_at: number;
  readonly ended_at: number | null;
  readonly wake_at: number | null;
  readonly state: string | null;
  readonly started_seq: number;
  readonly done_seq: number | null;
}

const MANIFEST_COLUMNS = 'name, manifest, generation, created_at, updated_at';
const RUN_COLUMNS =
  'id, workflow, generation, manifest, input, event, cause, status, error, started_at, ended_at, deadline, start_offset';
const STEP_COLUMNS =
  'run_id, path, kind, status, input, output, error, attempts, started_at, ended_at, wake_at, state, started_seq, done_seq';

/** Runs a statement, reporting SQLite failures as E_BACKEND and passing HomeostatErrors through. */
function guard<T>(what: string, fn: () => T): T {
  try {
    return fn();
  } catch (cause) {
    if (cause instanceof HomeostatError) throw cause;
    throw new HomeostatError(ErrorCode.BACKEND, `cannot ${what} in the state database: ${(cause as Error).message}`, {
      cause,
    });
  }
}

const json = (value: unknown): string | null => (value === undefined ? null : JSON.stringify(value));
const parse = <T>(text: string | null): T | undefined => (text === null ? undefined : (JSON.parse(text) as T));

function opt<K extends string, V>(key: K, value: V | null | undefined): { [P in K]?: V } {
  return (value === null || value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}

function toRun(row: RunRow): RunRecord {
  return {
    id: row.id,
    workflow: row.workflow,
    generation: row.generation,
    manifest: JSON.parse(row.manifest) as Record<string, unknown>,
    input: JSON.parse(row.input) as unknown,
    ...opt('event', parse<CloudEvent>(row.event)),
    ...opt('cause', row.cause),
    status: row.status,
    ...opt('error', parse<RunRecord['error']>(row.error)),
    startedAt: row.started_at,
    ...opt('endedAt', row.ended_at),
    ...opt('deadline', row.deadline),
    startOffset: row.start_offset,
  };
}

function toStep(row: StepRow): StepRecord {
  return {
    runId: row.run_id,
    path: row.path,
    kind: row.kind,
    status: row.status,
    ...opt('input', parse(row.input)),
    ...opt('output', parse(row.output)),
    ...opt('error', parse<StepRecord['error']>(row.error)),
    attempts: row.attempts,
    startedAt: row.started_at,
    ...opt('endedAt', row.ended_at),
    ...opt('wakeAt', row.wake_at),
    ...opt('state', parse<Record<string, unknown>>(row.state)),
    order: row.started_seq,
    ...opt('doneOrder', row.done_seq),
  };
}

function toStored(row: ManifestRow): StoredRule {
  return {
    name: row.name,
    manifest: JSON.parse(row.manifest) as Record<string, unknown>,
    generation: row.generation,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

function createManifests(db: SqliteDatabase, clock: Clock): RuleStore {
  const stmt = {
    get: db.prepare<[string], ManifestRow>(`SELECT ${MANIFEST_COLUMNS} FROM workflows WHERE name = ?`),
    list: db.prepare<[], ManifestRow>(`SELECT ${MANIFEST_COLUMNS} FROM workflows ORDER BY name`),
    insert: db.prepare(`INSERT INTO workflows (${MANIFEST_COLUMNS}) VALUES (?, ?, 1, ?, ?)`),
    update: db.prepare(`UPDATE workflows SET manifest = ?, generation = ?, updated_at = ? WHERE name = ?`),
    remove: db.prepare<[string]>(`DELETE FROM workflows WHERE name = ?`),
  };
  const put = db.transaction((name: string, manifest: Readonly<Record<string, unknown>>): StoredRule => {
    const text = JSON.stringify(manifest);
    const now = clock.now();
    const existing = stmt.get.get(name);
    if (existing) {
      stmt.update.run(text, existing.generation + 1, now, name);
      return toStored({ ...existing, manifest: text, generation: existing.generation + 1, updated_at: now });
    }
    stmt.insert.run(name, text, now, now);
    return toStored({ name, manifest: text, generation: 1, created_at: now, updated_at: now });
  });
  return {
    put: async (name, manifest) => guard('store the workflow', () => put(name, manifest)),
    get: async (name) =>
      guard('read the workflow', () => {
        const row = stmt.get.get(name);
        return row && toStored(row);
      }),
    list: async () => guard('list the workflows', () => stmt.list.all().map(toStored)),
    delete: async (name) => guard('delete the workflow', () => stmt.remove.run(name).changes > 0),
  };
}

/**
 * A WorkflowStore over a database opened with `openStateDatabase`. The caller owns `db`.
 * @param clock stamps manifests' `createdAt`/`updatedAt`; default the system clock.
 */
export function createSqliteWorkflowStore(db: SqliteDatabase, clock: Clock = systemClock): WorkflowStore {
  const stmt = {
    insertRun: db.prepare(
      `INSERT INTO workflow_runs (${RUN_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
    ),
    getRun: db.prepare<[string], RunRow>(`SELECT ${RUN_COLUMNS} FROM workflow_runs WHERE id = ?`),
    active: db.prepare<[], RunRow>(
      `SELECT ${RUN_COLUMNS} FROM workflow_runs WHERE status IN ('running', 'compensating') ORDER BY started_at, id`,
    ),
    updateRun: db.prepare(`UPDATE workflow_runs SET status = ?, error = ?, ended_at = ? WHERE id = ?`),
    steps: db.prepare<[string], StepRow>(
      `SELECT ${STEP_COLUMNS} FROM workflow_steps WHERE run_id = ? ORDER BY started_seq, path`,
    ),
    putStep: db.prepare(
      `INSERT OR REPLACE INTO workflow_steps (${STEP_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    outbox: db.prepare(`INSERT INTO workflow_outbox (event) VALUES (?)`),
    pending: db.prepare<[number], { seq: number; event: string }>(
      `SELECT seq, event FROM workflow_outbox ORDER BY seq LIMIT ?`,
    ),
    removeEvents: db.prepare<[number]>(`DELETE FROM workflow_outbox WHERE seq <= ?`),
  };
  const addEvents = (events: readonly CloudEvent[]): void => {
    for (const e of events) stmt.outbox.run(JSON.stringify(e));
  };
  const createRun = db.transaction((run: RunRecord, events: readonly CloudEvent[]): boolean => {
    const r = run;
    const changes = stmt.insertRun.run(
      r.id,
      r.workflow,
      r.generation,
      JSON.stringify(r.manifest),
      JSON.stringify(r.input ?? null),
      json(r.event),
      r.cause ?? null,
      r.status,
      json(r.error),
      r.startedAt,
      r.endedAt ?? null,
      r.deadline ?? null,
      r.startOffset,
    ).changes;
    if (changes > 0) addEvents(events);
    return changes > 0;
  });
  const updateRun = db.transaction(
    (id: string, c: Pick<RunRecord, 'status' | 'error' | 'endedAt'>, events: readonly CloudEvent[]) => {
      stmt.updateRun.run(c.status, json(c.error), c.endedAt ?? null, id);
      addEvents(events);
    },
  );
  const putStep = db.transaction((s: StepRecord, events: readonly CloudEvent[]) => {
    stmt.putStep.run(
      s.runId,
      s.path,
      s.kind,
      s.status,
      json(s.input),
      json(s.output),
      json(s.error),
      s.attempts,
      s.startedAt,
      s.endedAt ?? null,
      s.wakeAt ?? null,
      json(s.state),
      s.order,
      s.doneOrder ?? null,
    );
    addEvents(events);
  });

  function listRuns(filter: RunFilter = {}): RunRecord[] {
    const where: string[] = [];
    const args: (string | number)[] = [];
    if (filter.workflow !== undefined) {
      where.push('workflow = ?');
      args.push(filter.workflow);
    }
    if (filter.status !== undefined) {
      where.push('status = ?');
      args.push(filter.status);
    }
    const limit = Math.min(Math.max(filter.limit ?? 100, 1), 1000);
    const sql = `SELECT ${RUN_COLUMNS} FROM workflow_runs ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY started_at DESC, rowid DESC LIMIT ${limit}`;
    return db
      .prepare<(string | number)[], RunRow>(sql)
      .all(...args)
      .map(toRun);
  }

  return {
    manifests: createManifests(db, clock),
    createRun: async (run, events) => guard('create the run', () => createRun(run, events)),
    getRun: async (id) =>
      guard('read the run', () => {
        const row = stmt.getRun.get(id);
        return row && toRun(row);
      }),
    listRuns: async (filter) => guard('list the runs', () => listRuns(filter)),
    activeRuns: async () => guard('list the active runs', () => stmt.active.all().map(toRun)),
    updateRun: async (id, change, events) => guard('update the run', () => updateRun(id, change, events)),
    steps: async (runId) => guard('read the step records', () => stmt.steps.all(runId).map(toStep)),
    putStep: async (step, events) => guard('record the step', () => putStep(step, events)),
    pendingEvents: async (limit) =>
      guard('read the workflow outbox', () =>
        stmt.pending.all(limit).map((r) => ({ seq: r.seq, event: JSON.parse(r.event) as CloudEvent })),
      ),
    removeEvents: async (seq) => guard('trim the workflow outbox', () => void stmt.removeEvents.run(seq)),
  };
}
