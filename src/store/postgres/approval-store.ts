/** @module PostgresApprovalStore: approval requests (table `approvals`) in the PostgreSQL state database. */
import type { ApprovalStore, StoredApproval } from '../../ports/workflow-store.js';
import { guard, type PostgresDatabase } from './database.js';

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
  readonly handled: boolean;
}

const COLUMNS =
  'id, kind, ref, summary, payload, status, requested_at, expires_at, decided_at, decided_by, comment, handled';

/**
 * An ApprovalStore (src/ports/workflow-store.ts) over a database opened with `openPostgres`; the
 * caller owns `db` and closes it. `decide` is one conditional UPDATE: when two nodes decide one
 * request at once, exactly one of them gets true.
 */
export function createPostgresApprovalStore(db: PostgresDatabase): ApprovalStore {
  const select = async (sql: string, args: readonly unknown[]) =>
    (await db.query<ApprovalRow>(`SELECT ${COLUMNS} FROM approvals ${sql}`, args)).rows.map(toApproval);

  async function list(filter: Parameters<ApprovalStore['list']>[0] = {}): Promise<StoredApproval[]> {
    const where: string[] = [];
    const args: string[] = [];
    for (const key of ['status', 'kind', 'ref'] as const) {
      const v = filter[key];
      if (v === undefined) continue;
      args.push(v);
      where.push(`${key} = $${args.length}`);
    }
    const limit = Math.floor(Math.min(Math.max(filter.limit ?? 100, 1), 1000));
    return select(
      `${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY requested_at DESC, id LIMIT ${limit}`,
      args,
    );
  }

  return {
    insert: (a) =>
      guard(db, 'store the approval request', async () => {
        const result = await db.query(
          `INSERT INTO approvals (${COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
           ON CONFLICT (id) DO NOTHING`,
          [
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
            a.handled,
          ],
        );
        return (result.rowCount ?? 0) > 0;
      }),
    get: (id) =>
      guard(db, 'read the approval', async () => {
        const [row] = await select('WHERE id = $1', [id]);
        return row;
      }),
    list: (filter) => guard(db, 'list the approvals', () => list(filter)),
    decide: (id, d) =>
      guard(db, 'store the decision', async () => {
        const result = await db.query(
          `UPDATE approvals SET status = $1, decided_at = $2, decided_by = $3, comment = $4 WHERE id = $5 AND status = 'pending'`,
          [d.status, d.at, d.by, d.comment ?? null, id],
        );
        return (result.rowCount ?? 0) > 0;
      }),
    markHandled: (id) =>
      guard(db, 'mark the approval handled', async () => {
        await db.query('UPDATE approvals SET handled = true WHERE id = $1', [id]);
      }),
    unhandled: (kind) =>
      guard(db, 'read the undelivered decisions', () =>
        select(`WHERE kind = $1 AND status <> 'pending' AND NOT handled ORDER BY decided_at NULLS FIRST, id`, [kind]),
      ),
    expired: (now) =>
      guard(db, 'read the expired approvals', () =>
        select(`WHERE status = 'pending' AND expires_at IS NOT NULL AND expires_at <= $1 ORDER BY expires_at, id`, [
          now,
        ]),
      ),
  };
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
    handled: row.handled,
  };
}
