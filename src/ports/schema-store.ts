/**
 * @module SchemaStore: registered JSON Schemas per event type, versioned.
 *
 * Contract (test/conformance/schema-store.ts):
 * - Versions of a type are positive integers, increasing; `put` with no version takes latest+1.
 *   Putting a version that exists with a different schema is E_CONFLICT; with the same schema it
 *   only updates the mode (idempotent).
 * - `mode` belongs to the type (all versions): enforce | warn | off. Validation uses the latest version.
 * - Deleting a type removes all its versions; deleting a version removes only it.
 * - Stores what it is given; compatibility and schema validity are checked by the caller.
 */

export const SchemaMode = { enforce: 'enforce', warn: 'warn', off: 'off' } as const;
export type SchemaMode = (typeof SchemaMode)[keyof typeof SchemaMode];

export interface SchemaRecord {
  readonly type: string;
  readonly version: number;
  readonly mode: SchemaMode;
  /** The JSON Schema (draft 2020-12) for the event's `data`. */
  readonly schema: Readonly<Record<string, unknown>>;
  readonly createdAt: number;
}

export interface SchemaPut {
  readonly type: string;
  readonly schema: Readonly<Record<string, unknown>>;
  readonly mode: SchemaMode;
  /** Default: latest + 1 (1 for a new type). */
  readonly version?: number;
}

export interface SchemaStore {
  put(input: SchemaPut): Promise<SchemaRecord>;
  /** The latest version, or a given one; undefined if absent. */
  get(type: string, version?: number): Promise<SchemaRecord | undefined>;
  /** All versions of a type, oldest first. */
  versions(type: string): Promise<SchemaRecord[]>;
  /** The latest version of every type, by type name. */
  list(): Promise<SchemaRecord[]>;
  /** Sets the mode of a type; false if the type is unknown. */
  setMode(type: string, mode: SchemaMode): Promise<boolean>;
  /** Number of versions removed. */
  delete(type: string, version?: number): Promise<number>;
}
