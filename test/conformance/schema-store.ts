/** @module The SchemaStore conformance suite: every backend runs it by passing a factory. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../src/core/errors.js';
import type { SchemaStore } from '../../src/ports/schema-store.js';

export interface SchemaStoreHarness {
  readonly store: SchemaStore;
  close(): Promise<void>;
}

export interface SchemaStoreConformanceOptions {
  /** The backend's name, shown in test titles. */
  readonly name: string;
  /** A fresh, empty store for each test. */
  readonly create: () => Promise<SchemaStoreHarness>;
}

const v1 = { type: 'object', properties: { id: { type: 'string' } } };
const v2 = { type: 'object', properties: { id: { type: 'string' }, amount: { type: 'number' } } };
const v3 = { ...v2, properties: { ...v2.properties, note: { type: 'string' } } };

/** Defines vitest blocks that check the whole SchemaStore contract (src/ports/schema-store.ts). */
export function runSchemaStoreConformance(options: SchemaStoreConformanceOptions): void {
  describe(`SchemaStore conformance: ${options.name}`, () => {
    let harness: SchemaStoreHarness;
    let store: SchemaStore;

    beforeEach(async () => {
      harness = await options.create();
      store = harness.store;
    });
    afterEach(async () => {
      await harness.close();
    });

    describe('versions', () => {
      it('numbers the first version of a type 1 and each next one latest + 1', async () => {
        const a = await store.put({ type: 'order.created', schema: v1, mode: 'enforce' });
        const b = await store.put({ type: 'order.created', schema: v2, mode: 'enforce' });
        const c = await store.put({ type: 'order.created', schema: v3, mode: 'enforce' });
        expect([a.version, b.version, c.version]).toEqual([1, 2, 3]);
      });

      it('returns the stored record from put', async () => {
        const record = await store.put({ type: 'order.created', schema: v1, mode: 'warn' });
        expect(record).toMatchObject({ type: 'order.created', version: 1, mode: 'warn', schema: v1 });
        expect(Number.isFinite(record.createdAt)).toBe(true);
      });

      it('numbers each type on its own', async () => {
        await store.put({ type: 'a', schema: v1, mode: 'enforce' });
        await store.put({ type: 'a', schema: v2, mode: 'enforce' });
        expect((await store.put({ type: 'b', schema: v1, mode: 'enforce' })).version).toBe(1);
      });

      it('keeps an explicit version and continues from it', async () => {
        expect((await store.put({ type: 't', schema: v1, mode: 'enforce', version: 5 })).version).toBe(5);
        expect((await store.put({ type: 't', schema: v2, mode: 'enforce' })).version).toBe(6);
      });

      it('rejects an existing version with a different schema as E_CONFLICT and changes nothing', async () => {
        await store.put({ type: 't', schema: v1, mode: 'enforce' });
        await expect(store.put({ type: 't', schema: v2, mode: 'warn', version: 1 })).rejects.toMatchObject({
          code: ErrorCode.CONFLICT,
        });
        expect(await store.get('t')).toMatchObject({ version: 1, mode: 'enforce', schema: v1 });
        expect(await store.versions('t')).toHaveLength(1);
      });

      it('rejects a new version below the latest as E_CONFLICT', async () => {
        await store.put({ type: 't', schema: v1, mode: 'enforce', version: 3 });
        await expect(store.put({ type: 't', schema: v2, mode: 'enforce', version: 2 })).rejects.toMatchObject({
          code: ErrorCode.CONFLICT,
        });
      });

      it('treats putting an existing version with the same schema as idempotent, updating only the mode', async () => {
        const first = await store.put({ type: 't', schema: v2, mode: 'enforce' });
        const reordered = { properties: { amount: { type: 'number' }, id: { type: 'string' } }, type: 'object' };
        const again = await store.put({ type: 't', schema: reordered, mode: 'warn', version: 1 });
        expect(again).toMatchObject({ version: 1, mode: 'warn', createdAt: first.createdAt });
        expect(await store.versions('t')).toHaveLength(1);
        expect((await store.get('t'))?.mode).toBe('warn');
      });

      it('round-trips nested schemas and unusual type names', async () => {
        const schema = { $defs: { x: { enum: [1, 'ü', null, [true]] } }, items: { $ref: '#/$defs/x' } };
        const type = 'com.example/ördér created';
        await store.put({ type, schema, mode: 'off' });
        expect((await store.get(type))?.schema).toEqual(schema);
      });
    });

    describe('get and versions', () => {
      it('gets the latest version, or the version asked for', async () => {
        await store.put({ type: 't', schema: v1, mode: 'enforce' });
        await store.put({ type: 't', schema: v2, mode: 'enforce' });
        expect(await store.get('t')).toMatchObject({ version: 2, schema: v2 });
        expect(await store.get('t', 1)).toMatchObject({ version: 1, schema: v1 });
      });

      it('returns undefined for an unknown type or version', async () => {
        await store.put({ type: 't', schema: v1, mode: 'enforce' });
        expect(await store.get('nope')).toBeUndefined();
        expect(await store.get('t', 9)).toBeUndefined();
      });

      it('lists the versions of a type oldest first', async () => {
        await store.put({ type: 't', schema: v1, mode: 'enforce' });
        await store.put({ type: 'other', schema: v1, mode: 'enforce' });
        await store.put({ type: 't', schema: v2, mode: 'enforce' });
        const versions = await store.versions('t');
        expect(versions.map((r) => [r.type, r.version])).toEqual([
          ['t', 1],
          ['t', 2],
        ]);
        expect(await store.versions('nope')).toEqual([]);
      });
    });

    describe('mode', () => {
      it('gives the mode of the latest put to every version of the type', async () => {
        await store.put({ type: 't', schema: v1, mode: 'enforce' });
        await store.put({ type: 't', schema: v2, mode: 'warn' });
        expect((await store.versions('t')).map((r) => r.mode)).toEqual(['warn', 'warn']);
      });

      it('sets the mode of a type, not of other types', async () => {
        await store.put({ type: 't', schema: v1, mode: 'enforce' });
        await store.put({ type: 't', schema: v2, mode: 'enforce' });
        await store.put({ type: 'u', schema: v1, mode: 'enforce' });
        expect(await store.setMode('t', 'off')).toBe(true);
        expect((await store.versions('t')).map((r) => r.mode)).toEqual(['off', 'off']);
        expect((await store.get('u'))?.mode).toBe('enforce');
      });

      it('returns false when setting the mode of an unknown type', async () => {
        expect(await store.setMode('nope', 'warn')).toBe(false);
        expect(await store.get('nope')).toBeUndefined();
      });
    });

    describe('delete', () => {
      it('deletes one version, and the previous one becomes the latest', async () => {
        await store.put({ type: 't', schema: v1, mode: 'enforce' });
        await store.put({ type: 't', schema: v2, mode: 'enforce' });
        expect(await store.delete('t', 2)).toBe(1);
        expect(await store.get('t')).toMatchObject({ version: 1, schema: v1 });
        expect(await store.get('t', 2)).toBeUndefined();
      });

      it('deletes a middle version and keeps the others', async () => {
        for (const schema of [v1, v2, v3]) await store.put({ type: 't', schema, mode: 'enforce' });
        expect(await store.delete('t', 2)).toBe(1);
        expect((await store.versions('t')).map((r) => r.version)).toEqual([1, 3]);
      });

      it('deletes every version of a type and only that type', async () => {
        for (const schema of [v1, v2, v3]) await store.put({ type: 't', schema, mode: 'enforce' });
        await store.put({ type: 'u', schema: v1, mode: 'enforce' });
        expect(await store.delete('t')).toBe(3);
        expect(await store.get('t')).toBeUndefined();
        expect(await store.versions('t')).toEqual([]);
        expect(await store.setMode('t', 'warn')).toBe(false);
        expect((await store.list()).map((r) => r.type)).toEqual(['u']);
      });

      it('returns 0 when there is nothing to delete', async () => {
        await store.put({ type: 't', schema: v1, mode: 'enforce' });
        expect(await store.delete('nope')).toBe(0);
        expect(await store.delete('t', 7)).toBe(0);
      });

      it('starts a deleted type again at version 1', async () => {
        await store.put({ type: 't', schema: v1, mode: 'enforce' });
        await store.put({ type: 't', schema: v2, mode: 'enforce' });
        await store.delete('t');
        expect((await store.put({ type: 't', schema: v3, mode: 'warn' })).version).toBe(1);
      });
    });

    describe('list', () => {
      it('lists the latest version of every type, by type name', async () => {
        await store.put({ type: 'b', schema: v1, mode: 'enforce' });
        await store.put({ type: 'a', schema: v1, mode: 'warn' });
        await store.put({ type: 'b', schema: v2, mode: 'enforce' });
        await store.put({ type: 'c', schema: v1, mode: 'off', version: 4 });
        const list = await store.list();
        expect(list.map((r) => [r.type, r.version, r.mode])).toEqual([
          ['a', 1, 'warn'],
          ['b', 2, 'enforce'],
          ['c', 4, 'off'],
        ]);
        expect(list[1]?.schema).toEqual(v2);
      });

      it('lists nothing when empty', async () => {
        expect(await store.list()).toEqual([]);
      });
    });
  });
}
