/** @module SQL for filtered, paged reads of the events table, with a statement cache per shape. */

import type Database from 'better-sqlite3';
import type { CloudEvent } from '../../core/event.js';
import type { LogRecord, QueryFilter } from '../../ports/event-log.js';
import type { SqliteDatabase } from '../../store/sqlite/database.js';

export interface EventRow {
  readonly offset: number;
  readonly partition: number;
  readonly partition_key: string;
  readonly appended_at: number;
  readonly body: string;
}

export function toRecord(row: EventRow): LogRecord {
  return {
    offset: row.offset,
    partition: row.partition,
    partitionKey: row.partition_key,
    appendedAt: row.appended_at,
    event: JSON.parse(row.body) as CloudEvent,
  };
}

export interface CompiledQueryInput extends Omit<QueryFilter, 'since' | 'until'> {
  readonly partitions?: readonly number[];
  /** Offsets: [fromOffset, toOffset). */
  readonly fromOffset?: number;
  readonly toOffset?: number;
  readonly after?: number;
  readonly order?: 'asc' | 'desc';
  readonly limit: number;
}

const cache = new WeakMap<SqliteDatabase, Map<string, Database.Statement<unknown[], EventRow>>>();

function inList(column: string, values: readonly unknown[] | undefined, where: string[], params: unknown[]): void {
  if (values === undefined || values.length === 0) return;
  where.push(`${column} IN (${values.map(() => '?').join(',')})`);
  params.push(...values);
}

/** Builds (or reuses) a prepared statement for the filter and binds its parameters. */
export function compileQuery(db: SqliteDatabase, q: CompiledQueryInput): { all(): EventRow[] } {
  const where: string[] = [];
  const params: unknown[] = [];
  const desc = q.order === 'desc';
  inList('type', q.types, where, params);
  inList('source', q.sources, where, params);
  inList('subject', q.subjects, where, params);
  inList('partition', q.partitions, where, params);
  if (q.fromOffset !== undefined) {
    where.push('"offset" >= ?');
    params.push(q.fromOffset);
  }
  if (q.toOffset !== undefined) {
    where.push('"offset" < ?');
    params.push(q.toOffset);
  }
  if (q.after !== undefined) {
    where.push(desc ? '"offset" < ?' : '"offset" > ?');
    params.push(q.after);
  }
  const sql =
    'SELECT "offset", partition, partition_key, appended_at, body FROM events' +
    (where.length > 0 ? ` WHERE ${where.join(' AND ')}` : '') +
    ` ORDER BY "offset" ${desc ? 'DESC' : 'ASC'} LIMIT ?`;
  params.push(q.limit);
  let stmts = cache.get(db);
  if (stmts === undefined) {
    stmts = new Map();
    cache.set(db, stmts);
  }
  let stmt = stmts.get(sql);
  if (stmt === undefined) {
    if (stmts.size > 256) stmts.clear();
    stmt = db.prepare<unknown[], EventRow>(sql);
    stmts.set(sql, stmt);
  }
  const bound = stmt;
  return { all: () => bound.all(...params) };
}
