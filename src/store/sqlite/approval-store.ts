/** @module Approval requests in the SQLite state database (table `approvals`). */
import { ErrorCode, HomeostatError } from '../../core/errors.js';
import type { ApprovalStore, StoredApproval } from '../../ports/workflow-store.js';
import type { SqliteDatabase } from './database.js';

interface ApprovalRow {
  readonly id: string;
  readonly kind: string;
  readonly ref: string;
  readonly summary: string;
  readonly payload: string;
  readonly status: StoredApproval['status'];
  readonly requested_at: number;
  readonly expires_at: number | null;
  readonly decided_at: number | null;
  readonly decided_by: string | null;
  readonly comment: string | null;
  readonly handled: number;
}

const COLUMNS =
  'id, kind, ref, summary, payload, status, requested_at, expires_at, decided_at, decided_by, comment, handled';

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

function toApproval(row: ApprovalRow): StoredApproval {
  return {
    id: row.id,
    kind: row.kind,
    ref: row.ref,
    summary: row.summary,
    payload: JSON.parse(row.payload) as Record<string, unknown>,
    status: row.status,
    requestedAt: row.requested_at,
    ...(row.expires_at === null ? {} : { expiresAt: row.expires_at }),
    ...(row.decided_at === null ? {} : { decidedAt: row.decided_at }),
    ...(row.decided_by === null ? {} : { decidedBy: row.decided_by }),
    ...(row.comment === null ? {} : { comment: row.comment }),
    handled: row.handled === 1,
  };
}

/** An ApprovalStore over a database opened with `openStateDatabase`. The caller owns `db`. */
export function createSqliteApprovalStore(db: SqliteDatabase): ApprovalStore {
  const stmt = {
    insert: db.prepare(
      `INSERT INTO approvals (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
    ),
    get: db.prepare<[string], ApprovalRow>(`SELECT ${COLUMNS} FROM approvals WHERE id = ?`),
    decide: db.prepare(
      `UPDATE approvals SET status = ?, decided_at = ?, decided_by = ?, comment = ? WHERE id = ? AND status = 'pending'`,
    ),
    handled: db.prepare<[string]>(`UPDATE approvals SET handled = 1 WHERE id = ?`),
    unhandled: db.prepare<[string], ApprovalRow>(
      `SELECT ${COLUMNS} FROM approvals WHERE kind = ? AND status <> 'pending' AND handled = 0 ORDER BY decided_at, id`,
    ),
    expired: db.prepare<[number], ApprovalRow>(
      `SELECT ${COLUMNS} FROM approvals WHERE status = 'pending' AND expires_at IS NOT NULL AND expires_at <= ? ORDER BY expires_at, id`,
    ),
  };

  function list(filter: Parameters<ApprovalStore['list']>[0] = {}): StoredApproval[] {
    const where: string[] = [];
    const args: string[] = [];
    for (const key of ['status', 'kind', 'ref'] as const) {
      const v = filter[key];
      if (v === undefined) continue;
      where.push(`${key} = ?`);
      args.push(v);
    }
    const limit = Math.min(Math.max(filter.limit ?? 100, 1), 1000);
    const sql = `SELECT ${COLUMNS} FROM approvals ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY requested_at DESC, id LIMIT ${limit}`;
    return db
      .prepare<string[], ApprovalRow>(sql)
      .all(...args)
      .map(toApproval);
  }

  return {
    insert: async (a) =>
      guard(
        'store the approval request',
        () =>
          stmt.insert.run(
            a.id,
            a.kind,
            a.ref,
            a.summary,
            JSON.stringify(a.payload),
            a.status,
            a.requestedAt,
            a.expiresAt ?? null,
            a.decidedAt ?? null,
            a.decidedBy ?? null,
            a.comment ?? null,
            a.handled ? 1 : 0,
          ).changes > 0,
      ),
    get: async (id) =>
      guard('read the approval', () => {
        const row = stmt.get.get(id);
        return row && toApproval(row);
      }),
    list: async (filter) => guard('list the approvals', () => list(filter)),
    decide: async (id, d) =>
      guard('store the decision', () => stmt.decide.run(d.status, d.at, d.by, d.comment ?? null, id).changes > 0),
    markHandled: async (id) => guard('mark the approval handled', () => void stmt.handled.run(id)),
    unhandled: async (kind) => guard('read the undelivered decisions', () => stmt.unhandled.all(kind).map(toApproval)),
    expired: async (now) => guard('read the expired approvals', () => stmt.expired.all(now).map(toApproval)),
  };
}
