/**
 * @module Workflows in the PostgreSQL state database: manifests (table `workflows`), runs
 * (`workflow_runs`), step records (`workflow_steps`) and the event outbox (`workflow_outbox`).
 */
import type { Clock } from '../../core/clock.js';
import { systemClock } from '../../core/clock.js';
import type { CloudEvent } from '../../core/event.js';
import type { RunFilter, RunRecord, StepRecord, WorkflowStore } from '../../ports/workflow-store.js';
import { createSerialRunner, guard, type PostgresDatabase, type Queryable } from './database.js';
import { createPostgresManifestStore } from './rule-store.js';

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

const RUN_COLUMNS =
  'id, workflow, generation, manifest, input, event, cause, status, error, started_at, ended_at, deadline, start_offset';
const STEP_COLUMNS =
  'run_id, path, kind, status, input, output, error, attempts, started_at, ended_at, wake_at, state, started_seq, done_seq';
const STEP_UPDATES = STEP_COLUMNS.split(', ')
  .filter((c) => c !== 'run_id' && c !== 'path')
  .map((c) => `${c} = excluded.${c}`)
  .join(', ');

const json = (value: unknown): string | null => (value === undefined ? null : JSON.stringify(value));
const parse = <T>(text: string | null): T | undefined => (text === null ? undefined : (JSON.parse(text) as T));

function opt<K extends string, V>(key: K, value: V | null | undefined): { [P in K]?: V } {
  return (value === null || value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}

/**
 * A WorkflowStore (src/ports/workflow-store.ts) over a database opened with `openPostgres`. The
 * caller owns `db` and closes it; calls after that fail with E_CLOSED.
 *
 * This store's writes run one after another (in call order), each in one transaction with its
 * outbox events, so outbox sequence numbers commit in order and `removeEvents(seq)` never drops
 * an event committed after the ones read. The outbox has one reader: the node that runs the
 * workflows (several nodes writing one schema's outbox need a per-node outbox, not provided).
 * @param clock stamps manifests' `createdAt`/`updatedAt`; default the system clock.
 */
export function createPostgresWorkflowStore(db: PostgresDatabase, clock: Clock = systemClock): WorkflowStore {
  const serial = createSerialRunner();
  const inTx = <T>(fn: (tx: Queryable) => Promise<T>) => serial(() => db.transaction(fn));

  const addEvents = async (tx: Queryable, events: readonly CloudEvent[]): Promise<void> => {
    if (events.length === 0) return;
    // One row per event, numbered in array order.
    await tx.query(
      'INSERT INTO workflow_outbox (event) SELECT e FROM unnest($1::text[]) WITH ORDINALITY AS u (e, n) ORDER BY n',
      [events.map((e) => JSON.stringify(e))],
    );
  };

  const createRun = (r: RunRecord, events: readonly CloudEvent[]) =>
    inTx(async (tx) => {
      const result = await tx.query(
        `INSERT INTO workflow_runs (${RUN_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
         ON CONFLICT (id) DO NOTHING`,
        [
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
        ],
      );
      const created = (result.rowCount ?? 0) > 0;
      if (created) await addEvents(tx, events);
      return created;
    });

  const updateRun = (id: string, c: Pick<RunRecord, 'status' | 'error' | 'endedAt'>, events: readonly CloudEvent[]) =>
    inTx(async (tx) => {
      await tx.query('UPDATE workflow_runs SET status = $1, error = $2, ended_at = $3 WHERE id = $4', [
        c.status,
        json(c.error),
        c.endedAt ?? null,
        id,
      ]);
      await addEvents(tx, events);
    });

  const putStep = (s: StepRecord, events: readonly CloudEvent[]) =>
    inTx(async (tx) => {
      await tx.query(
        `INSERT INTO workflow_steps (${STEP_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
         ON CONFLICT (run_id, path) DO UPDATE SET ${STEP_UPDATES}`,
        [
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
        ],
      );
      await addEvents(tx, events);
    });

  async function listRuns(filter: RunFilter = {}): Promise<RunRecord[]> {
    const where: string[] = [];
    const args: unknown[] = [];
    if (filter.workflow !== undefined) {
      args.push(filter.workflow);
      where.push(`workflow = $${args.length}`);
    }
    if (filter.status !== undefined) {
      args.push(filter.status);
      where.push(`status = $${args.length}`);
    }
    const limit = Math.floor(Math.min(Math.max(filter.limit ?? 100, 1), 1000));
    const sql = `SELECT ${RUN_COLUMNS} FROM workflow_runs ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
      ORDER BY started_at DESC, seq DESC LIMIT ${limit}`;
    return (await db.query<RunRow>(sql, args)).rows.map(toRun);
  }

  return {
    manifests: createPostgresManifestStore(db, 'workflows', 'workflow', clock),
    createRun: (run, events) => guard(db, 'create the run', () => createRun(run, events)),
    getRun: (id) =>
      guard(db, 'read the run', async () => {
        const { rows } = await db.query<RunRow>(`SELECT ${RUN_COLUMNS} FROM workflow_runs WHERE id = $1`, [id]);
        return rows[0] && toRun(rows[0]);
      }),
    listRuns: (filter) => guard(db, 'list the runs', () => listRuns(filter)),
    activeRuns: () =>
      guard(db, 'list the active runs', async () => {
        const { rows } = await db.query<RunRow>(
          `SELECT ${RUN_COLUMNS} FROM workflow_runs WHERE status IN ('running', 'compensating') ORDER BY started_at, id`,
        );
        return rows.map(toRun);
      }),
    updateRun: (id, change, events) => guard(db, 'update the run', () => updateRun(id, change, events)),
    steps: (runId) =>
      guard(db, 'read the step records', async () => {
        const { rows } = await db.query<StepRow>(
          `SELECT ${STEP_COLUMNS} FROM workflow_steps WHERE run_id = $1 ORDER BY started_seq, path`,
          [runId],
        );
        return rows.map(toStep);
      }),
    putStep: (step, events) => guard(db, 'record the step', () => putStep(step, events)),
    pendingEvents: (limit) =>
      guard(db, 'read the workflow outbox', async () => {
        const { rows } = await db.query<{ seq: number; event: string }>(
          'SELECT seq, event FROM workflow_outbox ORDER BY seq LIMIT $1',
          [Math.max(0, Math.floor(limit))],
        );
        return rows.map((r) => ({ seq: r.seq, event: JSON.parse(r.event) as CloudEvent }));
      }),
    removeEvents: (seq) =>
      guard(db, 'trim the workflow outbox', () =>
        inTx(async (tx) => void (await tx.query('DELETE FROM workflow_outbox WHERE seq <= $1', [seq]))),
      ),
  };
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
