/** @module The cost ledger (ports/cost-ledger.ts) in the PostgreSQL state database (tables cost_* and finops_state). */
import type { Clock } from '../../core/clock.js';
import { systemClock } from '../../core/clock.js';
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
import { createSerialRunner, guard, type PostgresDatabase, type Queryable } from './database.js';

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
const INTERVAL_COLUMNS =
  'instance, start_at, end_at, grp, stack, tags, provider, instance_type, price, start_event, start_cause, end_event, end_cause';
const CHANGE_COLUMNS =
  'at, kind, instance, grp, stack, tags, instance_type, delta, rate_after, event_id, event_type, cause_id';
const CAUSE_COLUMNS = 'id, type, subject, causation_id, summary, at';

/** Collects positional parameters: `p(value)` appends one and returns its placeholder. */
function params(): { values: unknown[]; p: (value: unknown) => string } {
  const values: unknown[] = [];
  return { values, p: (value) => `$${values.push(value)}` };
}

/**
 * A CostLedger over a database opened with `openPostgres`. The caller owns `db` and closes it;
 * calls after that fail with E_CLOSED. This ledger's writes run one after another, each in one
 * transaction. Tags are JSON text, read with `::json` in the queries.
 * @param clock stamps state rows; default the system clock.
 */
export function createPostgresCostLedger(db: PostgresDatabase, clock: Clock = systemClock): CostLedger {
  const serial = createSerialRunner();
  const inTx = <T>(fn: (tx: Queryable) => Promise<T>) => serial(() => db.transaction(fn));

  const put = async (q: Queryable, key: string, value: unknown): Promise<void> => {
    if (value === null || value === undefined) {
      await q.query('DELETE FROM finops_state WHERE key = $1', [key]);
      return;
    }
    await q.query(
      `INSERT INTO finops_state (key, value, updated_at) VALUES ($1, $2, $3)
       ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
      [key, JSON.stringify(value), clock.now()],
    );
  };

  const commit = (step: LedgerStep) =>
    inTx(async (tx) => {
      if (step.close) {
        const c = step.close;
        await tx.query(
          `UPDATE cost_intervals SET end_at = $1, end_event = $2, end_cause = $3
           WHERE instance = $4 AND start_at = $5 AND end_at IS NULL`,
          [c.end, c.endEvent, c.endCause ?? null, c.instance, c.start],
        );
      }
      if (step.open) {
        const i = step.open;
        // Replaces the whole row, as SQLite's INSERT OR REPLACE: a reopened interval has no end.
        await tx.query(
          `INSERT INTO cost_intervals (${INTERVAL_COLUMNS}) VALUES ($1, $2, NULL, $3, $4, $5, $6, $7, $8, $9, $10, NULL, NULL)
           ON CONFLICT (instance, start_at) DO UPDATE SET end_at = NULL, grp = excluded.grp, stack = excluded.stack,
             tags = excluded.tags, provider = excluded.provider, instance_type = excluded.instance_type,
             price = excluded.price, start_event = excluded.start_event, start_cause = excluded.start_cause,
             end_event = NULL, end_cause = NULL`,
          [
            i.instance,
            i.start,
            i.group,
            i.stack ?? null,
            JSON.stringify(i.tags),
            i.provider,
            i.instanceType,
            i.pricePerHour,
            i.startEvent,
            i.startCause ?? null,
          ],
        );
      }
      if (step.change) {
        const c = step.change;
        await tx.query(
          `INSERT INTO cost_changes (${CHANGE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
          [
            c.at,
            c.kind,
            c.instance,
            c.group,
            c.stack ?? null,
            JSON.stringify(c.tags),
            c.instanceType,
            c.deltaPerHour,
            c.rateAfter,
            c.eventId,
            c.eventType,
            c.causeId ?? null,
          ],
        );
      }
      for (const c of step.causes ?? []) {
        await tx.query(
          `INSERT INTO cost_causes (${CAUSE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO NOTHING`,
          [c.id, c.type, c.subject ?? null, c.causationId ?? null, c.summary, c.at],
        );
      }
      for (const [key, value] of Object.entries(step.state ?? {})) await put(tx, key, value);
    });

  const prune = (before: number) =>
    inTx(async (tx) => {
      let removed = 0;
      for (const sql of [
        'DELETE FROM cost_intervals WHERE end_at IS NOT NULL AND end_at < $1',
        'DELETE FROM cost_changes WHERE at < $1',
        'DELETE FROM cost_causes WHERE at < $1',
      ]) {
        removed += (await tx.query(sql, [before])).rowCount ?? 0;
      }
      return removed;
    });

  return {
    commit: (step) => guard(db, 'record a cost change', () => commit(step)),
    openIntervals: () =>
      guard(db, 'read open cost intervals', async () => {
        const { rows } = await db.query<IntervalRow>(
          `SELECT ${INTERVAL_COLUMNS} FROM cost_intervals WHERE end_at IS NULL ORDER BY start_at`,
        );
        return rows.map(toInterval);
      }),
    closedCost: (q) => guard(db, 'sum costs', () => closedCost(db, q)),
    changes: (q) => guard(db, 'read cost changes', () => changes(db, q)),
    causes: (ids) =>
      guard(db, 'read cost causes', async () => {
        const out = new Map<string, CauseRecord>();
        if (ids.length === 0) return out;
        const { rows } = await db.query<CauseRow>(
          `SELECT ${CAUSE_COLUMNS} FROM cost_causes WHERE id = ANY($1::text[])`,
          [ids],
        );
        for (const r of rows) out.set(r.id, toCause(r));
        return out;
      }),
    getState: (key) =>
      guard(db, `read ${key}`, async () => {
        const { rows } = await db.query<{ value: string }>('SELECT value FROM finops_state WHERE key = $1', [key]);
        return rows[0] === undefined ? undefined : (JSON.parse(rows[0].value) as unknown);
      }),
    putState: (key, value) => guard(db, `write ${key}`, () => serial(() => put(db, key, value))),
    prune: (before) => guard(db, 'prune the cost ledger', async () => ({ removed: await prune(before) })),
  };
}

/** WHERE clauses for a scope; tags through `->>` on the JSON text. */
function scopeSql(scope: CostScope | undefined, p: (value: unknown) => string): string[] {
  const where: string[] = [];
  if (scope?.stack !== undefined) where.push(`stack = ${p(scope.stack)}`);
  if (scope?.group !== undefined) where.push(`grp = ${p(scope.group)}`);
  for (const [k, v] of Object.entries(scope?.tags ?? {})) where.push(`(tags::json ->> ${p(k)}::text) = ${p(v)}::text`);
  return where;
}

async function closedCost(db: PostgresDatabase, q: ClosedCostQuery): Promise<{ key: string; cost: number }[]> {
  const { values, p } = params();
  // float8 like SQLite's numbers: a fractional bound works, integers below 2^53 stay exact.
  const from$ = `${p(q.from)}::float8`;
  const to$ = `${p(q.to)}::float8`;
  const where = ['end_at IS NOT NULL', `start_at < ${to$}`, `end_at > ${from$}`, ...scopeSql(q.scope, p)];
  let key: string;
  let from = 'cost_intervals';
  if (q.by === 'total') key = "''";
  else if (q.by === 'group') key = 'grp';
  else if (q.by === 'stack') key = "COALESCE(stack, '(none)')";
  else if (q.tagKey !== undefined) key = `COALESCE(tags::json ->> ${p(q.tagKey)}::text, '(none)')`;
  else {
    // One row per key=value pair; untagged intervals under (none).
    from = 'cost_intervals LEFT JOIN LATERAL json_each_text(cost_intervals.tags::json) AS t (key, value) ON true';
    key = "COALESCE(t.key || '=' || t.value, '(none)')";
  }
  // Same arithmetic as SQLite: price × overlap ms / ms per hour, in double precision.
  const cost = `price * (LEAST(end_at, ${to$}) - GREATEST(start_at, ${from$})) / ${HOUR}.0`;
  const sql = `SELECT ${key} AS key, SUM(${cost}) AS cost FROM ${from} WHERE ${where.join(' AND ')} GROUP BY 1`;
  return (await db.query<{ key: string; cost: number }>(sql, values)).rows;
}

async function changes(
  db: PostgresDatabase,
  q: { since?: number; scope?: CostScope; limit: number },
): Promise<CostChange[]> {
  const { values, p } = params();
  const where = scopeSql(q.scope, p);
  if (q.since !== undefined) where.push(`at >= ${p(q.since)}`);
  const limit = q.limit < 0 ? 'ALL' : p(Math.floor(q.limit));
  const sql = `SELECT ${CHANGE_COLUMNS} FROM cost_changes ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''}
    ORDER BY seq DESC LIMIT ${limit}`;
  return (await db.query<ChangeRow>(sql, values)).rows.map(toChange);
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
