/** @module SqliteDeliveryStore: the dispatcher's delivery state, dead letters and trace in the SQLite state database. */
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
import type { Statement } from 'better-sqlite3';
import type { SqliteDatabase } from './database.js';

/** Default and largest page of `listDead`. */
const DEFAULT_LIMIT = 100;
const MAX_LIMIT = 1000;

type Stmt = Statement<unknown[]>;
type Row = Record<string, string | number | null>;
type KeyArgs = [string, string, string, string];

const KEY_WHERE = 'source = ? AND id = ? AND rule = ? AND target = ?';
const PENDING_COLUMNS = 'source, id, rule, target, offset, attempts, next_at, last_error, replayed';
const DEAD_COLUMNS = 'dead_id, source, id, rule, target, offset, attempts, reason, error, event, dead_at';
const TRACE_COLUMNS = 'source, id, offset, at, kind, rule, target, attempt, detail';

// Invariant: `delivered` is final. Every upsert below leaves a delivered row untouched.
const SQL = {
  pending: `INSERT INTO deliveries (source, id, rule, target, status, offset, attempts, next_at, last_error, replayed, updated_at)
    VALUES (?, ?, ?, ?, 'pending', ?, ?, ?, ?, ?, ?)
    ON CONFLICT (source, id, rule, target) DO UPDATE SET status = 'pending', offset = excluded.offset,
      attempts = excluded.attempts, next_at = excluded.next_at, last_error = excluded.last_error,
      replayed = excluded.replayed, updated_at = excluded.updated_at
    WHERE status <> 'delivered'`,
  delivered: `INSERT INTO deliveries (source, id, rule, target, status, offset, attempts, next_at, last_error, replayed, updated_at)
    VALUES (?, ?, ?, ?, 'delivered', ?, ?, NULL, NULL, 0, ?)
    ON CONFLICT (source, id, rule, target) DO UPDATE SET status = 'delivered', offset = excluded.offset,
      attempts = excluded.attempts, next_at = NULL, last_error = NULL, updated_at = excluded.updated_at
    WHERE status <> 'delivered'`,
  // Only a pending (or unseen) key becomes dead: a second `dead` for a dead key adds no second entry.
  dead: `INSERT INTO deliveries (source, id, rule, target, status, offset, attempts, next_at, last_error, replayed, updated_at)
    VALUES (?, ?, ?, ?, 'dead', ?, ?, NULL, ?, 0, ?)
    ON CONFLICT (source, id, rule, target) DO UPDATE SET status = 'dead', offset = excluded.offset,
      attempts = excluded.attempts, next_at = NULL, last_error = excluded.last_error, updated_at = excluded.updated_at
    WHERE status = 'pending'`,
  deadLetter: `INSERT INTO dead_letters (source, id, rule, target, offset, attempts, reason, error, event, dead_at)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  removeDead: 'DELETE FROM dead_letters WHERE dead_id = ?',
  trace: `INSERT INTO trace (${TRACE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  status: `SELECT status FROM deliveries WHERE ${KEY_WHERE}`,
  pendingAll: `SELECT ${PENDING_COLUMNS} FROM deliveries WHERE status = 'pending'
    ORDER BY next_at, offset, source, id, rule, target`,
  getDead: `SELECT ${DEAD_COLUMNS} FROM dead_letters WHERE dead_id = ?`,
  traceById: `SELECT ${TRACE_COLUMNS} FROM trace WHERE id = ? ORDER BY seq`,
  traceByEvent: `SELECT ${TRACE_COLUMNS} FROM trace WHERE id = ? AND source = ? ORDER BY seq`,
  pruneDelivered: `DELETE FROM deliveries WHERE status = 'delivered' AND updated_at < ?`,
  pruneTrace: 'DELETE FROM trace WHERE at < ?',
} as const;

/**
 * A DeliveryStore (src/ports/delivery-store.ts) over a database opened with `openStateDatabase`.
 * The caller owns `db` and closes it; calls after that fail with E_CLOSED.
 *
 * Every statement is prepared once; `apply` runs one transaction per call. Besides the port's
 * contract: a `dead` change only takes effect for a pending or unseen key (a repeated `dead` for a
 * dead key adds no second dead letter), and `listDead` clamps `limit` to 1..1,000.
 * @param clock stamps `pending` changes (`updated_at`); default the system clock.
 */
export function createSqliteDeliveryStore(db: SqliteDatabase, clock: Clock = systemClock): DeliveryStore {
  const stmt = guard(db, 'prepare the delivery statements', () => prepareAll(db));
  const write = db.transaction((changes: readonly DeliveryChange[]) => {
    const now = clock.now();
    for (const change of changes) applyOne(stmt, change, now);
  });
  const readStatuses = db.transaction((keys: readonly DeliveryKey[]) =>
    keys.map((k) => stmt.status.get(k.source, k.id, k.rule, k.target) as DeliveryStatus | undefined),
  );
  const prune = db.transaction(
    (before: number) => stmt.pruneDelivered.run(before).changes + stmt.pruneTrace.run(before).changes,
  );
  const filtered = createFilteredQueries(db);

  return {
    apply: async (changes) => guard(db, 'record delivery changes', () => write(changes)),
    statusOf: async (keys) => guard(db, 'read delivery statuses', () => readStatuses(keys)),
    pending: async () => guard(db, 'read pending deliveries', () => (stmt.pendingAll.all() as Row[]).map(toPending)),
    listDead: async (page = {}) => guard(db, 'list dead letters', () => filtered.list(page).map(toDeadLetter)),
    getDead: async (id) =>
      guard(db, 'read a dead letter', () => {
        const row = stmt.getDead.get(id) as Row | undefined;
        return row && toDeadLetter(row);
      }),
    countDead: async (filter = {}) => guard(db, 'count dead letters', () => filtered.count(filter)),
    trace: async (id, source) =>
      guard(db, 'read the trace', () =>
        ((source === undefined ? stmt.traceById.all(id) : stmt.traceByEvent.all(id, source)) as Row[]).map(toTrace),
      ),
    prune: async (before) => guard(db, 'prune delivery state', () => prune(before)),
  };
}

type Statements = { readonly [K in keyof typeof SQL]: Stmt };

function prepareAll(db: SqliteDatabase): Statements {
  const out: Partial<Record<keyof typeof SQL, Stmt>> = {};
  for (const [name, sql] of Object.entries(SQL)) out[name as keyof typeof SQL] = db.prepare<unknown[]>(sql);
  out.status!.pluck();
  return out as Statements;
}

function keyArgs(k: DeliveryKey): KeyArgs {
  return [k.source, k.id, k.rule, k.target];
}

function applyOne(stmt: Statements, change: DeliveryChange, now: number): void {
  switch (change.kind) {
    case 'pending': {
      const d = change.delivery;
      const error = d.lastError === undefined ? null : JSON.stringify(d.lastError);
      stmt.pending.run(...keyArgs(d.key), d.offset, d.attempts, d.nextAt, error, d.replayed ? 1 : 0, now);
      return;
    }
    case 'delivered':
      stmt.delivered.run(...keyArgs(change.key), change.offset, change.attempts, change.at);
      return;
    case 'dead':
      return applyDead(stmt, change.letter);
    case 'remove-dead':
      for (const id of change.ids) stmt.removeDead.run(id);
      return;
    case 'trace':
      return applyTrace(stmt, change.entry);
    default:
      throw new HomeostatError(
        ErrorCode.INTERNAL,
        `unknown delivery change kind ${JSON.stringify((change as { kind?: unknown }).kind)}`,
      );
  }
}

function applyDead(stmt: Statements, l: Omit<DeadLetter, 'id'>): void {
  const error = JSON.stringify(l.error);
  const key = keyArgs(l.key);
  if (stmt.dead.run(...key, l.offset, l.attempts, error, l.deadAt).changes === 0) return;
  stmt.deadLetter.run(...key, l.offset, l.attempts, l.reason, error, JSON.stringify(l.event), l.deadAt);
}

function applyTrace(stmt: Statements, e: TraceEntry): void {
  const detail = e.detail === undefined ? null : JSON.stringify(e.detail);
  stmt.trace.run(e.source, e.id, e.offset, e.at, e.kind, e.rule ?? null, e.target ?? null, e.attempt ?? null, detail);
}

/** `listDead` and `countDead`: one prepared statement per combination of filters, made on first use. */
function createFilteredQueries(db: SqliteDatabase) {
  const cache = new Map<string, Stmt>();
  const prepared = (sql: string) => {
    let s = cache.get(sql);
    if (!s) cache.set(sql, (s = db.prepare<unknown[]>(sql)));
    return s;
  };
  return {
    list(page: DeadLetterPage): Row[] {
      const { clauses, args } = whereOf(page);
      if (page.after !== undefined) {
        clauses.push('dead_id > ?');
        args.push(page.after);
      }
      const limit = Math.min(MAX_LIMIT, Math.max(1, Math.floor(page.limit ?? DEFAULT_LIMIT)));
      const sql = `SELECT ${DEAD_COLUMNS} FROM dead_letters${where(clauses)} ORDER BY dead_id LIMIT ?`;
      return prepared(sql).all(...args, limit) as Row[];
    },
    count(filter: DeadLetterFilter): number {
      const { clauses, args } = whereOf(filter);
      const sql = `SELECT COUNT(*) FROM dead_letters${where(clauses)}`;
      return prepared(sql)
        .pluck()
        .get(...args) as number;
    },
  };
}

function whereOf(f: DeadLetterFilter): { clauses: string[]; args: (string | number)[] } {
  const conditions: [string, string | number | undefined][] = [
    ['rule = ?', f.rule],
    ['target = ?', f.target],
    ['dead_at >= ?', f.since],
    ['dead_at < ?', f.until],
  ];
  const set = conditions.filter((c): c is [string, string | number] => c[1] !== undefined);
  return { clauses: set.map((c) => c[0]), args: set.map((c) => c[1]) };
}

function where(clauses: readonly string[]): string {
  return clauses.length === 0 ? '' : ` WHERE ${clauses.join(' AND ')}`;
}

function keyOf(row: Row): DeliveryKey {
  return { source: row.source as string, id: row.id as string, rule: row.rule as string, target: row.target as string };
}

function toPending(row: Row): PendingDelivery {
  const base = {
    key: keyOf(row),
    offset: row.offset as number,
    attempts: row.attempts as number,
    nextAt: row.next_at as number,
    replayed: row.replayed === 1,
  };
  return row.last_error === null
    ? base
    : { ...base, lastError: JSON.parse(row.last_error as string) as SerializedError };
}

function toDeadLetter(row: Row): DeadLetter {
  return {
    id: row.dead_id as number,
    key: keyOf(row),
    offset: row.offset as number,
    attempts: row.attempts as number,
    reason: row.reason as string,
    error: JSON.parse(row.error as string) as SerializedError,
    event: JSON.parse(row.event as string) as CloudEvent,
    deadAt: row.dead_at as number,
  };
}

function toTrace(row: Row): TraceEntry {
  const entry: { -readonly [K in keyof TraceEntry]: TraceEntry[K] } = {
    source: row.source as string,
    id: row.id as string,
    offset: row.offset as number,
    at: row.at as number,
    kind: row.kind as TraceKind,
  };
  if (row.rule !== null) entry.rule = row.rule as string;
  if (row.target !== null) entry.target = row.target as string;
  if (row.attempt !== null) entry.attempt = row.attempt as number;
  if (row.detail !== null) entry.detail = JSON.parse(row.detail as string) as Record<string, unknown>;
  return entry;
}

/** Runs `fn`, reporting SQLite failures as E_BACKEND (E_CLOSED once `db` is closed); HomeostatErrors pass through. */
function guard<T>(db: SqliteDatabase, what: string, fn: () => T): T {
  try {
    return fn();
  } catch (cause) {
    if (cause instanceof HomeostatError) throw cause;
    if (!db.open) {
      throw new HomeostatError(ErrorCode.CLOSED, `cannot ${what}: the state database is closed`, { cause });
    }
    throw new HomeostatError(ErrorCode.BACKEND, `cannot ${what} in the state database: ${(cause as Error).message}`, {
      cause,
    });
  }
}
