/** @module SqliteSchemaStore: versioned JSON Schemas per event type, in the SQLite state database. */
import type { Clock } from '../../core/clock.js';
import { systemClock } from '../../core/clock.js';
import { ErrorCode, HomeostatError } from '../../core/errors.js';
import { jsonEqual } from '../../core/schema-compat.js';
import type { SchemaMode, SchemaPut, SchemaRecord, SchemaStore } from '../../ports/schema-store.js';
import type { SqliteDatabase } from './database.js';

interface SchemaRow {
  readonly type: string;
  readonly version: number;
  readonly mode: string;
  readonly schema: string;
  readonly created_at: number;
}

const COLUMNS = 'type, version, mode, schema, created_at';

/**
 * A SchemaStore over a database opened with `openStateDatabase`. The caller owns `db` and closes it.
 * @param clock stamps `createdAt`; default the system clock.
 */
export function createSqliteSchemaStore(db: SqliteDatabase, clock: Clock = systemClock): SchemaStore {
  const stmt = {
    latest: db.prepare<[string], SchemaRow>(
      `SELECT ${COLUMNS} FROM schemas WHERE type = ? ORDER BY version DESC LIMIT 1`,
    ),
    one: db.prepare<[string, number], SchemaRow>(`SELECT ${COLUMNS} FROM schemas WHERE type = ? AND version = ?`),
    versions: db.prepare<[string], SchemaRow>(`SELECT ${COLUMNS} FROM schemas WHERE type = ? ORDER BY version`),
    list: db.prepare<[], SchemaRow>(
      `SELECT s.type, s.version, s.mode, s.schema, s.created_at FROM schemas s
       JOIN (SELECT type, MAX(version) AS version FROM schemas GROUP BY type) m
         ON m.type = s.type AND m.version = s.version
       ORDER BY s.type`,
    ),
    insert: db.prepare<[string, number, string, string, number]>(
      `INSERT INTO schemas (${COLUMNS}) VALUES (?, ?, ?, ?, ?)`,
    ),
    setMode: db.prepare<[string, string]>('UPDATE schemas SET mode = ? WHERE type = ?'),
    deleteType: db.prepare<[string]>('DELETE FROM schemas WHERE type = ?'),
    deleteVersion: db.prepare<[string, number]>('DELETE FROM schemas WHERE type = ? AND version = ?'),
  };

  const put = db.transaction((input: SchemaPut): SchemaRecord => {
    const latest = stmt.latest.get(input.type);
    const version = input.version ?? (latest ? latest.version + 1 : 1);
    if (!Number.isSafeInteger(version) || version < 1) {
      throw new HomeostatError(
        ErrorCode.INVALID,
        `schema version ${version} of type '${input.type}' is invalid; use a positive integer or omit it`,
      );
    }
    const existing = input.version === undefined ? undefined : stmt.one.get(input.type, version);
    if (existing) return putExisting(existing, input);
    if (latest && version < latest.version) {
      throw new HomeostatError(
        ErrorCode.CONFLICT,
        `schema version ${version} of type '${input.type}' is below the latest version ${latest.version}; versions only increase, omit the version to take ${latest.version + 1}`,
        { details: { type: input.type, version, latest: latest.version } },
      );
    }
    const text = JSON.stringify(input.schema);
    const createdAt = clock.now();
    stmt.setMode.run(input.mode, input.type);
    stmt.insert.run(input.type, version, input.mode, text, createdAt);
    return toRecord({ type: input.type, version, mode: input.mode, schema: text, created_at: createdAt });
  });

  function putExisting(existing: SchemaRow, input: SchemaPut): SchemaRecord {
    const record = toRecord(existing);
    if (!jsonEqual(record.schema, input.schema)) {
      throw new HomeostatError(
        ErrorCode.CONFLICT,
        `schema version ${record.version} of type '${input.type}' already exists with a different schema; omit the version to register a new one`,
        { details: { type: input.type, version: record.version } },
      );
    }
    stmt.setMode.run(input.mode, input.type);
    return { ...record, mode: input.mode };
  }

  return {
    put: async (input) => guard('store the schema', () => put(input)),
    get: async (type, version) =>
      guard('read the schema', () => {
        const row = version === undefined ? stmt.latest.get(type) : stmt.one.get(type, version);
        return row && toRecord(row);
      }),
    versions: async (type) => guard('read the schema versions', () => stmt.versions.all(type).map(toRecord)),
    list: async () => guard('list the schemas', () => stmt.list.all().map(toRecord)),
    setMode: async (type, mode) => guard('set the schema mode', () => stmt.setMode.run(mode, type).changes > 0),
    delete: async (type, version) =>
      guard('delete the schema', () =>
        version === undefined ? stmt.deleteType.run(type).changes : stmt.deleteVersion.run(type, version).changes,
      ),
  };
}

function toRecord(row: SchemaRow): SchemaRecord {
  return {
    type: row.type,
    version: row.version,
    mode: row.mode as SchemaMode,
    schema: JSON.parse(row.schema) as Record<string, unknown>,
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
