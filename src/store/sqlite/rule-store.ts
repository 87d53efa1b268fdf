/** @module Manifests by name in the SQLite state database: rules, stacks and policies (one table each). */
import type { Clock } from '../../core/clock.js';
import { systemClock } from '../../core/clock.js';
import { ErrorCode, HomeostatError } from '../../core/errors.js';
import type { PolicyStore, RuleStore, StackStore, StoredRule } from '../../ports/rule-store.js';
import type { SqliteDatabase } from './database.js';

interface RuleRow {
  readonly name: string;
  readonly manifest: string;
  readonly generation: number;
  readonly created_at: number;
  readonly updated_at: number;
}

const COLUMNS = 'name, manifest, generation, created_at, updated_at';

/**
 * A RuleStore over a database opened with `openStateDatabase`. The caller owns `db` and closes it.
 * @param clock stamps `createdAt` and `updatedAt`; default the system clock.
 */
export function createSqliteRuleStore(db: SqliteDatabase, clock: Clock = systemClock): RuleStore {
  return createManifestStore(db, 'rules', 'rule', clock);
}

/** The same for `kind: Stack` manifests (table `stacks`). */
export function createSqliteStackStore(db: SqliteDatabase, clock: Clock = systemClock): StackStore {
  return createManifestStore(db, 'stacks', 'stack', clock);
}

/** The same for policy manifests (table `policies`), keyed `<Kind>/<name>`. */
export function createSqlitePolicyStore(db: SqliteDatabase, clock: Clock = systemClock): PolicyStore {
  return createManifestStore(db, 'policies', 'policy', clock);
}

function createManifestStore(
  db: SqliteDatabase,
  table: 'rules' | 'stacks' | 'policies',
  noun: string,
  clock: Clock,
): RuleStore {
  const stmt = {
    get: db.prepare<[string], RuleRow>(`SELECT ${COLUMNS} FROM ${table} WHERE name = ?`),
    list: db.prepare<[], RuleRow>(`SELECT ${COLUMNS} FROM ${table} ORDER BY name`),
    insert: db.prepare<[string, string, number, number, number]>(
      `INSERT INTO ${table} (${COLUMNS}) VALUES (?, ?, ?, ?, ?)`,
    ),
    update: db.prepare<[string, number, number, string]>(
      `UPDATE ${table} SET manifest = ?, generation = ?, updated_at = ? WHERE name = ?`,
    ),
    remove: db.prepare<[string]>(`DELETE FROM ${table} WHERE name = ?`),
  };

  const put = db.transaction((name: string, manifest: Readonly<Record<string, unknown>>): StoredRule => {
    const text = JSON.stringify(manifest);
    const now = clock.now();
    const existing = stmt.get.get(name);
    if (existing) {
      const generation = existing.generation + 1;
      stmt.update.run(text, generation, now, name);
      return toStored({ ...existing, manifest: text, generation, updated_at: now });
    }
    stmt.insert.run(name, text, 1, now, now);
    return toStored({ name, manifest: text, generation: 1, created_at: now, updated_at: now });
  });

  return {
    put: async (name, manifest) => guard(`store the ${noun}`, () => put(name, manifest)),
    get: async (name) =>
      guard(`read the ${noun}`, () => {
        const row = stmt.get.get(name);
        return row && toStored(row);
      }),
    list: async () => guard(`list the ${noun}s`, () => stmt.list.all().map(toStored)),
    delete: async (name) => guard(`delete the ${noun}`, () => stmt.remove.run(name).changes > 0),
  };
}

function toStored(row: RuleRow): StoredRule {
  return {
    name: row.name,
    manifest: JSON.parse(row.manifest) as Record<string, unknown>,
    generation: row.generation,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
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
