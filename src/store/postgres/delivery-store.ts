/** @module PostgresDeliveryStore: the dispatcher's delivery state, dead letters and trace in the PostgreSQL state database. */
import type { Clock } from '../../core/clock.js';
import { systemClock } from '../../core/clock.js';
import { ErrorCode, HomeostatError } from '../../core/errors.js';
import type { CloudEvent } from '../../core/event.js';
import type {
  DeadLetter,
  DeadLetterFilter,
  DeadLetterPage,
  DeliveryChange,
  DeliveryKey,
  DeliveryStatus,
  DeliveryStore,
  PendingDelivery,
  TraceEntry,
  TraceKind,
} from '../../ports/delivery-store.js';
import type { SerializedError } from '../../ports/target.js';
import { coalescePerTurn } from './coalesce.js';
import { createSerialRunner, guard, type PostgresDatabase, type Queryable } from './database.js';

/** Default and largest page of `listDead`. */
const DEFAULT_LIMIT = 100;
const MAX_LIMIT = 1000;

interface KeyRow {
  readonly source: string;
  readonly id: string;
  readonly rule: string;
  readonly target: string;
}
interface PendingRow extends KeyRow {
  readonly log_offset: number;
  readonly attempts: number;
  readonly next_at: number;
  readonly last_error: string | null;
  readonly replayed: boolean;
}
interface DeadRow extends KeyRow {
  readonly dead_id: number;
  readonly log_offset: number;
  readonly attempts: number;
  readonly reason: string;
  readonly error: string;
  readonly event: string;
  readonly dead_at: number;
}
interface TraceRow {
  readonly source: string;
  readonly id: string;
  readonly log_offset: number;
  readonly at: number;
  readonly kind: string;
  readonly rule: string | null;
  readonly target: string | null;
  readonly attempt: number | null;
  readonly detail: string | null;
}

const INSERT_DELIVERY =
  'INSERT INTO deliveries AS d (source, id, rule, target, status, log_offset, attempts, next_at, last_error, replayed, updated_at)';
const PENDING_COLUMNS = 'source, id, rule, target, log_offset, attempts, next_at, last_error, replayed';
const DEAD_COLUMNS = 'dead_id, source, id, rule, target, log_offset, attempts, reason, error, event, dead_at';
const TRACE_COLUMNS = 'source, id, log_offset, at, kind, rule, target, attempt, detail';

// Invariant: `delivered` is final. Every upsert below leaves a delivered row untouched. Each is
// one INSERT ... ON CONFLICT statement, so nodes writing the same key at once are serialised on
// its row by PostgreSQL, and the WHERE is evaluated against the row as the other node left it.
const SQL = {
  // Each of these writes a run of changes of one kind in one statement, from arrays (unnest).
  // Times and offsets travel as float8 and are assigned to BIGINT columns (rounded), so a
  // fractional millisecond from a caller is stored rather than refused.
  pending: `${INSERT_DELIVERY}
    SELECT s, i, r, t, 'pending', o, a, n, e, rp, $10::float8
    FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::float8[], $6::int[], $7::float8[], $8::text[],
      $9::boolean[]) AS u (s, i, r, t, o, a, n, e, rp)
    ON CONFLICT (source, id, rule, target) DO UPDATE SET status = 'pending', log_offset = excluded.log_offset,
      attempts = excluded.attempts, next_at = excluded.next_at, last_error = excluded.last_error,
      replayed = excluded.replayed, updated_at = excluded.updated_at
    WHERE d.status <> 'delivered'`,
  delivered: `${INSERT_DELIVERY}
    SELECT s, i, r, t, 'delivered', o, a, NULL, NULL, false, at
    FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::float8[], $6::int[], $7::float8[])
      AS u (s, i, r, t, o, a, at)
    ON CONFLICT (source, id, rule, target) DO UPDATE SET status = 'delivered', log_offset = excluded.log_offset,
      attempts = excluded.attempts, next_at = NULL, last_error = NULL, updated_at = excluded.updated_at
    WHERE d.status <> 'delivered'`,
  // One key at a time. Only a pending (or unseen) key becomes dead, and only then is a dead letter
  // added: of two nodes dead-lettering one key at once, exactly one adds the entry.
  dead: `WITH moved AS (
      ${INSERT_DELIVERY} VALUES ($1, $2, $3, $4, 'dead', $5::float8, $6, NULL, $7, false, $8::float8)
      ON CONFLICT (source, id, rule, target) DO UPDATE SET status = 'dead', log_offset = excluded.log_offset,
        attempts = excluded.attempts, next_at = NULL, last_error = excluded.last_error, updated_at = excluded.updated_at
      WHERE d.status = 'pending'
      RETURNING 1)
    INSERT INTO dead_letters (source, id, rule, target, log_offset, attempts, reason, error, event, dead_at)
    SELECT $1, $2, $3, $4, $5::float8, $6, $9, $7, $10, $8::float8 FROM moved`,
  removeDead: 'DELETE FROM dead_letters WHERE dead_id = ANY($1::bigint[])',
  // Rows are numbered (seq) in array order.
  trace: `INSERT INTO trace (${TRACE_COLUMNS})
    SELECT s, i, o, at, k, r, t, a, d
    FROM unnest($1::text[], $2::text[], $3::float8[], $4::float8[], $5::text[], $6::text[], $7::text[], $8::int[],
      $9::text[]) WITH ORDINALITY AS u (s, i, o, at, k, r, t, a, d, n)
    ORDER BY n`,
  statuses: `SELECT k.n, d.status FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) WITH ORDINALITY
      AS k (source, id, rule, target, n)
    JOIN deliveries d ON d.source = k.source AND d.id = k.id AND d.rule = k.rule AND d.target = k.target`,
  pendingAll: `SELECT ${PENDING_COLUMNS} FROM deliveries WHERE status = 'pending'
    ORDER BY next_at, log_offset, source, id, rule, target`,
  getDead: `SELECT ${DEAD_COLUMNS} FROM dead_letters WHERE dead_id = $1`,
  traceById: `SELECT ${TRACE_COLUMNS} FROM trace WHERE id = $1 ORDER BY seq`,
  traceByEvent: `SELECT ${TRACE_COLUMNS} FROM trace WHERE id = $1 AND source = $2 ORDER BY seq`,
  pruneDelivered: `DELETE FROM deliveries WHERE status = 'delivered' AND updated_at < $1`,
  pruneTrace: 'DELETE FROM trace WHERE at < $1',
} as const;

/**
 * A DeliveryStore (src/ports/delivery-store.ts) over a database opened with `openPostgres`. The
 * caller owns `db` and closes it; calls after that fail with E_CLOSED.
 *
 * `apply` runs one transaction per call, and this store's `apply` calls one after another (in
 * call order). Several nodes may share the tables: each change is one conflict-safe statement,
 * so `delivered` stays final and a key is dead-lettered once whoever writes it. Besides the
 * port's contract (as the SQLite store): a `dead` change only takes effect for a pending or
 * unseen key, and `listDead` clamps `limit` to 1..1,000.
 * @param clock stamps `pending` changes (`updated_at`); default the system clock.
 */
export function createPostgresDeliveryStore(db: PostgresDatabase, clock: Clock = systemClock): DeliveryStore {
  const serial = createSerialRunner();

  const write = (changes: readonly DeliveryChange[]) =>
    serial(() =>
      db.transaction(async (tx) => {
        const now = clock.now();
        // Trace entries go after the other changes, all in one statement: a batch interleaves
        // them with its deliveries (delivered, attempt, delivered, …), which would otherwise make
        // one statement per change. The transaction's outcome is the same; each kind keeps its order.
        const traces = changes.filter((c) => c.kind === 'trace');
        const rest = traces.length === 0 ? changes : changes.filter((c) => c.kind !== 'trace');
        for (const run of runsOf(rest)) await applyRun(tx, run, now);
        if (traces.length > 0) await applyRun(tx, traces, now);
      }),
    );

  async function statusOf(keys: readonly DeliveryKey[]): Promise<(DeliveryStatus | undefined)[]> {
    const out = new Array<DeliveryStatus | undefined>(keys.length).fill(undefined);
    if (keys.length === 0) return out;
    const { rows } = await db.query<{ n: number; status: DeliveryStatus }>(SQL.statuses, [
      keys.map((k) => k.source),
      keys.map((k) => k.id),
      keys.map((k) => k.rule),
      keys.map((k) => k.target),
    ]);
    for (const row of rows) out[row.n - 1] = row.status;
    return out;
  }

  const lookUpStatuses = coalescePerTurn(statusOf);

  const prune = (before: number) =>
    serial(() =>
      db.transaction(async (tx) => {
        const delivered = await tx.query(SQL.pruneDelivered, [ceil(before)]);
        const traced = await tx.query(SQL.pruneTrace, [ceil(before)]);
        return (delivered.rowCount ?? 0) + (traced.rowCount ?? 0);
      }),
    );

  return {
    apply: (changes) => guard(db, 'record delivery changes', () => write(changes)),
    // The dispatchers ask one key per starting job: the keys of one turn go in one query.
    statusOf: (keys) => guard(db, 'read delivery statuses', () => lookUpStatuses(keys)),
    pending: () =>
      guard(db, 'read pending deliveries', async () =>
        (await db.query<PendingRow>(SQL.pendingAll)).rows.map(toPending),
      ),
    listDead: (page = {}) => guard(db, 'list dead letters', async () => (await listDead(db, page)).map(toDeadLetter)),
    getDead: (id) =>
      guard(db, 'read a dead letter', async () => {
        if (!Number.isSafeInteger(id)) return undefined;
        const { rows } = await db.query<DeadRow>(SQL.getDead, [id]);
        return rows[0] && toDeadLetter(rows[0]);
      }),
    countDead: (filter = {}) => guard(db, 'count dead letters', () => countDead(db, filter)),
    trace: (id, source) =>
      guard(db, 'read the trace', async () => {
        const { rows } =
          source === undefined
            ? await db.query<TraceRow>(SQL.traceById, [id])
            : await db.query<TraceRow>(SQL.traceByEvent, [id, source]);
        return rows.map(toTrace);
      }),
    prune: (before) => guard(db, 'prune delivery state', () => prune(before)),
  };
}

/**
 * Splits a batch into runs that one statement each can write without changing its meaning:
 * consecutive `pending` (or `delivered`) changes of distinct keys, consecutive trace entries;
 * `dead` and `remove-dead` changes one by one. Runs are written in order.
 */
function runsOf(changes: readonly DeliveryChange[]): DeliveryChange[][] {
  const runs: DeliveryChange[][] = [];
  let run: DeliveryChange[] = [];
  let keys = new Set<string>();
  for (const change of changes) {
    const kind = change.kind;
    const batchable = kind === 'pending' || kind === 'delivered' || kind === 'trace';
    const key = kind === 'pending' ? keyText(change.delivery.key) : kind === 'delivered' ? keyText(change.key) : '';
    // A statement may not upsert one row twice: a repeated key starts a new run.
    const fits = batchable && run.length > 0 && run[0]!.kind === kind && (key === '' || !keys.has(key));
    if (!fits) {
      if (run.length > 0) runs.push(run);
      run = [];
      keys = new Set();
    }
    run.push(change);
    if (key !== '') keys.add(key);
    if (!batchable) {
      runs.push(run);
      run = [];
    }
  }
  if (run.length > 0) runs.push(run);
  return runs;
}

function keyText(k: DeliveryKey): string {
  return JSON.stringify([k.source, k.id, k.rule, k.target]);
}

function keyArrays(keys: readonly DeliveryKey[]): string[][] {
  return [keys.map((k) => k.source), keys.map((k) => k.id), keys.map((k) => k.rule), keys.map((k) => k.target)];
}

async function applyRun(tx: Queryable, run: readonly DeliveryChange[], now: number): Promise<void> {
  const first = run[0]!;
  switch (first.kind) {
    case 'pending': {
      const ds = run.map((c) => (c as Extract<DeliveryChange, { kind: 'pending' }>).delivery);
      await tx.query(SQL.pending, [
        ...keyArrays(ds.map((d) => d.key)),
        ds.map((d) => d.offset),
        ds.map((d) => d.attempts),
        ds.map((d) => d.nextAt),
        ds.map((d) => (d.lastError === undefined ? null : JSON.stringify(d.lastError))),
        ds.map((d) => d.replayed),
        now,
      ]);
      return;
    }
    case 'delivered': {
      const cs = run.map((c) => c as Extract<DeliveryChange, { kind: 'delivered' }>);
      await tx.query(SQL.delivered, [
        ...keyArrays(cs.map((c) => c.key)),
        cs.map((c) => c.offset),
        cs.map((c) => c.attempts),
        cs.map((c) => c.at),
      ]);
      return;
    }
    case 'trace': {
      const es = run.map((c) => (c as Extract<DeliveryChange, { kind: 'trace' }>).entry);
      await tx.query(SQL.trace, [
        es.map((e) => e.source),
        es.map((e) => e.id),
        es.map((e) => e.offset),
        es.map((e) => e.at),
        es.map((e) => e.kind),
        es.map((e) => e.rule ?? null),
        es.map((e) => e.target ?? null),
        es.map((e) => e.attempt ?? null),
        es.map((e) => (e.detail === undefined ? null : JSON.stringify(e.detail))),
      ]);
      return;
    }
    case 'dead': {
      const l = first.letter;
      await tx.query(SQL.dead, [
        l.key.source,
        l.key.id,
        l.key.rule,
        l.key.target,
        l.offset,
        l.attempts,
        JSON.stringify(l.error),
        l.deadAt,
        l.reason,
        JSON.stringify(l.event),
      ]);
      return;
    }
    case 'remove-dead': {
      const ids = first.ids.filter((id) => Number.isSafeInteger(id));
      if (ids.length > 0) await tx.query(SQL.removeDead, [ids]);
      return;
    }
    default:
      throw new HomeostatError(
        ErrorCode.INTERNAL,
        `unknown delivery change kind ${JSON.stringify((first as { kind?: unknown }).kind)}`,
      );
  }
}

function whereOf(f: DeadLetterFilter, args: unknown[]): string[] {
  const clauses: string[] = [];
  const add = (sql: string, value: string | number | undefined) => {
    if (value === undefined) return;
    args.push(value);
    clauses.push(sql.replace('?', `$${args.length}`));
  };
  add('rule = ?', f.rule);
  add('target = ?', f.target);
  add('dead_at >= ?', ceil(f.since));
  add('dead_at < ?', ceil(f.until));
  return clauses;
}

/** Bounds on whole-millisecond columns: `x < 5.5` and `x >= 5.5` select the same rows as with 6. */
function ceil(n: number | undefined): number | undefined {
  return n === undefined ? undefined : Math.ceil(n);
}

function where(clauses: readonly string[]): string {
  return clauses.length === 0 ? '' : ` WHERE ${clauses.join(' AND ')}`;
}

async function listDead(db: PostgresDatabase, page: DeadLetterPage): Promise<DeadRow[]> {
  const args: unknown[] = [];
  const clauses = whereOf(page, args);
  if (page.after !== undefined) {
    args.push(Math.floor(page.after));
    clauses.push(`dead_id > $${args.length}`);
  }
  const limit = Math.min(MAX_LIMIT, Math.max(1, Math.floor(page.limit ?? DEFAULT_LIMIT)));
  args.push(limit);
  const sql = `SELECT ${DEAD_COLUMNS} FROM dead_letters${where(clauses)} ORDER BY dead_id LIMIT $${args.length}`;
  return (await db.query<DeadRow>(sql, args)).rows;
}

async function countDead(db: PostgresDatabase, filter: DeadLetterFilter): Promise<number> {
  const args: unknown[] = [];
  const clauses = whereOf(filter, args);
  const { rows } = await db.query<{ n: number }>(`SELECT COUNT(*) AS n FROM dead_letters${where(clauses)}`, args);
  return rows[0]!.n;
}

function keyOf(row: KeyRow): DeliveryKey {
  return { source: row.source, id: row.id, rule: row.rule, target: row.target };
}

function toPending(row: PendingRow): PendingDelivery {
  const base = {
    key: keyOf(row),
    offset: row.log_offset,
    attempts: row.attempts,
    nextAt: row.next_at,
    replayed: row.replayed,
  };
  return row.last_error === null ? base : { ...base, lastError: JSON.parse(row.last_error) as SerializedError };
}

function toDeadLetter(row: DeadRow): DeadLetter {
  return {
    id: row.dead_id,
    key: keyOf(row),
    offset: row.log_offset,
    attempts: row.attempts,
    reason: row.reason,
    error: JSON.parse(row.error) as SerializedError,
    event: JSON.parse(row.event) as CloudEvent,
    deadAt: row.dead_at,
  };
}

function toTrace(row: TraceRow): TraceEntry {
  const entry: { -readonly [K in keyof TraceEntry]: TraceEntry[K] } = {
    source: row.source,
    id: row.id,
    offset: row.log_offset,
    at: row.at,
    kind: row.kind as TraceKind,
  };
  if (row.rule !== null) entry.rule = row.rule;
  if (row.target !== null) entry.target = row.target;
  if (row.attempt !== null) entry.attempt = row.attempt;
  if (row.detail !== null) entry.detail = JSON.parse(row.detail) as Record<string, unknown>;
  return entry;
}
