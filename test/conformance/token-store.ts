/** @module The TokenStore conformance suite: every backend runs it by passing a factory. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../src/core/errors.js';
import type { TokenRecord, TokenStore } from '../../src/ports/token-store.js';

export interface TokenStoreHarness {
  readonly store: TokenStore;
  close(): Promise<void>;
}

export interface TokenStoreConformanceOptions {
  /** The backend's name, shown in test titles. */
  readonly name: string;
  /** A fresh, empty store for each test. */
  readonly create: () => Promise<TokenStoreHarness>;
}

function token(id: string, overrides: Partial<TokenRecord> = {}): TokenRecord {
  return {
    id,
    name: `token ${id}`,
    scopes: ['publish', 'read'],
    hash: 'ab'.repeat(32),
    createdAt: Date.UTC(2026, 0, 1),
    ...overrides,
  };
}

/** Defines vitest blocks that check the whole TokenStore contract (src/ports/token-store.ts). */
export function runTokenStoreConformance(options: TokenStoreConformanceOptions): void {
  describe(`TokenStore conformance: ${options.name}`, () => {
    let harness: TokenStoreHarness;
    let store: TokenStore;

    beforeEach(async () => {
      harness = await options.create();
      store = harness.store;
    });
    afterEach(async () => {
      await harness.close();
    });

    it('finds an added token by id, with every field', async () => {
      const record = token('abc123def456', { scopes: ['admin'], hash: 'f0'.repeat(32), createdAt: 1234 });
      await store.add(record);
      expect(await store.find('abc123def456')).toEqual(record);
    });

    it('keeps the order of scopes', async () => {
      await store.add(token('t1', { scopes: ['read', 'publish', 'admin'] }));
      expect((await store.find('t1'))?.scopes).toEqual(['read', 'publish', 'admin']);
    });

    it('returns undefined for an unknown id', async () => {
      await store.add(token('t1'));
      expect(await store.find('t2')).toBeUndefined();
    });

    it('rejects a second token with the same id as E_CONFLICT and keeps the first', async () => {
      await store.add(token('t1', { name: 'first' }));
      await expect(store.add(token('t1', { name: 'second' }))).rejects.toMatchObject({ code: ErrorCode.CONFLICT });
      expect((await store.find('t1'))?.name).toBe('first');
      expect(await store.count()).toBe(1);
    });

    it('lists every token, oldest first', async () => {
      await store.add(token('t2', { createdAt: 2 }));
      await store.add(token('t1', { createdAt: 1 }));
      await store.add(token('t3', { createdAt: 3 }));
      expect((await store.list()).map((t) => t.id)).toEqual(['t1', 't2', 't3']);
      expect((await store.list())[0]).toEqual(token('t1', { createdAt: 1 }));
    });

    it('lists and counts nothing when empty', async () => {
      expect(await store.list()).toEqual([]);
      expect(await store.count()).toBe(0);
    });

    it('removes a token and says whether one was removed', async () => {
      await store.add(token('t1'));
      await store.add(token('t2'));
      expect(await store.remove('t1')).toBe(true);
      expect(await store.remove('t1')).toBe(false);
      expect(await store.find('t1')).toBeUndefined();
      expect((await store.list()).map((t) => t.id)).toEqual(['t2']);
    });

    it('counts the tokens', async () => {
      for (const id of ['a', 'b', 'c']) await store.add(token(id));
      expect(await store.count()).toBe(3);
      await store.remove('b');
      expect(await store.count()).toBe(2);
    });
  });
}
