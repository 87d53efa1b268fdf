import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ErrorCode } from '../core/errors.js';
import type { SchemaStore } from '../ports/schema-store.js';
import type { SqliteDatabase } from '../store/sqlite/database.js';
import { createSqliteSchemaStore } from '../store/sqlite/schema-store.js';
import { openStateDatabase } from '../store/sqlite/state.js';
import { createSchemaRegistry, type SchemaRegistry } from './schema-registry.js';

const TYPE = 'events.order.created';
const v1 = {
  type: 'object',
  properties: { id: { type: 'string' }, amount: { type: 'number' } },
  required: ['id'],
};
const v2 = { ...v1, properties: { ...v1.properties, email: { type: 'string', format: 'email' } } };

let dir: string;
let path: string;
let db: SqliteDatabase;
let store: SchemaStore;
let registry: SchemaRegistry;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'homeostat-registry-'));
  path = join(dir, 'state.db');
  db = openStateDatabase({ path, fsync: 'normal' });
  store = createSqliteSchemaStore(db);
  registry = await createSchemaRegistry(store);
});
afterEach(() => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('register', () => {
  it('creates version 1 in enforce mode by default', async () => {
    const { record, created } = await registry.register({ type: TYPE, schema: v1 });
    expect(created).toBe(true);
    expect(record).toMatchObject({ type: TYPE, version: 1, mode: 'enforce', schema: v1 });
  });

  it('only updates the mode when the schema equals the latest', async () => {
    await registry.register({ type: TYPE, schema: v1 });
    const again = await registry.register({ type: TYPE, schema: structuredClone(v1), mode: 'warn' });
    expect(again.created).toBe(false);
    expect(again.record).toMatchObject({ version: 1, mode: 'warn' });
    expect(await registry.versions(TYPE)).toHaveLength(1);
    expect(registry.check(TYPE, { id: 1 })?.mode).toBe('warn');
  });

  it('keeps the current mode when a new version gives none', async () => {
    await registry.register({ type: TYPE, schema: v1, mode: 'warn' });
    const { record } = await registry.register({ type: TYPE, schema: v2 });
    expect(record).toMatchObject({ version: 2, mode: 'warn' });
  });

  it('rejects a schema that does not compile with E_SCHEMA_INVALID and pointers into the schema', async () => {
    const err = await registry
      .register({ type: TYPE, schema: { type: 'object', properties: { id: { type: 'strin' } } } })
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ code: ErrorCode.SCHEMA_INVALID });
    expect((err as { problems: { pointer: string }[] }).problems.map((p) => p.pointer)).toContain(
      '/properties/id/type',
    );
    expect(await registry.get(TYPE)).toBeUndefined();
  });

  it('rejects an unresolvable $ref with E_SCHEMA_INVALID', async () => {
    await expect(registry.register({ type: TYPE, schema: { $ref: '#/$defs/missing' } })).rejects.toMatchObject({
      code: ErrorCode.SCHEMA_INVALID,
    });
  });

  it('rejects an async schema with E_SCHEMA_INVALID', async () => {
    await expect(registry.register({ type: TYPE, schema: { $async: true } })).rejects.toMatchObject({
      code: ErrorCode.SCHEMA_INVALID,
      problems: [{ pointer: '/$async', message: 'async schemas are not supported' }],
    });
  });

  it('rejects an incompatible version with E_SCHEMA_INCOMPATIBLE naming each rule and the way out', async () => {
    await registry.register({ type: TYPE, schema: v1 });
    const next = { type: 'object', properties: { id: { type: 'string' } }, required: ['id', 'amount'] };
    const err = await registry.register({ type: TYPE, schema: next }).catch((e: unknown) => e);
    expect(err).toMatchObject({
      code: ErrorCode.SCHEMA_INCOMPATIBLE,
      problems: [
        { pointer: '/required/1', message: expect.stringMatching(/^rule no-new-required: .* not in version 1$/) },
        { pointer: '/properties/amount', message: expect.stringMatching(/^rule no-removed-property: /) },
      ],
    });
    expect((err as Error).message).toContain('force=true (--force)');
    expect(await registry.versions(TYPE)).toHaveLength(1);
    expect(registry.check(TYPE, { id: 'a' })?.problems).toEqual([]);
  });

  it('registers an incompatible version when forced', async () => {
    await registry.register({ type: TYPE, schema: v1 });
    const next = { ...v1, properties: { ...v1.properties, amount: { type: 'integer' } } };
    const { record, created } = await registry.register({ type: TYPE, schema: next, force: true });
    expect([record.version, created]).toEqual([2, true]);
    expect(registry.check(TYPE, { id: 'a', amount: 1.5 })?.problems).toHaveLength(1);
  });

  it('passes on E_CONFLICT for an existing version with another schema', async () => {
    await registry.register({ type: TYPE, schema: v1 });
    await registry.register({ type: TYPE, schema: v2 });
    await expect(registry.register({ type: TYPE, schema: v2, version: 1 })).rejects.toMatchObject({
      code: ErrorCode.CONFLICT,
    });
    expect((await registry.get(TYPE))?.version).toBe(2);
  });

  it('allows two versions with the same $id', async () => {
    await registry.register({ type: TYPE, schema: { $id: 'https://example.com/order.json', ...v1 } });
    const { record } = await registry.register({
      type: TYPE,
      schema: { $id: 'https://example.com/order.json', ...v2 },
    });
    expect(record.version).toBe(2);
    await registry.register({ type: 'other', schema: { $id: 'https://example.com/order.json', type: 'string' } });
    expect(registry.check('other', 5)?.problems).toHaveLength(1);
  });

  it('names the invalid fields with E_INVALID', async () => {
    const input = { type: '', schema: [] as unknown as Record<string, unknown>, mode: 'loud' as 'warn', version: 0 };
    const err = await registry.register(input).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: ErrorCode.INVALID });
    expect((err as { problems: { pointer: string }[] }).problems.map((p) => p.pointer)).toEqual([
      '/type',
      '/mode',
      '/version',
      '/schema',
    ]);
    await expect(registry.register({ type: 'x'.repeat(257), schema: v1 })).rejects.toThrow(/type must be a string/);
    await expect(registry.setMode(TYPE, 'loud' as 'warn')).rejects.toMatchObject({ code: ErrorCode.INVALID });
  });

  it('serialises concurrent registrations of one type', async () => {
    const schemas = [v1, v2, { ...v2, properties: { ...v2.properties, note: {} } }];
    const results = await Promise.all(schemas.map((schema) => registry.register({ type: TYPE, schema })));
    expect(results.map((r) => r.record.version)).toEqual([1, 2, 3]);
  });
});

describe('check', () => {
  it('returns undefined for a type without a schema', () => {
    expect(registry.check('unknown', {})).toBeUndefined();
  });

  it('reports every violation in enforce mode with pointers under the event', async () => {
    await registry.register({ type: TYPE, schema: v2 });
    const result = registry.check(TYPE, { amount: 'ten', email: 'nope' }, '/3');
    expect(result).toEqual({
      mode: 'enforce',
      problems: [
        { pointer: '/3/data', message: `schema ${TYPE} v1: must have required property 'id'` },
        { pointer: '/3/data/amount', message: `schema ${TYPE} v1: must be number` },
        { pointer: '/3/data/email', message: `schema ${TYPE} v1: must match format "email"` },
      ],
    });
  });

  it('returns no problems for valid data', async () => {
    await registry.register({ type: TYPE, schema: v1 });
    expect(registry.check(TYPE, { id: 'a', amount: 3 })).toEqual({ mode: 'enforce', problems: [] });
  });

  it('reports problems with mode warn in warn mode', async () => {
    await registry.register({ type: TYPE, schema: v1, mode: 'warn' });
    expect(registry.check(TYPE, { id: 7 })).toEqual({
      mode: 'warn',
      problems: [{ pointer: '/data/id', message: `schema ${TYPE} v1: must be string` }],
    });
  });

  it('checks nothing in off mode', async () => {
    await registry.register({ type: TYPE, schema: v1, mode: 'off' });
    expect(registry.check(TYPE, 'anything')).toBeUndefined();
  });

  it('follows setMode', async () => {
    await registry.register({ type: TYPE, schema: v1 });
    expect(await registry.setMode(TYPE, 'off')).toBe(true);
    expect(registry.check(TYPE, {})).toBeUndefined();
    expect(await registry.setMode(TYPE, 'warn')).toBe(true);
    expect(registry.check(TYPE, {})?.mode).toBe('warn');
    expect(await registry.setMode('unknown', 'warn')).toBe(false);
  });

  it('names the unexpected property when additionalProperties is false', async () => {
    await registry.register({ type: TYPE, schema: { type: 'object', additionalProperties: false } });
    expect(registry.check(TYPE, { x: 1 })?.problems).toEqual([
      { pointer: '/data', message: `schema ${TYPE} v1: must NOT have additional properties 'x'` },
    ]);
  });
});

describe('delete', () => {
  it('makes the previous version active after deleting the latest', async () => {
    await registry.register({ type: TYPE, schema: { type: 'object', properties: { n: { type: 'integer' } } } });
    await registry.register({ type: TYPE, schema: { type: 'object', properties: { n: { type: 'number' } } } });
    expect(registry.check(TYPE, { n: 1.5 })?.problems).toEqual([]);
    expect(await registry.delete(TYPE, 2)).toBe(1);
    expect(registry.check(TYPE, { n: 1.5 })?.problems).toEqual([
      { pointer: '/data/n', message: `schema ${TYPE} v1: must be integer` },
    ]);
  });

  it('keeps the latest active after deleting an older version', async () => {
    await registry.register({ type: TYPE, schema: v1 });
    await registry.register({ type: TYPE, schema: v2 });
    expect(await registry.delete(TYPE, 1)).toBe(1);
    expect(registry.check(TYPE, { id: 'a', email: 'x' })?.problems[0]?.message).toMatch(/^schema .* v2: /);
  });

  it('stops checking a type once all its versions are deleted', async () => {
    await registry.register({ type: TYPE, schema: v1 });
    await registry.register({ type: TYPE, schema: v2 });
    expect(await registry.delete(TYPE)).toBe(2);
    expect(registry.check(TYPE, {})).toBeUndefined();
    expect(await registry.list()).toEqual([]);
  });
});

describe('restart', () => {
  it('keeps schemas and modes in a new registry over the same file', async () => {
    await registry.register({ type: TYPE, schema: v1 });
    await registry.register({ type: TYPE, schema: v2, mode: 'warn' });
    await registry.register({ type: 'other', schema: { type: 'string' }, mode: 'off' });
    db.close();

    db = openStateDatabase({ path, fsync: 'normal' });
    const restarted = await createSchemaRegistry(createSqliteSchemaStore(db));
    expect((await restarted.list()).map((r) => [r.type, r.version, r.mode])).toEqual([
      [TYPE, 2, 'warn'],
      ['other', 1, 'off'],
    ]);
    expect(restarted.check(TYPE, { id: 'a', email: 'bad' })).toEqual({
      mode: 'warn',
      problems: [{ pointer: '/data/email', message: `schema ${TYPE} v2: must match format "email"` }],
    });
    expect(restarted.check('other', 1)).toBeUndefined();
  });

  it('refuses to start when a stored schema no longer compiles', async () => {
    await store.put({ type: TYPE, schema: { type: 'strin' }, mode: 'enforce' });
    await expect(createSchemaRegistry(store)).rejects.toMatchObject({ code: ErrorCode.SCHEMA_INVALID });
  });
});
