/** @module SqliteConditionStore: snapshots of the rules' stateful conditions in the SQLite state database (table condition_state). */
import type { Clock } from '../../core/clock.js';
import { systemClock } from '../../core/clock.js';
import { ErrorCode, HomeostatError } from '../../core/errors.js';
import type { ConditionRow, ConditionSave, ConditionStore } from '../../ports/condition-store.js';
import type { SqliteDatabase } from './database.js';

interface Row {
  readonly rule: string;
  readonly fingerprint: string;
  readonly generation: number;
  readonly offset: number;
  readonly snapshot: string;
  readonly saved_at: number;
}

const COLUMNS = 'rule, fingerprint, generation, offset, snapshot, saved_at';

/**
 * A ConditionStore (src/ports/condition-store.ts) over a database opened with `openStateDatabase`.
 * The caller owns `db` and closes it; calls after that fail with E_CLOSED.
 * @param clock stamps the `saved_at` of advanced rows; default the system clock.
 */
export function createSqliteConditionStore(db: SqliteDatabase, clock: Clock = systemClock): ConditionStore {
  const stmt = guard(db, 'prepare the condition statements', () => ({
    list: db.prepare<[], Row>(`SELECT ${COLUMNS} FROM condition_state ORDER BY rule`),
    put: db.prepare<[string, string, number, number, string, number]>(
      `INSERT INTO condition_state (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (rule) DO UPDATE SET fingerprint = excluded.fingerprint, generation = excluded.generation,
         offset = excluded.offset, snapshot = excluded.snapshot, saved_at = excluded.saved_at`,
    ),
    advance: db.prepare<[number, number, string, number]>(
      'UPDATE condition_state SET offset = ?, saved_at = ? WHERE rule = ? AND offset < ?',
    ),
    remove: db.prepare<[string]>('DELETE FROM condition_state WHERE rule = ?'),
  }));
  const save = db.transaction((changes: ConditionSave) => {
    for (const rule of changes.remove ?? []) stmt.remove.run(rule);
    for (const r of changes.put ?? []) {
      stmt.put.run(r.rule, r.fingerprint, r.generation, r.offset, JSON.stringify(r.snapshot), r.savedAt);
    }
    const advance = changes.advance;
    if (advance === undefined || advance.rules.length === 0) return;
    const now = clock.now();
    for (const rule of advance.rules) stmt.advance.run(advance.offset, now, rule, advance.offset);
  });

  return {
    list: async () => guard(db, 'read the condition states', () => stmt.list.all().map(toRow)),
    save: async (changes) => guard(db, 'save the condition states', () => save(changes)),
  };
}

function toRow(row: Row): ConditionRow {
  return {
    rule: row.rule,
    fingerprint: row.fingerprint,
    generation: row.generation,
    offset: row.offset,
    snapshot: JSON.parse(row.snapshot) as unknown,
    savedAt: row.saved_at,
  };
}

/** Runs `fn`, reporting SQLite failures as E_BACKEND (E_CLOSED once `db` is closed); HomeostatErrors pass through. */
function guard<T>(db: SqliteDatabase, what: string, fn: () => T): T {
  try {
    return fn();
  } catch (cause) {
    if (cause instanceof HomeostatError) throw cause;
    if (!db.open) {
      throw new HomeostatError(ErrorCode.CLOSED, `cannot ${what}: the state database is closed`, { cause });
    }
    throw new HomeostatError(ErrorCode.BACKEND, `cannot ${what} in the state database: ${(cause as Error).message}`, {
      cause,
    });
  }
}
