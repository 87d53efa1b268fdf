/** @module The LeaseStore conformance suite: every backend runs it by passing a factory. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../src/core/errors.js';
import type { LeaseStore } from '../../src/ports/lease-store.js';

export interface LeaseStoreHarness {
  readonly store: LeaseStore;
  /** Another store on the same data over its own connection (another node). Closed by `close`. */
  other(): Promise<LeaseStore>;
  /** Lets at least `ms` pass in the stores' clock (a fake clock advances, a server's clock is waited for). */
  elapse(ms: number): Promise<void>;
  /** Closes everything and opens the same data again. */
  reopen(): Promise<LeaseStoreHarness>;
  close(): Promise<void>;
}

export interface LeaseStoreConformanceOptions {
  /** The backend's name, shown in test titles. */
  readonly name: string;
  /** A fresh, empty store for each test. */
  readonly create: () => Promise<LeaseStoreHarness>;
}

/** Long enough that a lease never lapses during a test. */
const LONG = 600_000;
/** Short enough to wait for (elapse(SHORT + 50) lets it lapse). */
const SHORT = 200;

/** Defines vitest blocks that check the whole LeaseStore contract (src/ports/lease-store.ts). */
export function runLeaseStoreConformance(options: LeaseStoreConformanceOptions): void {
  describe(`LeaseStore conformance: ${options.name}`, () => {
    let harness: LeaseStoreHarness;
    let store: LeaseStore;

    beforeEach(async () => {
      harness = await options.create();
      store = harness.store;
    });
    afterEach(async () => {
      await harness.close();
    });

    it('grants a free lease and reports its holder', async () => {
      const lease = await store.acquire('leader/a', 'node-1', LONG);
      expect(lease).toMatchObject({ name: 'leader/a', owner: 'node-1' });
      expect(lease!.token).toBeGreaterThan(0);
      expect(Number.isSafeInteger(lease!.token)).toBe(true);
      expect(await store.holder('leader/a')).toEqual(lease);
      expect(await store.holder('leader/b')).toBeUndefined();
    });

    it('refuses a lease another owner holds, also to another connection', async () => {
      const first = await store.acquire('leader/a', 'node-1', LONG);
      const other = await harness.other();
      expect(await store.acquire('leader/a', 'node-2', LONG)).toBeUndefined();
      expect(await other.acquire('leader/a', 'node-2', LONG)).toBeUndefined();
      expect(await other.holder('leader/a')).toEqual(first);
    });

    it('treats acquire by the holder as a renewal that keeps the token', async () => {
      const first = (await store.acquire('leader/a', 'node-1', SHORT))!;
      const again = (await store.acquire('leader/a', 'node-1', LONG))!;
      expect(again.token).toBe(first.token);
      expect(again.expiresAt).toBeGreaterThan(first.expiresAt);
      await harness.elapse(SHORT + 50);
      expect(await store.holder('leader/a')).toEqual(again);
    });

    it('renews a held lease, keeping the token and moving the expiry', async () => {
      const first = (await store.acquire('leader/a', 'node-1', SHORT))!;
      const renewed = (await store.renew(first, LONG))!;
      expect(renewed).toMatchObject({ name: 'leader/a', owner: 'node-1', token: first.token });
      expect(renewed.expiresAt).toBeGreaterThan(first.expiresAt);
      await harness.elapse(SHORT + 50);
      expect(await store.holder('leader/a')).toEqual(renewed);
      expect(await store.renew(renewed, LONG)).toMatchObject({ token: first.token });
    });

    it('refuses to renew with another owner or token', async () => {
      const lease = (await store.acquire('leader/a', 'node-1', LONG))!;
      expect(await store.renew({ ...lease, owner: 'node-2' }, LONG)).toBeUndefined();
      expect(await store.renew({ ...lease, token: lease.token + 1 }, LONG)).toBeUndefined();
      expect(await store.renew({ ...lease, name: 'leader/b' }, LONG)).toBeUndefined();
      expect(await store.holder('leader/a')).toEqual(lease);
    });

    it('lets another owner take an expired lease with a larger token; the former holder cannot renew it', async () => {
      const first = (await store.acquire('leader/a', 'node-1', SHORT))!;
      await harness.elapse(SHORT + 50);
      expect(await store.holder('leader/a')).toBeUndefined();
      expect(await store.renew(first, LONG)).toBeUndefined();
      const other = await harness.other();
      const second = (await other.acquire('leader/a', 'node-2', LONG))!;
      expect(second.owner).toBe('node-2');
      expect(second.token).toBeGreaterThan(first.token);
      expect(await store.renew(first, LONG)).toBeUndefined();
      expect(await store.acquire('leader/a', 'node-1', LONG)).toBeUndefined();
    });

    it('starts a new tenure with a larger token when the same owner takes its expired lease again', async () => {
      const first = (await store.acquire('leader/a', 'node-1', SHORT))!;
      await harness.elapse(SHORT + 50);
      const again = (await store.acquire('leader/a', 'node-1', LONG))!;
      expect(again.token).toBeGreaterThan(first.token);
      expect(await store.checkFence('leader/a', first.token)).toBe(false);
    });

    it('frees a released lease at once; the next holder gets a larger token', async () => {
      const first = (await store.acquire('leader/a', 'node-1', LONG))!;
      await store.release(first);
      expect(await store.holder('leader/a')).toBeUndefined();
      expect(await store.renew(first, LONG)).toBeUndefined();
      const second = (await store.acquire('leader/a', 'node-2', LONG))!;
      expect(second.token).toBeGreaterThan(first.token);
      await store.release(second);
      const third = (await store.acquire('leader/a', 'node-2', LONG))!;
      expect(third.token).toBeGreaterThan(second.token);
    });

    it('ignores a release by a former holder', async () => {
      const first = (await store.acquire('leader/a', 'node-1', SHORT))!;
      await harness.elapse(SHORT + 50);
      const second = (await store.acquire('leader/a', 'node-2', LONG))!;
      await store.release(first);
      expect(await store.holder('leader/a')).toEqual(second);
      await store.release({ ...second, owner: 'node-1' });
      await store.release({ ...second, token: first.token });
      expect(await store.holder('leader/a')).toEqual(second);
    });

    it('passes the fence only for the current token of an unexpired lease', async () => {
      expect(await store.checkFence('leader/a', 1)).toBe(false);
      const first = (await store.acquire('leader/a', 'node-1', SHORT))!;
      expect(await store.checkFence('leader/a', first.token)).toBe(true);
      expect(await store.checkFence('leader/a', first.token + 1)).toBe(false);
      expect(await store.checkFence('leader/b', first.token)).toBe(false);
      await harness.elapse(SHORT + 50);
      expect(await store.checkFence('leader/a', first.token)).toBe(false);
      const second = (await store.acquire('leader/a', 'node-2', LONG))!;
      expect(await store.checkFence('leader/a', first.token)).toBe(false);
      expect(await store.checkFence('leader/a', second.token)).toBe(true);
      await store.release(second);
      expect(await store.checkFence('leader/a', second.token)).toBe(false);
    });

    it('lists unexpired leases by prefix, ordered by name, taking the prefix literally', async () => {
      await store.acquire('partition/2', 'node-1', LONG);
      await store.acquire('partition/10', 'node-2', LONG);
      await store.acquire('partition/1', 'node-1', LONG);
      await store.acquire('partition/3', 'node-1', SHORT);
      const released = (await store.acquire('partition/4', 'node-1', LONG))!;
      await store.release(released);
      await store.acquire('node/node-1', 'node-1', LONG);
      await store.acquire('a_b/1', 'node-1', LONG);
      await store.acquire('axb/1', 'node-1', LONG);
      await store.acquire('a%/1', 'node-1', LONG);
      await harness.elapse(SHORT + 50);
      const names = async (prefix: string) => (await store.list(prefix)).map((l) => `${l.name}@${l.owner}`);
      expect(await names('partition/')).toEqual(['partition/1@node-1', 'partition/10@node-2', 'partition/2@node-1']);
      expect(await names('a_b/')).toEqual(['a_b/1@node-1']);
      expect(await names('a%')).toEqual(['a%/1@node-1']);
      expect(await names('none/')).toEqual([]);
      expect((await store.list('')).length).toBe(7);
    });

    it('has exactly one winner when two connections race for the same lease (50 races, free and expired)', async () => {
      const other = await harness.other();
      for (let i = 0; i < 25; i++) await store.acquire(`race/expired-${i}`, 'node-0', SHORT);
      await harness.elapse(SHORT + 50);
      for (let i = 0; i < 50; i++) {
        const name = i % 2 === 0 ? `race/free-${i}` : `race/expired-${(i - 1) / 2}`;
        const [a, b] = await Promise.all([store.acquire(name, 'node-1', LONG), other.acquire(name, 'node-2', LONG)]);
        const winners = [a, b].filter((lease) => lease !== undefined);
        expect(winners, name).toHaveLength(1);
        const holder = await store.holder(name);
        expect(holder).toEqual(winners[0]);
        expect(holder!.token).toBe(i % 2 === 0 ? 1 : 2);
      }
    });

    it('keeps tokens across a reopen, never handing one out twice', async () => {
      const first = (await store.acquire('leader/a', 'node-1', LONG))!;
      await store.release(first);
      harness = await harness.reopen();
      store = harness.store;
      expect(await store.holder('leader/a')).toBeUndefined();
      const second = (await store.acquire('leader/a', 'node-2', LONG))!;
      expect(second.token).toBeGreaterThan(first.token);
      const held = (await store.acquire('leader/b', 'node-1', LONG))!;
      harness = await harness.reopen();
      store = harness.store;
      expect(await store.holder('leader/b')).toEqual(held);
      expect(await store.checkFence('leader/b', held.token)).toBe(true);
    });

    it('rejects a TTL that is not a positive whole number of ms as E_INVALID', async () => {
      for (const ttl of [0, -5, 1.5, Number.NaN]) {
        await expect(store.acquire('leader/a', 'node-1', ttl)).rejects.toMatchObject({
          code: ErrorCode.INVALID,
          message: expect.stringContaining("a lease's ttlMs must be a positive whole number"),
        });
      }
      expect(await store.holder('leader/a')).toBeUndefined();
    });
  });
}
