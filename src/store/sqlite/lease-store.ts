/** @module SqliteLeaseStore: leases with fencing tokens (table `leases`) in the SQLite state database. */
import type { Clock } from '../../core/clock.js';
import { systemClock } from '../../core/clock.js';
import { checkWholeMs } from '../../core/durations.js';
import { ErrorCode, HomeostatError } from '../../core/errors.js';
import type { Lease, LeaseStore } from '../../ports/lease-store.js';
import type { SqliteDatabase } from './database.js';

interface LeaseRow {
  readonly name: string;
  readonly owner: string;
  readonly token: number;
  readonly expires_at: number;
}

const RETURNING = 'RETURNING name, owner, token, expires_at';

/**
 * A LeaseStore (src/ports/lease-store.ts) over a database opened with `openStateDatabase`; the
 * caller owns `db` and closes it. Several connections (processes) may share the file: each change
 * is one statement under SQLite's write lock.
 * @param clock the store's clock: stamps `expiresAt` and decides what has expired. Default the system clock.
 */
export function createSqliteLeaseStore(db: SqliteDatabase, clock: Clock = systemClock): LeaseStore {
  const stmt = {
    // Free, expired or ours: take it. Unexpired and ours: keep the token (a renewal); otherwise a
    // new tenure, one token up. Another owner's unexpired lease: the WHERE refuses, no row returned.
    acquire: db.prepare<{ name: string; owner: string; now: number; expires: number }, LeaseRow>(
      `INSERT INTO leases (name, owner, token, expires_at, renewed_at)
       VALUES (@name, @owner, 1, @expires, @now)
       ON CONFLICT (name) DO UPDATE SET
         token = CASE WHEN leases.owner = excluded.owner AND leases.expires_at > @now
                      THEN leases.token ELSE leases.token + 1 END,
         owner = excluded.owner,
         expires_at = excluded.expires_at,
         renewed_at = excluded.renewed_at
       WHERE leases.expires_at <= @now OR leases.owner = excluded.owner
       ${RETURNING}`,
    ),
    renew: db.prepare<{ name: string; owner: string; token: number; now: number; expires: number }, LeaseRow>(
      `UPDATE leases SET expires_at = @expires, renewed_at = @now
       WHERE name = @name AND owner = @owner AND token = @token AND expires_at > @now
       ${RETURNING}`,
    ),
    // The row stays (expired now) so the token never goes back.
    release: db.prepare<{ name: string; owner: string; token: number; now: number }>(
      `UPDATE leases SET expires_at = @now
       WHERE name = @name AND owner = @owner AND token = @token AND expires_at > @now`,
    ),
    holder: db.prepare<{ name: string; now: number }, LeaseRow>(
      'SELECT name, owner, token, expires_at FROM leases WHERE name = @name AND expires_at > @now',
    ),
    list: db.prepare<{ prefix: string; now: number }, LeaseRow>(
      `SELECT name, owner, token, expires_at FROM leases
       WHERE substr(name, 1, length(@prefix)) = @prefix AND expires_at > @now ORDER BY name`,
    ),
    fence: db.prepare<{ name: string; token: number; now: number }, { ok: number }>(
      'SELECT 1 AS ok FROM leases WHERE name = @name AND token = @token AND expires_at > @now',
    ),
  };

  return {
    acquire: async (name, owner, ttlMs) =>
      guard('acquire the lease', name, () => {
        const now = clock.now();
        const row = stmt.acquire.get({ name, owner, now, expires: now + checkTtl(ttlMs) });
        return row && toLease(row);
      }),
    renew: async (lease, ttlMs) =>
      guard('renew the lease', lease.name, () => {
        const now = clock.now();
        const row = stmt.renew.get({ ...pick(lease), now, expires: now + checkTtl(ttlMs) });
        return row && toLease(row);
      }),
    release: async (lease) =>
      guard('release the lease', lease.name, () => {
        stmt.release.run({ ...pick(lease), now: clock.now() });
      }),
    holder: async (name) =>
      guard('read the lease', name, () => {
        const row = stmt.holder.get({ name, now: clock.now() });
        return row && toLease(row);
      }),
    list: async (prefix) =>
      guard('list the leases', prefix, () => stmt.list.all({ prefix, now: clock.now() }).map(toLease)),
    checkFence: async (name, token) =>
      guard('check the fencing token', name, () => stmt.fence.get({ name, token, now: clock.now() }) !== undefined),
  };
}

function pick(lease: Lease): { name: string; owner: string; token: number } {
  return { name: lease.name, owner: lease.owner, token: lease.token };
}

/** Rejects a TTL that is not a positive whole number of ms (a bug in the caller). */
const checkTtl = (ttlMs: number): number => checkWholeMs(ttlMs, "a lease's ttlMs");

function toLease(row: LeaseRow): Lease {
  return { name: row.name, owner: row.owner, token: row.token, expiresAt: row.expires_at };
}

/** Runs a statement, reporting SQLite failures as E_BACKEND and passing HomeostatErrors through. */
function guard<T>(what: string, name: string, fn: () => T): T {
  try {
    return fn();
  } catch (cause) {
    if (cause instanceof HomeostatError) throw cause;
    throw new HomeostatError(
      ErrorCode.BACKEND,
      `cannot ${what} '${name}' in the state database: ${(cause as Error).message}`,
      { cause },
    );
  }
}
