/** @module SchemaRegistry: registers event `data` schemas and checks events against them in memory. */
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsPlugin from 'ajv-formats';
import { ErrorCode, HomeostatError, hasCode, invalid, type Problem } from '../core/errors.js';
import { checkBackwardCompatible, jsonEqual } from '../core/schema-compat.js';
import { SchemaMode, type SchemaRecord, type SchemaStore } from '../ports/schema-store.js';

/** Longest accepted event type name, in characters. */
export const MAX_TYPE_LENGTH = 256;

export interface SchemaRegistration {
  /** The event type, 1 to {@link MAX_TYPE_LENGTH} characters. */
  readonly type: string;
  /** A JSON Schema (draft 2020-12) for the events' `data`. */
  readonly schema: Readonly<Record<string, unknown>>;
  /** Default: the type's current mode, or `enforce` for a new type. */
  readonly mode?: SchemaMode;
  /** Default: latest + 1. */
  readonly version?: number;
  /** Register even if the schema breaks backward compatibility. Default false. */
  readonly force?: boolean;
}

export interface RegisterResult {
  readonly record: SchemaRecord;
  /** False when the schema equalled an existing version and only the mode changed. */
  readonly created: boolean;
}

/**
 * The outcome of checking one event's data; `problems` is empty when the data is valid.
 * Read-only: the result for valid data is a frozen object shared between calls.
 */
export interface SchemaCheck {
  readonly mode: SchemaMode;
  readonly problems: Problem[];
}

export interface SchemaRegistry {
  /**
   * Registers a schema version. Errors: E_INVALID (bad type, mode, version or force, naming the field),
   * E_SCHEMA_INVALID (the schema does not compile; pointers into the schema), E_SCHEMA_INCOMPATIBLE
   * (breaks a compatibility rule of the latest version; pointers into the schema), E_CONFLICT
   * (the version exists with another schema).
   */
  register(input: SchemaRegistration): Promise<RegisterResult>;
  /**
   * Checks an event's `data` against the latest schema of its type; synchronous and allocation-light
   * for valid data. Problem pointers are `at + '/data' + <path in data>`.
   * @param at the event's JSON pointer in the request (e.g. '/3'); default ''.
   * @returns undefined when the type has no schema or its mode is `off`.
   */
  check(type: string, data: unknown, at?: string): SchemaCheck | undefined;
  get(type: string, version?: number): Promise<SchemaRecord | undefined>;
  versions(type: string): Promise<SchemaRecord[]>;
  /** The latest version of every type. */
  list(): Promise<SchemaRecord[]>;
  /** False if the type is unknown. */
  setMode(type: string, mode: SchemaMode): Promise<boolean>;
  /** Deletes one version or the whole type; the previous version becomes active. Returns the number removed. */
  delete(type: string, version?: number): Promise<number>;
  /**
   * Re-reads the store and activates what another process changed (several nodes share one
   * store). A stored schema that no longer compiles keeps the previous one active and is returned.
   */
  sync(): Promise<{ readonly type: string; readonly error: unknown }[]>;
}

interface Active {
  readonly version: number;
  readonly schema: object;
  readonly validate: ValidateFunction;
  /** The frozen result for valid data in the current mode, shared to avoid allocating per event. */
  ok: SchemaCheck;
}

const MODES: readonly string[] = Object.values(SchemaMode);
const NO_PROBLEMS = Object.freeze([]) as unknown as Problem[];

// ajv-formats is CommonJS: under NodeNext its default import is the module object.
const addFormats = addFormatsPlugin.default;

/**
 * Loads the latest schema of every type from `store` and compiles it. Throws E_SCHEMA_INVALID if a
 * stored schema no longer compiles (fix: delete that version).
 */
export async function createSchemaRegistry(store: SchemaStore): Promise<SchemaRegistry> {
  // addUsedSchema off: each type's schema stays private, so two versions may share an `$id`.
  const ajv = new Ajv2020({ allErrors: true, strict: false, validateSchema: true, addUsedSchema: false });
  addFormats(ajv);
  const active = new Map<string, Active>();
  let queue: Promise<unknown> = Promise.resolve();

  /** Runs writes one at a time, so the read-compare-write of `register` is not interleaved. */
  function serial<T>(fn: () => Promise<T>): Promise<T> {
    const result = queue.then(fn);
    queue = result.catch(() => undefined);
    return result;
  }

  function compile(type: string, schema: Readonly<Record<string, unknown>>, version?: number): ValidateFunction {
    const what = `schema for type '${type}'${version === undefined ? '' : ` v${version}`} is invalid`;
    // An async schema would make check() return a promise; events are checked synchronously.
    if (schema.$async === true) {
      throw invalid(
        what,
        [{ pointer: '/$async', message: 'async schemas are not supported' }],
        ErrorCode.SCHEMA_INVALID,
      );
    }
    try {
      if (ajv.validateSchema(schema) !== true) {
        throw invalid(what, (ajv.errors ?? []).map(schemaProblem), ErrorCode.SCHEMA_INVALID);
      }
      return ajv.compile(schema);
    } catch (cause) {
      if (hasCode(cause, ErrorCode.SCHEMA_INVALID)) throw cause;
      throw invalid(what, [{ pointer: '', message: (cause as Error).message }], ErrorCode.SCHEMA_INVALID);
    }
  }

  function activate(record: SchemaRecord, validate?: ValidateFunction): void {
    const current = active.get(record.type);
    if (current && current.version === record.version) {
      setActiveMode(current, record.mode);
      return;
    }
    if (current) ajv.removeSchema(current.schema);
    const schema = validate ? (validate.schema as object) : record.schema;
    const fn = validate ?? compile(record.type, record.schema, record.version);
    active.set(record.type, { version: record.version, schema, validate: fn, ok: okResult(record.mode) });
  }

  async function refresh(type: string): Promise<void> {
    const latest = await store.get(type);
    if (latest) {
      activate(latest);
      return;
    }
    const current = active.get(type);
    if (current) ajv.removeSchema(current.schema);
    active.delete(type);
  }

  async function register(input: SchemaRegistration): Promise<RegisterResult> {
    checkRegistration(input);
    const { type } = input;
    // A JSON round trip gives the form the store keeps and detaches it from the caller's object.
    const schema = JSON.parse(JSON.stringify(input.schema)) as Record<string, unknown>;
    const latest = await store.get(type);
    const mode = input.mode ?? latest?.mode ?? SchemaMode.enforce;
    const sameAsLatest =
      latest !== undefined && jsonEqual(latest.schema, schema) && (input.version ?? latest.version) === latest.version;
    if (sameAsLatest) {
      const record = await store.put({ type, schema, mode, version: latest.version });
      activate(record);
      return { record, created: false };
    }
    const existing = input.version === undefined ? undefined : await store.get(type, input.version);
    const validate = compile(type, schema, input.version);
    try {
      if (!existing && latest && !input.force) assertCompatible(latest, schema);
      const record = await store.put({ type, schema, mode, version: input.version });
      const current = active.get(type);
      if (current === undefined || record.version > current.version) activate(record, validate);
      else setActiveMode(current, record.mode);
      return { record, created: existing === undefined };
    } finally {
      // The candidate's compiled form is kept only when it became the active version.
      if (active.get(type)?.validate !== validate) ajv.removeSchema(validate.schema as object);
    }
  }

  function check(type: string, data: unknown, at = ''): SchemaCheck | undefined {
    const entry = active.get(type);
    if (entry === undefined || entry.ok.mode === SchemaMode.off) return undefined;
    if (entry.validate(data)) return entry.ok;
    const prefix = `schema ${type} v${entry.version}: `;
    const problems = (entry.validate.errors ?? []).map((e) => dataProblem(e, `${at}/data`, prefix));
    return { mode: entry.ok.mode, problems };
  }

  async function setMode(type: string, mode: SchemaMode): Promise<boolean> {
    checkFields({ type, mode });
    const changed = await store.setMode(type, mode);
    const entry = active.get(type);
    if (changed && entry) setActiveMode(entry, mode);
    return changed;
  }

  async function remove(type: string, version?: number): Promise<number> {
    checkFields({ type, version });
    const removed = await store.delete(type, version);
    if (removed > 0) await refresh(type);
    return removed;
  }

  async function sync(): Promise<{ type: string; error: unknown }[]> {
    const failed: { type: string; error: unknown }[] = [];
    const stored = await store.list();
    const types = new Set(stored.map((r) => r.type));
    for (const record of stored) {
      try {
        activate(record);
      } catch (error) {
        failed.push({ type: record.type, error });
      }
    }
    for (const [type, current] of active) {
      if (types.has(type)) continue;
      ajv.removeSchema(current.schema);
      active.delete(type);
    }
    return failed;
  }

  for (const record of await store.list()) activate(record);

  return {
    register: (input) => serial(() => register(input)),
    sync: () => serial(sync),
    check,
    get: async (type, version) => {
      checkFields({ type, version });
      return store.get(type, version);
    },
    versions: async (type) => {
      checkFields({ type });
      return store.versions(type);
    },
    list: () => store.list(),
    setMode: (type, mode) => serial(() => setMode(type, mode)),
    delete: (type, version) => serial(() => remove(type, version)),
  };
}

function assertCompatible(latest: SchemaRecord, schema: Record<string, unknown>): void {
  const problems = checkBackwardCompatible(latest.schema, schema, { previousVersion: latest.version });
  if (problems.length === 0) return;
  const list = problems.map((p) => `${p.pointer || '/'}: ${p.message}`).join('; ');
  throw new HomeostatError(
    ErrorCode.SCHEMA_INCOMPATIBLE,
    `schema for type '${latest.type}' is not backward compatible with version ${latest.version}: ${list}; ` +
      'keep the old fields and types, or pass force=true (--force) to register it anyway',
    { problems, details: { type: latest.type, latestVersion: latest.version } },
  );
}

function setActiveMode(entry: Active, mode: SchemaMode): void {
  if (entry.ok.mode !== mode) entry.ok = okResult(mode);
}

function okResult(mode: SchemaMode): SchemaCheck {
  return Object.freeze({ mode, problems: NO_PROBLEMS });
}

function checkRegistration(input: SchemaRegistration): void {
  const problems = fieldProblems(input);
  const schema: unknown = input.schema;
  if (typeof schema !== 'object' || schema === null || Array.isArray(schema)) {
    problems.push({ pointer: '/schema', message: 'schema must be a JSON Schema object' });
  }
  if (input.force !== undefined && typeof input.force !== 'boolean') {
    problems.push({ pointer: '/force', message: `force must be true or false, got ${JSON.stringify(input.force)}` });
  }
  if (problems.length > 0) throw invalid('invalid schema registration', problems);
}

function checkFields(fields: { type: string; mode?: SchemaMode; version?: number }): void {
  const problems = fieldProblems(fields);
  if (problems.length > 0) throw invalid('invalid schema request', problems);
}

function fieldProblems(fields: { type: unknown; mode?: unknown; version?: unknown }): Problem[] {
  const problems: Problem[] = [];
  const { type, mode, version } = fields;
  if (typeof type !== 'string' || type.length === 0 || type.length > MAX_TYPE_LENGTH) {
    const got = typeof type === 'string' ? `${type.length} characters` : JSON.stringify(type);
    problems.push({
      pointer: '/type',
      message: `type must be a string of 1 to ${MAX_TYPE_LENGTH} characters, got ${got}`,
    });
  }
  if (mode !== undefined && !MODES.includes(mode as string)) {
    problems.push({
      pointer: '/mode',
      message: `mode must be one of ${MODES.join(', ')}, got ${JSON.stringify(mode)}`,
    });
  }
  if (version !== undefined && (!Number.isSafeInteger(version) || (version as number) < 1)) {
    problems.push({
      pointer: '/version',
      message: `version must be a positive integer, got ${JSON.stringify(version)}`,
    });
  }
  return problems;
}

function schemaProblem(e: ErrorObject): Problem {
  return { pointer: e.instancePath, message: `does not match the JSON Schema 2020-12 meta-schema: ${e.message}` };
}

function dataProblem(e: ErrorObject, base: string, prefix: string): Problem {
  const extra = e.keyword === 'additionalProperties' ? ` '${String(e.params.additionalProperty)}'` : '';
  return { pointer: base + e.instancePath, message: `${prefix}${e.message ?? e.keyword}${extra}` };
}
