/** @module PostgresLeaseStore: leases with fencing tokens (table `leases`) in the PostgreSQL state database. */
import { checkWholeMs } from '../../core/durations.js';
import type { Lease, LeaseStore } from '../../ports/lease-store.js';
import { guard, type PostgresDatabase } from './database.js';

interface LeaseRow {
  readonly name: string;
  readonly owner: string;
  readonly token: number;
  readonly expires_at: number;
}

/** The server's time in ms: clock_timestamp() (not now(), which is the transaction's start). */
const NOW = `(SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint AS ms)`;
const RETURNING = 'RETURNING name, owner, token, expires_at';

// Free, expired or ours: take it. Unexpired and ours: keep the token (a renewal); otherwise a new
// tenure, one token up. Another owner's unexpired lease: the WHERE refuses, no row returned. Two
// nodes inserting or updating the same name at once queue on the row; the second re-checks the
// WHERE against the first one's committed row, so exactly one wins. `excluded.renewed_at` carries
// the statement's one reading of the clock.
const ACQUIRE = `INSERT INTO leases (name, owner, token, expires_at, renewed_at)
  SELECT $1, $2, 1, n.ms + $3, n.ms FROM ${NOW} n
  ON CONFLICT (name) DO UPDATE SET
    token = CASE WHEN leases.owner = excluded.owner AND leases.expires_at > excluded.renewed_at
                 THEN leases.token ELSE leases.token + 1 END,
    owner = excluded.owner,
    expires_at = excluded.expires_at,
    renewed_at = excluded.renewed_at
  WHERE leases.expires_at <= excluded.renewed_at OR leases.owner = excluded.owner
  ${RETURNING}`;

const RENEW = `UPDATE leases SET expires_at = n.ms + $4, renewed_at = n.ms FROM ${NOW} n
  WHERE name = $1 AND owner = $2 AND token = $3 AND expires_at > n.ms
  ${RETURNING}`;

// The row stays (expired now) so the token never goes back.
const RELEASE = `UPDATE leases SET expires_at = n.ms FROM ${NOW} n
  WHERE name = $1 AND owner = $2 AND token = $3 AND expires_at > n.ms`;

const HOLDER = `SELECT name, owner, token, expires_at FROM leases, ${NOW} n WHERE name = $1 AND expires_at > n.ms`;

const LIST = `SELECT name, owner, token, expires_at FROM leases, ${NOW} n
  WHERE left(name, length($1)) = $1 AND expires_at > n.ms ORDER BY name`;

const FENCE = `SELECT 1 FROM leases, ${NOW} n WHERE name = $1 AND token = $2 AND expires_at > n.ms`;

/**
 * A LeaseStore (src/ports/lease-store.ts) over a database opened with `openPostgres`; the caller
 * owns `db` and closes it. Times are the server's clock, so nodes whose clocks disagree still agree
 * on who holds what; each change is one atomic statement.
 */
export function createPostgresLeaseStore(db: PostgresDatabase): LeaseStore {
  return {
    acquire: (name, owner, ttlMs) =>
      guard(db, `acquire the lease '${name}'`, async () => {
        const { rows } = await db.query<LeaseRow>(ACQUIRE, [name, owner, checkTtl(ttlMs)]);
        return rows[0] && toLease(rows[0]);
      }),
    renew: (lease, ttlMs) =>
      guard(db, `renew the lease '${lease.name}'`, async () => {
        const { rows } = await db.query<LeaseRow>(RENEW, [lease.name, lease.owner, lease.token, checkTtl(ttlMs)]);
        return rows[0] && toLease(rows[0]);
      }),
    release: (lease) =>
      guard(db, `release the lease '${lease.name}'`, async () => {
        await db.query(RELEASE, [lease.name, lease.owner, lease.token]);
      }),
    holder: (name) =>
      guard(db, `read the lease '${name}'`, async () => {
        const { rows } = await db.query<LeaseRow>(HOLDER, [name]);
        return rows[0] && toLease(rows[0]);
      }),
    list: (prefix) =>
      guard(db, `list the leases '${prefix}…'`, async () => {
        const { rows } = await db.query<LeaseRow>(LIST, [prefix]);
        return rows.map(toLease);
      }),
    checkFence: (name, token) =>
      guard(db, `check the fencing token of '${name}'`, async () => {
        if (!Number.isSafeInteger(token)) return false;
        const { rows } = await db.query(FENCE, [name, token]);
        return rows.length > 0;
      }),
  };
}

/** Rejects a TTL that is not a positive whole number of ms (a bug in the caller). */
const checkTtl = (ttlMs: number): number => checkWholeMs(ttlMs, "a lease's ttlMs");

function toLease(row: LeaseRow): Lease {
  return { name: row.name, owner: row.owner, token: row.token, expiresAt: row.expires_at };
}
