/** @module PostgresTokenStore: hashed API tokens (table `tokens`) in the PostgreSQL state database. */
import type { Clock } from '../../core/clock.js';
import { systemClock } from '../../core/clock.js';
import { ErrorCode, HomeostatError } from '../../core/errors.js';
import type { Scope, TokenRecord, TokenStore } from '../../ports/token-store.js';
import { guard, isUniqueViolation, type PostgresDatabase } from './database.js';

interface TokenRow {
  readonly id: string;
  readonly name: string;
  readonly scopes: string;
  readonly hash: string;
  readonly created_at: number;
}

const COLUMNS = 'id, name, scopes, hash, created_at';

/**
 * A TokenStore (src/ports/token-store.ts) over a database opened with `openPostgres`; the caller
 * owns `db` and closes it. Adding an id that exists is E_CONFLICT (also when another node added
 * it). `list` is ordered by creation time, then id.
 * @param clock stamps records whose `createdAt` is not a finite number; default the system clock.
 */
export function createPostgresTokenStore(db: PostgresDatabase, clock: Clock = systemClock): TokenStore {
  async function add(record: TokenRecord): Promise<void> {
    const createdAt = Number.isFinite(record.createdAt) ? record.createdAt : clock.now();
    try {
      await db.query(`INSERT INTO tokens (${COLUMNS}) VALUES ($1, $2, $3, $4, $5)`, [
        record.id,
        record.name,
        JSON.stringify(record.scopes),
        record.hash,
        createdAt,
      ]);
    } catch (cause) {
      if (!isUniqueViolation(cause)) throw cause;
      throw new HomeostatError(ErrorCode.CONFLICT, `a token with id '${record.id}' already exists; issue a new token`, {
        cause,
      });
    }
  }

  return {
    add: (record) => guard(db, 'add the token', () => add(record)),
    find: (id) =>
      guard(db, 'find the token', async () => {
        const { rows } = await db.query<TokenRow>(`SELECT ${COLUMNS} FROM tokens WHERE id = $1`, [id]);
        return rows[0] && toRecord(rows[0]);
      }),
    list: () =>
      guard(db, 'list the tokens', async () => {
        const { rows } = await db.query<TokenRow>(`SELECT ${COLUMNS} FROM tokens ORDER BY created_at, id`);
        return rows.map(toRecord);
      }),
    remove: (id) =>
      guard(db, 'remove the token', async () => {
        const result = await db.query('DELETE FROM tokens WHERE id = $1', [id]);
        return (result.rowCount ?? 0) > 0;
      }),
    count: () =>
      guard(db, 'count the tokens', async () => {
        const { rows } = await db.query<{ n: number }>('SELECT COUNT(*) AS n FROM tokens');
        return rows[0]!.n;
      }),
  };
}

function toRecord(row: TokenRow): TokenRecord {
  return {
    id: row.id,
    name: row.name,
    scopes: JSON.parse(row.scopes) as Scope[],
    hash: row.hash,
    createdAt: row.created_at,
  };
}
