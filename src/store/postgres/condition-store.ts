/** @module PostgresConditionStore: snapshots of the rules' stateful conditions (table `condition_state`) in the PostgreSQL state database. */
import type { Clock } from '../../core/clock.js';
import { systemClock } from '../../core/clock.js';
import type { ConditionRow, ConditionSave, ConditionStore } from '../../ports/condition-store.js';
import { createSerialRunner, guard, type PostgresDatabase } from './database.js';

interface Row {
  readonly rule: string;
  readonly fingerprint: string;
  readonly generation: number;
  readonly log_offset: number;
  readonly snapshot: string;
  readonly saved_at: number;
}

const COLUMNS = 'rule, fingerprint, generation, log_offset, snapshot, saved_at';

/**
 * A ConditionStore (src/ports/condition-store.ts) over a database opened with `openPostgres`. The
 * caller owns `db` and closes it; calls after that fail with E_CLOSED. This store's `save` calls
 * run one after another, each in one transaction; an advance is a conditional UPDATE, so it never
 * lowers an offset even when another node wrote the row meanwhile.
 * @param clock stamps the `saved_at` of advanced rows; default the system clock.
 */
export function createPostgresConditionStore(db: PostgresDatabase, clock: Clock = systemClock): ConditionStore {
  const serial = createSerialRunner();
  const save = (changes: ConditionSave) =>
    serial(() =>
      db.transaction(async (tx) => {
        const remove = changes.remove ?? [];
        if (remove.length > 0) await tx.query('DELETE FROM condition_state WHERE rule = ANY($1::text[])', [remove]);
        for (const r of changes.put ?? []) {
          await tx.query(
            `INSERT INTO condition_state (${COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (rule) DO UPDATE SET fingerprint = excluded.fingerprint, generation = excluded.generation,
               log_offset = excluded.log_offset, snapshot = excluded.snapshot, saved_at = excluded.saved_at`,
            [r.rule, r.fingerprint, r.generation, r.offset, JSON.stringify(r.snapshot), r.savedAt],
          );
        }
        const advance = changes.advance;
        if (advance === undefined || advance.rules.length === 0) return;
        await tx.query(
          'UPDATE condition_state SET log_offset = $1, saved_at = $2 WHERE rule = ANY($3::text[]) AND log_offset < $1',
          [advance.offset, clock.now(), advance.rules],
        );
      }),
    );

  return {
    list: () =>
      guard(db, 'read the condition states', async () => {
        const { rows } = await db.query<Row>(`SELECT ${COLUMNS} FROM condition_state ORDER BY rule`);
        return rows.map(toRow);
      }),
    save: (changes) => guard(db, 'save the condition states', () => save(changes)),
  };
}

function toRow(row: Row): ConditionRow {
  return {
    rule: row.rule,
    fingerprint: row.fingerprint,
    generation: row.generation,
    offset: row.log_offset,
    snapshot: JSON.parse(row.snapshot) as unknown,
    savedAt: row.saved_at,
  };
}
