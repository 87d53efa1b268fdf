/** @module PostgresIncidentStore: incident records (table `incidents`) in the PostgreSQL state database. */
import type { Incident, IncidentSeverity, IncidentStatus, TimelineEntry } from '../../core/healing/types.js';
import type { IncidentFilter, IncidentStore } from '../../ports/incident-store.js';
import { guard, type PostgresDatabase } from './database.js';

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
const UPDATES = COLUMNS.split(', ')
  .filter((c) => c !== 'id')
  .map((c) => `${c} = excluded.${c}`)
  .join(', ');
const DEFAULT_LIMIT = 100;

/**
 * An IncidentStore (src/ports/incident-store.ts) over a database opened with `openPostgres`; the
 * caller owns `db` and closes it. `put` is one upsert: the last write wins.
 */
export function createPostgresIncidentStore(db: PostgresDatabase): IncidentStore {
  return {
    put: (incident) =>
      guard(db, 'store the incident', async () => {
        const r = toRow(incident);
        await db.query(
          `INSERT INTO incidents (${COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
           ON CONFLICT (id) DO UPDATE SET ${UPDATES}`,
          [
            r.id,
            r.title,
            r.severity,
            r.status,
            r.resource,
            r.grp,
            r.policy,
            r.opened_at,
            r.resolved_at,
            r.resolved_by,
            r.details,
            r.timeline,
          ],
        );
      }),
    get: (id) =>
      guard(db, 'read the incident', async () => {
        const { rows } = await db.query<IncidentRow>(`SELECT ${COLUMNS} FROM incidents WHERE id = $1`, [id]);
        return rows[0] && toIncident(rows[0]);
      }),
    list: (filter: IncidentFilter = {}) =>
      guard(db, 'list incidents', async () => {
        const { rows } = await db.query<IncidentRow>(
          `SELECT ${COLUMNS} FROM incidents
           WHERE ($1::text IS NULL OR status = $1) AND ($2::text IS NULL OR policy = $2)
           ORDER BY opened_at DESC, id DESC LIMIT $3`,
          [filter.status ?? null, filter.policy ?? null, limitOf(filter.limit)],
        );
        return rows.map(toIncident);
      }),
    findOpen: (policy, resource) =>
      guard(db, 'find the open incident', async () => {
        const { rows } = await db.query<IncidentRow>(
          `SELECT ${COLUMNS} FROM incidents WHERE policy = $1 AND resource = $2 AND status = 'open'
           ORDER BY opened_at DESC LIMIT 1`,
          [policy, resource],
        );
        return rows[0] && toIncident(rows[0]);
      }),
  };
}

/** SQLite's LIMIT takes a negative limit as "no limit"; PostgreSQL's takes NULL. */
function limitOf(limit: number | undefined): number | null {
  if (limit === undefined) return DEFAULT_LIMIT;
  return limit < 0 ? null : Math.floor(limit);
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
