/** @module The cost ledger (ports/cost-ledger.ts) in the SQLite state database (tables cost_* and finops_state). */
import type { Clock } from '../../core/clock.js';
import { systemClock } from '../../core/clock.js';
import { ErrorCode, HomeostatError } from '../../core/errors.js';
import type { CostScope } from '../../core/cost/types.js';
import type {
  CauseRecord,
  ClosedCostQuery,
  CostChange,
  CostChangeKind,
  CostLedger,
  LedgerInterval,
  LedgerStep,
} from '../../ports/cost-ledger.js';
import type { SqliteDatabase } from './database.js';

interface IntervalRow {
  instance: string;
  start_at: number;
  end_at: number | null;
  grp: string;
  stack: string | null;
  tags: string;
  provider: string;
  instance_type: string;
  price: number;
  start_event: string;
  start_cause: string | null;
  end_event: string | null;
  end_cause: string | null;
}

interface ChangeRow {
  at: number;
  kind: string;
  instance: string;
  grp: string;
  stack: string | null;
  tags: string;
  instance_type: string;
  delta: number;
  rate_after: number;
  event_id: string;
  event_type: string;
  cause_id: string | null;
}

interface CauseRow {
  id: string;
  type: string;
  subject: string | null;
  causation_id: string | null;
  summary: string;
  at: number;
}

const HOUR = 3_600_000;

/** Cost of the closed intervals overlapping [?1, ?2): price × overlap hours. */
const OVERLAP_COST = `price * (MIN(end_at, @to) - MAX(start_at, @from)) / ${HOUR}.0`;

/**
 * A CostLedger over a database opened with `openStateDatabase`. The caller owns `db` and closes it.
 * @param clock stamps state rows; default the system clock.
 */
export function createSqliteCostLedger(db: SqliteDatabase, clock: Clock = systemClock): CostLedger {
  const s = {
    open: db.prepare(
      `INSERT OR REPLACE INTO cost_intervals (instance, start_at, end_at, grp, stack, tags, provider, instance_type, price, start_event, start_cause)
       VALUES (@instance, @start, NULL, @group, @stack, @tags, @provider, @instanceType, @pricePerHour, @startEvent, @startCause)`,
    ),
    close: db.prepare(
      `UPDATE cost_intervals SET end_at = @end, end_event = @endEvent, end_cause = @endCause
       WHERE instance = @instance AND start_at = @start AND end_at IS NULL`,
    ),
    change: db.prepare(
      `INSERT INTO cost_changes (at, kind, instance, grp, stack, tags, instance_type, delta, rate_after, event_id, event_type, cause_id)
       VALUES (@at, @kind, @instance, @group, @stack, @tags, @instanceType, @deltaPerHour, @rateAfter, @eventId, @eventType, @causeId)`,
    ),
    cause: db.prepare(
      `INSERT OR IGNORE INTO cost_causes (id, type, subject, causation_id, summary, at)
       VALUES (@id, @type, @subject, @causationId, @summary, @at)`,
    ),
    openAll: db.prepare<[], IntervalRow>('SELECT * FROM cost_intervals WHERE end_at IS NULL ORDER BY start_at'),
    getState: db.prepare<[string], { value: string }>('SELECT value FROM finops_state WHERE key = ?'),
    putState: db.prepare<[string, string, number]>(
      'INSERT INTO finops_state (key, value, updated_at) VALUES (?, ?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at',
    ),
    deleteState: db.prepare<[string]>('DELETE FROM finops_state WHERE key = ?'),
  };

  const put = (key: string, value: unknown): void => {
    if (value === null || value === undefined) s.deleteState.run(key);
    else s.putState.run(key, JSON.stringify(value), clock.now());
  };

  const commit = db.transaction((step: LedgerStep) => {
    if (step.close) s.close.run({ endCause: null, ...step.close });
    if (step.open) s.open.run(intervalParams(step.open));
    if (step.change) s.change.run(changeParams(step.change));
    for (const c of step.causes ?? []) {
      s.cause.run({ subject: null, causationId: null, ...c });
    }
    for (const [key, value] of Object.entries(step.state ?? {})) put(key, value);
  });

  const prune = db.transaction((before: number) => {
    let removed = db.prepare('DELETE FROM cost_intervals WHERE end_at IS NOT NULL AND end_at < ?').run(before).changes;
    removed += db.prepare('DELETE FROM cost_changes WHERE at < ?').run(before).changes;
    removed += db.prepare('DELETE FROM cost_causes WHERE at < ?').run(before).changes;
    return removed;
  });

  return {
    commit: async (step) => guard(db, 'record a cost change', () => commit(step)),
    openIntervals: async () => guard(db, 'read open cost intervals', () => s.openAll.all().map(toInterval)),
    closedCost: async (q) => guard(db, 'sum costs', () => closedCost(db, q)),
    changes: async (q) => guard(db, 'read cost changes', () => changes(db, q)),
    causes: async (ids) =>
      guard(db, 'read cost causes', () => {
        const out = new Map<string, CauseRecord>();
        for (let i = 0; i < ids.length; i += 500) {
          const chunk = ids.slice(i, i + 500);
          const rows = db
            .prepare<string[], CauseRow>(`SELECT * FROM cost_causes WHERE id IN (${chunk.map(() => '?').join(',')})`)
            .all(...chunk);
          for (const r of rows) out.set(r.id, toCause(r));
        }
        return out;
      }),
    getState: async (key) =>
      guard(db, `read ${key}`, () => {
        const row = s.getState.get(key);
        return row === undefined ? undefined : (JSON.parse(row.value) as unknown);
      }),
    putState: async (key, value) => guard(db, `write ${key}`, () => put(key, value)),
    prune: async (before) => guard(db, 'prune the cost ledger', () => ({ removed: prune(before) })),
  };
}

function intervalParams(i: LedgerInterval): Record<string, unknown> {
  return {
    instance: i.instance,
    start: i.start,
    group: i.group,
    stack: i.stack ?? null,
    tags: JSON.stringify(i.tags),
    provider: i.provider,
    instanceType: i.instanceType,
    pricePerHour: i.pricePerHour,
    startEvent: i.startEvent,
    startCause: i.startCause ?? null,
  };
}

function changeParams(c: CostChange): Record<string, unknown> {
  return {
    at: c.at,
    kind: c.kind,
    instance: c.instance,
    group: c.group,
    stack: c.stack ?? null,
    tags: JSON.stringify(c.tags),
    instanceType: c.instanceType,
    deltaPerHour: c.deltaPerHour,
    rateAfter: c.rateAfter,
    eventId: c.eventId,
    eventType: c.eventType,
    causeId: c.causeId ?? null,
  };
}

/** WHERE clauses (and their parameters) for a scope; tags through json_extract. */
function scopeSql(scope: CostScope | undefined, params: Record<string, unknown>): string[] {
  const where: string[] = [];
  if (scope?.stack !== undefined) {
    where.push('stack = @stack');
    params.stack = scope.stack;
  }
  if (scope?.group !== undefined) {
    where.push('grp = @group');
    params.group = scope.group;
  }
  Object.entries(scope?.tags ?? {}).forEach(([k, v], n) => {
    where.push(`json_extract(tags, @tagPath${n}) = @tagValue${n}`);
    params[`tagPath${n}`] = `$."${k.replaceAll('"', '""')}"`;
    params[`tagValue${n}`] = v;
  });
  return where;
}

function closedCost(db: SqliteDatabase, q: ClosedCostQuery): { key: string; cost: number }[] {
  const params: Record<string, unknown> = { from: q.from, to: q.to };
  const where = ['end_at IS NOT NULL', 'start_at < @to', 'end_at > @from', ...scopeSql(q.scope, params)];
  let key: string;
  let from = 'cost_intervals';
  if (q.by === 'total') key = "''";
  else if (q.by === 'group') key = 'grp';
  else if (q.by === 'stack') key = "COALESCE(stack, '(none)')";
  else if (q.tagKey !== undefined) {
    key = "COALESCE(json_extract(tags, @tagKey), '(none)')";
    params.tagKey = `$."${q.tagKey.replaceAll('"', '""')}"`;
  } else {
    // One row per key=value pair; untagged intervals under (none).
    from = 'cost_intervals LEFT JOIN json_each(cost_intervals.tags) AS t';
    key = "COALESCE(t.key || '=' || t.value, '(none)')";
  }
  const sql = `SELECT ${key} AS key, SUM(${OVERLAP_COST}) AS cost FROM ${from} WHERE ${where.join(' AND ')} GROUP BY 1`;
  return db.prepare<Record<string, unknown>, { key: string; cost: number }>(sql).all(params);
}

function changes(db: SqliteDatabase, q: { since?: number; scope?: CostScope; limit: number }): CostChange[] {
  const params: Record<string, unknown> = { limit: q.limit };
  const where = scopeSql(q.scope, params);
  if (q.since !== undefined) {
    where.push('at >= @since');
    params.since = q.since;
  }
  const sql = `SELECT * FROM cost_changes ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY seq DESC LIMIT @limit`;
  return db.prepare<Record<string, unknown>, ChangeRow>(sql).all(params).map(toChange);
}

function toInterval(r: IntervalRow): LedgerInterval {
  return {
    instance: r.instance,
    group: r.grp,
    ...(r.stack === null ? {} : { stack: r.stack }),
    tags: JSON.parse(r.tags) as Record<string, string>,
    provider: r.provider,
    instanceType: r.instance_type,
    pricePerHour: r.price,
    start: r.start_at,
    ...(r.end_at === null ? {} : { end: r.end_at }),
    startEvent: r.start_event,
    ...(r.start_cause === null ? {} : { startCause: r.start_cause }),
    ...(r.end_event === null ? {} : { endEvent: r.end_event }),
    ...(r.end_cause === null ? {} : { endCause: r.end_cause }),
  };
}

function toChange(r: ChangeRow): CostChange {
  return {
    at: r.at,
    kind: r.kind as CostChangeKind,
    instance: r.instance,
    group: r.grp,
    ...(r.stack === null ? {} : { stack: r.stack }),
    tags: JSON.parse(r.tags) as Record<string, string>,
    instanceType: r.instance_type,
    deltaPerHour: r.delta,
    rateAfter: r.rate_after,
    eventId: r.event_id,
    eventType: r.event_type,
    ...(r.cause_id === null ? {} : { causeId: r.cause_id }),
  };
}

function toCause(r: CauseRow): CauseRecord {
  return {
    id: r.id,
    type: r.type,
    ...(r.subject === null ? {} : { subject: r.subject }),
    ...(r.causation_id === null ? {} : { causationId: r.causation_id }),
    summary: r.summary,
    at: r.at,
  };
}

/** Runs `fn`, reporting SQLite failures as E_BACKEND (E_CLOSED once `db` is closed); HomeostatErrors pass through. */
function guard<T>(db: SqliteDatabase, what: string, fn: () => T): T {
  try {
    return fn();
  } catch (cause) {
    if (cause instanceof HomeostatError) throw cause;
    if (!db.open) throw new HomeostatError(ErrorCode.CLOSED, `cannot ${what}: the state database is closed`, { cause });
    throw new HomeostatError(ErrorCode.BACKEND, `cannot ${what} in the state database: ${(cause as Error).message}`, {
      cause,
    });
  }
}
