/** @module SqliteIncidentStore: incident records (table `incidents`) in the SQLite state database. */
import { ErrorCode, HomeostatError } from '../../core/errors.js';
import type { Incident, IncidentSeverity, IncidentStatus, TimelineEntry } from '../../core/healing/types.js';
import type { IncidentFilter, IncidentStore } from '../../ports/incident-store.js';
import type { SqliteDatabase } from './database.js';

interface IncidentRow {
  readonly id: string;
  readonly title: string;
  readonly severity: string;
  readonly status: string;
  readonly resource: string;
  readonly grp: string | null;
  readonly policy: string;
  readonly opened_at: number;
  readonly resolved_at: number | null;
  readonly resolved_by: string | null;
  readonly details: string;
  readonly timeline: string;
}

const COLUMNS =
  'id, title, severity, status, resource, grp, policy, opened_at, resolved_at, resolved_by, details, timeline';
const DEFAULT_LIMIT = 100;

/** An IncidentStore over a database opened with `openStateDatabase`. The caller owns `db` and closes it. */
export function createSqliteIncidentStore(db: SqliteDatabase): IncidentStore {
  const stmt = {
    put: db.prepare(
      `INSERT OR REPLACE INTO incidents (${COLUMNS}) VALUES (@id, @title, @severity, @status, @resource, @grp, @policy, @opened_at, @resolved_at, @resolved_by, @details, @timeline)`,
    ),
    get: db.prepare<[string], IncidentRow>(`SELECT ${COLUMNS} FROM incidents WHERE id = ?`),
    open: db.prepare<[string, string], IncidentRow>(
      `SELECT ${COLUMNS} FROM incidents WHERE policy = ? AND resource = ? AND status = 'open' ORDER BY opened_at DESC LIMIT 1`,
    ),
    list: db.prepare<[{ status: string | null; policy: string | null; limit: number }], IncidentRow>(
      `SELECT ${COLUMNS} FROM incidents
       WHERE (@status IS NULL OR status = @status) AND (@policy IS NULL OR policy = @policy)
       ORDER BY opened_at DESC, id DESC LIMIT @limit`,
    ),
  };

  return {
    put: async (incident) => guard('store the incident', () => void stmt.put.run(toRow(incident))),
    get: async (id) =>
      guard('read the incident', () => {
        const row = stmt.get.get(id);
        return row && toIncident(row);
      }),
    list: async (filter: IncidentFilter = {}) =>
      guard('list incidents', () =>
        stmt.list
          .all({ status: filter.status ?? null, policy: filter.policy ?? null, limit: filter.limit ?? DEFAULT_LIMIT })
          .map(toIncident),
      ),
    findOpen: async (policy, resource) =>
      guard('find the open incident', () => {
        const row = stmt.open.get(policy, resource);
        return row && toIncident(row);
      }),
  };
}

function toRow(i: Incident): IncidentRow {
  return {
    id: i.id,
    title: i.title,
    severity: i.severity,
    status: i.status,
    resource: i.resource,
    grp: i.group ?? null,
    policy: i.policy,
    opened_at: i.openedAt,
    resolved_at: i.resolvedAt ?? null,
    resolved_by: i.resolvedBy ?? null,
    details: JSON.stringify(i.details),
    timeline: JSON.stringify(i.timeline),
  };
}

function toIncident(row: IncidentRow): Incident {
  return {
    id: row.id,
    title: row.title,
    severity: row.severity as IncidentSeverity,
    status: row.status as IncidentStatus,
    resource: row.resource,
    ...(row.grp === null ? {} : { group: row.grp }),
    policy: row.policy,
    openedAt: row.opened_at,
    ...(row.resolved_at === null ? {} : { resolvedAt: row.resolved_at }),
    ...(row.resolved_by === null ? {} : { resolvedBy: row.resolved_by }),
    details: JSON.parse(row.details) as Record<string, unknown>,
    timeline: JSON.parse(row.timeline) as TimelineEntry[],
  };
}

/** Runs a statement, reporting SQLite failures as E_BACKEND. */
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
