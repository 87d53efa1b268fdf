/** @module PostgresSchemaStore: versioned JSON Schemas per event type (table `schemas`) in the PostgreSQL state database. */
import type { Clock } from '../../core/clock.js';
import { systemClock } from '../../core/clock.js';
import { ErrorCode, HomeostatError } from '../../core/errors.js';
import { jsonEqual } from '../../core/schema-compat.js';
import type { SchemaMode, SchemaPut, SchemaRecord, SchemaStore } from '../../ports/schema-store.js';
import { guard, type PostgresDatabase, type Queryable } from './database.js';

interface SchemaRow {
  readonly type: string;
  readonly version: number;
  readonly mode: string;
  readonly schema: string;
  readonly created_at: number;
}

const COLUMNS = 'type, version, mode, schema, created_at';
const LATEST = `SELECT ${COLUMNS} FROM schemas WHERE type = $1 ORDER BY version DESC LIMIT 1`;
const ONE = `SELECT ${COLUMNS} FROM schemas WHERE type = $1 AND version = $2`;
const SET_MODE = 'UPDATE schemas SET mode = $1 WHERE type = $2';

/**
 * A SchemaStore (src/ports/schema-store.ts) over a database opened with `openPostgres`; the caller
 * owns `db` and closes it. `put` holds a transaction-level advisory lock on the type, so nodes
 * putting versions of one type at once are serialised (each sees the other's latest version).
 * @param clock stamps `createdAt`; default the system clock.
 */
export function createPostgresSchemaStore(db: PostgresDatabase, clock: Clock = systemClock): SchemaStore {
  const put = (input: SchemaPut): Promise<SchemaRecord> =>
    db.transaction(async (tx) => {
      await tx.query("SELECT pg_advisory_xact_lock(hashtext('homeostat.schemas'), hashtext($1))", [input.type]);
      const latest = (await tx.query<SchemaRow>(LATEST, [input.type])).rows[0];
      const version = input.version ?? (latest ? latest.version + 1 : 1);
      if (!Number.isSafeInteger(version) || version < 1) {
        throw new HomeostatError(
          ErrorCode.INVALID,
          `schema version ${version} of type '${input.type}' is invalid; use a positive integer or omit it`,
        );
      }
      const existing =
        input.version === undefined ? undefined : (await tx.query<SchemaRow>(ONE, [input.type, version])).rows[0];
      if (existing) return putExisting(tx, existing, input);
      if (latest && version < latest.version) {
        throw new HomeostatError(
          ErrorCode.CONFLICT,
          `schema version ${version} of type '${input.type}' is below the latest version ${latest.version}; versions only increase, omit the version to take ${latest.version + 1}`,
          { details: { type: input.type, version, latest: latest.version } },
        );
      }
      const text = JSON.stringify(input.schema);
      const createdAt = clock.now();
      await tx.query(SET_MODE, [input.mode, input.type]);
      await tx.query(`INSERT INTO schemas (${COLUMNS}) VALUES ($1, $2, $3, $4, $5)`, [
        input.type,
        version,
        input.mode,
        text,
        createdAt,
      ]);
      return toRecord({ type: input.type, version, mode: input.mode, schema: text, created_at: createdAt });
    });

  async function putExisting(tx: Queryable, existing: SchemaRow, input: SchemaPut): Promise<SchemaRecord> {
    const record = toRecord(existing);
    if (!jsonEqual(record.schema, input.schema)) {
      throw new HomeostatError(
        ErrorCode.CONFLICT,
        `schema version ${record.version} of type '${input.type}' already exists with a different schema; omit the version to register a new one`,
        { details: { type: input.type, version: record.version } },
      );
    }
    await tx.query(SET_MODE, [input.mode, input.type]);
    return { ...record, mode: input.mode };
  }

  return {
    put: (input) => guard(db, 'store the schema', () => put(input)),
    get: (type, version) =>
      guard(db, 'read the schema', async () => {
        // A version that is not an integer names no row (the column would reject it as a parameter).
        if (version !== undefined && !Number.isSafeInteger(version)) return undefined;
        const { rows } =
          version === undefined
            ? await db.query<SchemaRow>(LATEST, [type])
            : await db.query<SchemaRow>(ONE, [type, version]);
        return rows[0] && toRecord(rows[0]);
      }),
    versions: (type) =>
      guard(db, 'read the schema versions', async () => {
        const { rows } = await db.query<SchemaRow>(`SELECT ${COLUMNS} FROM schemas WHERE type = $1 ORDER BY version`, [
          type,
        ]);
        return rows.map(toRecord);
      }),
    list: () =>
      guard(db, 'list the schemas', async () => {
        const { rows } = await db.query<SchemaRow>(
          `SELECT DISTINCT ON (type) ${COLUMNS} FROM schemas ORDER BY type, version DESC`,
        );
        return rows.map(toRecord);
      }),
    setMode: (type, mode) =>
      guard(db, 'set the schema mode', async () => ((await db.query(SET_MODE, [mode, type])).rowCount ?? 0) > 0),
    delete: (type, version) =>
      guard(db, 'delete the schema', async () => {
        if (version !== undefined && !Number.isSafeInteger(version)) return 0;
        const result =
          version === undefined
            ? await db.query('DELETE FROM schemas WHERE type = $1', [type])
            : await db.query('DELETE FROM schemas WHERE type = $1 AND version = $2', [type, version]);
        return result.rowCount ?? 0;
      }),
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
