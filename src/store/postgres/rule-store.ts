/** @module Manifests by name in the PostgreSQL state database: rules, stacks, policies and workflows (one table each). */
import type { Clock } from '../../core/clock.js';
import { systemClock } from '../../core/clock.js';
import type { PolicyStore, RuleStore, StackStore, StoredRule } from '../../ports/rule-store.js';
import { guard, type PostgresDatabase } from './database.js';

interface RuleRow {
  readonly name: string;
  readonly manifest: string;
  readonly generation: number;
  readonly created_at: number;
  readonly updated_at: number;
}

/** The tables that hold manifests by name, each with the RuleStore contract. */
export type ManifestTable = 'rules' | 'stacks' | 'policies' | 'workflows';

const COLUMNS = 'name, manifest, generation, created_at, updated_at';

/**
 * A RuleStore (src/ports/rule-store.ts) over a database opened with `openPostgres`; the caller
 * owns `db` and closes it. `put` is one upsert statement, so nodes replacing one rule at once
 * each bump the generation once (no lost update).
 * @param clock stamps `createdAt` and `updatedAt`; default the system clock.
 */
export function createPostgresRuleStore(db: PostgresDatabase, clock: Clock = systemClock): RuleStore {
  return createPostgresManifestStore(db, 'rules', 'rule', clock);
}

/** The same for `kind: Stack` manifests (table `stacks`). */
export function createPostgresStackStore(db: PostgresDatabase, clock: Clock = systemClock): StackStore {
  return createPostgresManifestStore(db, 'stacks', 'stack', clock);
}

/** The same for policy manifests (table `policies`), keyed `<Kind>/<name>`. */
export function createPostgresPolicyStore(db: PostgresDatabase, clock: Clock = systemClock): PolicyStore {
  return createPostgresManifestStore(db, 'policies', 'policy', clock);
}

/** A RuleStore over one of the manifest tables; `noun` names the thing in error messages. */
export function createPostgresManifestStore(
  db: PostgresDatabase,
  table: ManifestTable,
  noun: string,
  clock: Clock,
): RuleStore {
  const upsert = `INSERT INTO ${table} AS t (${COLUMNS}) VALUES ($1, $2, 1, $3, $3)
    ON CONFLICT (name) DO UPDATE SET manifest = excluded.manifest, generation = t.generation + 1,
      updated_at = excluded.updated_at
    RETURNING ${COLUMNS}`;
  return {
    put: (name, manifest) =>
      guard(db, `store the ${noun}`, async () => {
        const { rows } = await db.query<RuleRow>(upsert, [name, JSON.stringify(manifest), clock.now()]);
        return toStored(rows[0]!);
      }),
    get: (name) =>
      guard(db, `read the ${noun}`, async () => {
        const { rows } = await db.query<RuleRow>(`SELECT ${COLUMNS} FROM ${table} WHERE name = $1`, [name]);
        return rows[0] && toStored(rows[0]);
      }),
    list: () =>
      guard(db, `list the ${noun}s`, async () => {
        const { rows } = await db.query<RuleRow>(`SELECT ${COLUMNS} FROM ${table} ORDER BY name`);
        return rows.map(toStored);
      }),
    delete: (name) =>
      guard(db, `delete the ${noun}`, async () => {
        const result = await db.query(`DELETE FROM ${table} WHERE name = $1`, [name]);
        return (result.rowCount ?? 0) > 0;
      }),
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
