/** @module SqliteRuleStore: rule manifests by name, in the SQLite state database (table `rules`). */
import type { Clock } from '../../core/clock.js';
import { systemClock } from '../../core/clock.js';
import { ErrorCode, HomeostatError } from '../../core/errors.js';
import type { RuleStore, StoredRule } from '../../ports/rule-store.js';
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
  const stmt = {
    get: db.prepare<[string], RuleRow>(`SELECT ${COLUMNS} FROM rules WHERE name = ?`),
    list: db.prepare<[], RuleRow>(`SELECT ${COLUMNS} FROM rules ORDER BY name`),
    insert: db.prepare<[string, string, number, number, number]>(
      `INSERT INTO rules (${COLUMNS}) VALUES (?, ?, ?, ?, ?)`,
    ),
    update: db.prepare<[string, number, number, string]>(
      'UPDATE rules SET manifest = ?, generation = ?, updated_at = ? WHERE name = ?',
    ),
    remove: db.prepare<[string]>('DELETE FROM rules WHERE name = ?'),
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
    put: async (name, manifest) => guard('store the rule', () => put(name, manifest)),
    get: async (name) =>
      guard('read the rule', () => {
        const row = stmt.get.get(name);
        return row && toStored(row);
      }),
    list: async () => guard('list the rules', () => stmt.list.all().map(toStored)),
    delete: async (name) => guard('delete the rule', () => stmt.remove.run(name).changes > 0),
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
