/** @module SqliteTokenStore: hashed API tokens, in the SQLite state database. */
import type { Clock } from '../../core/clock.js';
import { systemClock } from '../../core/clock.js';
import { ErrorCode, HomeostatError } from '../../core/errors.js';
import type { Scope, TokenRecord, TokenStore } from '../../ports/token-store.js';
import type { SqliteDatabase } from './database.js';

interface TokenRow {
  readonly id: string;
  readonly name: string;
  readonly scopes: string;
  readonly hash: string;
  readonly created_at: number;
}

const COLUMNS = 'id, name, scopes, hash, created_at';

/**
 * A TokenStore over a database opened with `openStateDatabase`. The caller owns `db` and closes it.
 * Adding an id that exists is E_CONFLICT. `list` is ordered by creation time, then id.
 * @param clock stamps records whose `createdAt` is not a finite number; default the system clock.
 */
export function createSqliteTokenStore(db: SqliteDatabase, clock: Clock = systemClock): TokenStore {
  const stmt = {
    insert: db.prepare<[string, string, string, string, number]>(
      `INSERT INTO tokens (${COLUMNS}) VALUES (?, ?, ?, ?, ?)`,
    ),
    find: db.prepare<[string], TokenRow>(`SELECT ${COLUMNS} FROM tokens WHERE id = ?`),
    list: db.prepare<[], TokenRow>(`SELECT ${COLUMNS} FROM tokens ORDER BY created_at, id`),
    remove: db.prepare<[string]>('DELETE FROM tokens WHERE id = ?'),
    count: db.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM tokens'),
  };

  function add(record: TokenRecord): void {
    const createdAt = Number.isFinite(record.createdAt) ? record.createdAt : clock.now();
    try {
      stmt.insert.run(record.id, record.name, JSON.stringify(record.scopes), record.hash, createdAt);
    } catch (cause) {
      if ((cause as { code?: unknown }).code !== 'SQLITE_CONSTRAINT_PRIMARYKEY') throw cause;
      throw new HomeostatError(ErrorCode.CONFLICT, `a token with id '${record.id}' already exists; issue a new token`, {
        cause,
      });
    }
  }

  return {
    add: async (record) => guard('add the token', () => add(record)),
    find: async (id) =>
      guard('find the token', () => {
        const row = stmt.find.get(id);
        return row && toRecord(row);
      }),
    list: async () => guard('list the tokens', () => stmt.list.all().map(toRecord)),
    remove: async (id) => guard('remove the token', () => stmt.remove.run(id).changes > 0),
    count: async () => guard('count the tokens', () => stmt.count.get()!.n),
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

/** Runs a statement, reporting SQLite failures as E_BACKEND and passing HomeostatErrors through. */
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
