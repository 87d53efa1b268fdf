/**
 * @module The lease keeper: holds a set of named leases (src/ports/lease-store.ts) for one node,
 * renews them on a timer, and says when one is lost, early enough that the node stops acting for
 * it before anyone else can take it.
 *
 * Deadlines are local: a lease counts as held until `sentAt + ttlMs - safetyMarginMs`, where
 * `sentAt` is this node's clock when it sent the acquire or the renewal that succeeded. The store
 * stamps the lease's expiry at least that late (its own clock read the request after it was sent),
 * so the local deadline is earlier than the store's expiry whatever the skew between the clocks;
 * the margin covers clock-rate drift and the time between a `held()` check and the act it guards.
 */
import type { Clock } from '../../core/clock.js';
import { systemClock } from '../../core/clock.js';
import { ErrorCode, HomeostatError } from '../../core/errors.js';
import type { Lease, LeaseStore } from '../../ports/lease-store.js';

/** Why a lease was lost. */
export const LostReason = {
  /** A renewal found the lease no longer ours (another node holds it, or it lapsed in the store). */
  taken: 'taken',
  /** Renewals kept failing (store unreachable) until the local deadline. */
  unrenewed: 'unrenewed',
} as const;
export type LostReason = (typeof LostReason)[keyof typeof LostReason];

/** A lease the keeper stopped holding without being asked to. */
export interface LostLease {
  readonly lease: Lease;
  readonly reason: LostReason;
  /** The last renewal error, for `unrenewed`. */
  readonly error?: unknown;
}

export interface LeaseKeeperOptions {
  readonly store: LeaseStore;
  /** This node's owner id: unique per process start (include something random). */
  readonly owner: string;
  /** Each lease's time to live, ms. */
  readonly ttlMs: number;
  /** How often held leases are renewed, ms; less than `ttlMs - safetyMarginMs`. */
  readonly renewEveryMs: number;
  /** How long before the store could expire a lease the keeper gives it up locally, ms. Default `ttlMs / 5`. */
  readonly safetyMarginMs?: number;
  /** This node's clock, for local deadlines. Default the system clock. */
  readonly clock?: Clock;
  /** Told about every lost lease (after the keeper dropped it). */
  readonly onLost?: (lost: LostLease) => void;
  /** Told about store errors (renewals are retried on the next tick) and listener failures. */
  readonly onError?: (error: unknown, name: string) => void;
}

export interface LeaseKeeper {
  readonly owner: string;
  readonly store: LeaseStore;
  readonly ttlMs: number;
  readonly renewEveryMs: number;
  /** True once `close` was called. */
  readonly closed: boolean;
  /**
   * Tries once to take `name`; on success the keeper renews it until released, lost or closed.
   * Already held: returns the held lease. Another holder: `undefined`. Store errors are thrown.
   */
  acquire(name: string): Promise<Lease | undefined>;
  /** Stops renewing `name` and releases it in the store (errors go to `onError`). No-op if not held. */
  release(name: string): Promise<void>;
  /** The lease if it is held and its local deadline has not passed. */
  held(name: string): Lease | undefined;
  /** Names held now, starting with `prefix` (default all), sorted. */
  heldNames(prefix?: string): string[];
  /** Adds a listener for lost leases; returns a function that removes it. */
  onLost(listener: (lost: LostLease) => void): () => void;
  /** Renews every held lease now (the timer does this every `renewEveryMs`). */
  renewNow(): Promise<void>;
  /**
   * Stops the timer and, unless `release: false`, releases every held lease. `release: false`
   * leaves them to expire, as a crashed node would. Idempotent.
   */
  close(options?: { readonly release?: boolean }): Promise<void>;
}

interface Entry {
  lease: Lease;
  deadline: number;
  timer: ReturnType<typeof setTimeout> | undefined;
  renewing: boolean;
  lastError: unknown;
}

/** Creates a keeper; its renewal timer runs until `close` (unref'd: it does not keep the process alive). */
export function createLeaseKeeper(options: LeaseKeeperOptions): LeaseKeeper {
  const { store, owner, ttlMs, renewEveryMs } = options;
  const clock = options.clock ?? systemClock;
  const margin = options.safetyMarginMs ?? Math.floor(ttlMs / 5);
  checkOptions(owner, ttlMs, renewEveryMs, margin);
  const entries = new Map<string, Entry>();
  const acquiring = new Map<string, Promise<Lease | undefined>>();
  const listeners = new Set<(lost: LostLease) => void>();
  if (options.onLost) listeners.add(options.onLost);
  const reportError = (error: unknown, name: string): void => {
    try {
      options.onError?.(error, name);
    } catch {
      // A failing error reporter must not stop the keeper.
    }
  };
  let closed = false;

  const interval = setInterval(() => void renewAll(), renewEveryMs);
  interval.unref();

  function arm(name: string, entry: Entry): void {
    if (entry.timer) clearTimeout(entry.timer);
    entry.timer = setTimeout(() => lose(name, entry, LostReason.unrenewed), Math.max(0, entry.deadline - clock.now()));
    entry.timer.unref();
  }

  function lose(name: string, entry: Entry, reason: LostReason): void {
    if (entries.get(name) !== entry) return;
    entries.delete(name);
    if (entry.timer) clearTimeout(entry.timer);
    const lost: LostLease =
      reason === LostReason.unrenewed && entry.lastError !== undefined
        ? { lease: entry.lease, reason, error: entry.lastError }
        : { lease: entry.lease, reason };
    for (const listener of [...listeners]) {
      try {
        listener(lost);
      } catch (error) {
        reportError(error, name);
      }
    }
  }

  async function renewOne(name: string, entry: Entry): Promise<void> {
    if (entry.renewing) return;
    entry.renewing = true;
    const sentAt = clock.now();
    try {
      const next = await store.renew(entry.lease, ttlMs);
      if (entries.get(name) !== entry) {
        // Released, lost or closed while the renewal was under way: do not keep what we gave up.
        if (next) await store.release(next).catch((error: unknown) => reportError(error, name));
        return;
      }
      if (!next) {
        lose(name, entry, LostReason.taken);
        return;
      }
      entry.lease = next;
      entry.lastError = undefined;
      entry.deadline = sentAt + ttlMs - margin;
      if (entry.deadline > clock.now()) {
        arm(name, entry);
        return;
      }
      // The answer came too late to act on: drop it, and free it for others.
      lose(name, entry, LostReason.unrenewed);
      await store.release(next).catch((error: unknown) => reportError(error, name));
    } catch (error) {
      entry.lastError = error;
      reportError(error, name);
    } finally {
      entry.renewing = false;
    }
  }

  async function renewAll(): Promise<void> {
    if (closed) return;
    await Promise.all([...entries].map(([name, entry]) => renewOne(name, entry)));
  }

  async function take(name: string): Promise<Lease | undefined> {
    const sentAt = clock.now();
    const lease = await store.acquire(name, owner, ttlMs);
    if (!lease) return undefined;
    const deadline = sentAt + ttlMs - margin;
    if (closed || deadline <= clock.now()) {
      // Too late to use (closed meanwhile, or the answer took most of the TTL): give it back.
      await store.release(lease).catch((error: unknown) => reportError(error, name));
      return undefined;
    }
    const entry: Entry = { lease, deadline, timer: undefined, renewing: false, lastError: undefined };
    entries.set(name, entry);
    arm(name, entry);
    return lease;
  }

  function held(name: string): Lease | undefined {
    const entry = entries.get(name);
    return entry && clock.now() < entry.deadline ? entry.lease : undefined;
  }

  return {
    owner,
    store,
    ttlMs,
    renewEveryMs,
    get closed() {
      return closed;
    },
    async acquire(name) {
      if (closed) return undefined;
      const mine = held(name);
      if (mine) return mine;
      const pending = acquiring.get(name);
      if (pending) return pending;
      const attempt = take(name).finally(() => acquiring.delete(name));
      acquiring.set(name, attempt);
      return attempt;
    },
    async release(name) {
      const entry = entries.get(name);
      if (!entry) return;
      entries.delete(name);
      if (entry.timer) clearTimeout(entry.timer);
      await store.release(entry.lease).catch((error: unknown) => reportError(error, name));
    },
    held,
    heldNames: (prefix = '') =>
      [...entries.keys()].filter((name) => name.startsWith(prefix) && held(name) !== undefined).sort(),
    onLost(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    renewNow: renewAll,
    async close(closeOptions = {}) {
      if (closed) return;
      closed = true;
      clearInterval(interval);
      const all = [...entries];
      entries.clear();
      for (const [, entry] of all) if (entry.timer) clearTimeout(entry.timer);
      if (closeOptions.release === false) return;
      await Promise.all(
        all.map(([name, entry]) => store.release(entry.lease).catch((error: unknown) => reportError(error, name))),
      );
    },
  };
}

function checkOptions(owner: string, ttlMs: number, renewEveryMs: number, margin: number): void {
  const problems: string[] = [];
  if (typeof owner !== 'string' || owner === '') problems.push('owner must be a non-empty string');
  if (!Number.isSafeInteger(ttlMs) || ttlMs <= 0) problems.push(`ttlMs must be a positive integer; got ${ttlMs}`);
  if (!Number.isSafeInteger(margin) || margin < 0 || margin >= ttlMs) {
    problems.push(`safetyMarginMs must be an integer from 0 to below ttlMs (${ttlMs}); got ${margin}`);
  }
  if (!Number.isFinite(renewEveryMs) || renewEveryMs <= 0 || renewEveryMs >= ttlMs - margin) {
    problems.push(
      `renewEveryMs must be above 0 and below ttlMs - safetyMarginMs (${ttlMs - margin}) so a lease is renewed before it is given up; got ${renewEveryMs}`,
    );
  }
  if (problems.length > 0) {
    throw new HomeostatError(ErrorCode.CONFIG_INVALID, `invalid lease keeper options: ${problems.join('; ')}`, {
      details: { owner, ttlMs, renewEveryMs, safetyMarginMs: margin },
    });
  }
}
