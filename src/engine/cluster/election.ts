/**
 * @module Leader election on a lease: the node holding lease `name` is the leader, and acts for a
 * singleton (schedules, reconcilers, policy evaluation, condition timers) only while `isLeader()`.
 * Writes it makes as leader carry `token()`, so a store can refuse a deposed leader's late writes
 * (LeaseStore.checkFence).
 */
import type { Lease } from '../../ports/lease-store.js';
import type { LeaseKeeper } from './leases.js';

export interface ElectionOptions {
  readonly keeper: LeaseKeeper;
  /** The lease that makes its holder leader, e.g. `leader/schedules`. */
  readonly name: string;
  /** How often a follower tries to become leader, ms. Default the keeper's `renewEveryMs`. */
  readonly retryEveryMs?: number;
  /** Told about failed attempts (store errors); the next attempt follows after `retryEveryMs`. */
  readonly onError?: (error: unknown) => void;
}

export interface Election {
  readonly name: string;
  /** True while this node holds the lease (the keeper's local deadline has not passed). */
  isLeader(): boolean;
  /** The fencing token of this node's leadership, while leader. */
  token(): number | undefined;
  /** Called with `true` (and the lease) on becoming leader, `false` on losing or resigning. Returns an unsubscribe. */
  onChange(listener: (leader: boolean, lease: Lease | undefined) => void): () => void;
  /** Who leads now, as the store sees it (any node). */
  leader(): Promise<Lease | undefined>;
  /** Tries to become leader now (also done on a timer). Resolves to whether this node leads. */
  campaign(): Promise<boolean>;
  /** Stops campaigning and gives up leadership if held. Idempotent. */
  close(): Promise<void>;
}

/** Starts campaigning at once and every `retryEveryMs` until `close` or until the keeper closes. */
export function createElection(options: ElectionOptions): Election {
  const { keeper, name } = options;
  const listeners = new Set<(leader: boolean, lease: Lease | undefined) => void>();
  let leading = false;
  let closed = false;
  let attempt: Promise<boolean> | undefined;

  const emit = (leader: boolean, lease: Lease | undefined): void => {
    if (leader === leading) return;
    leading = leader;
    for (const listener of [...listeners]) {
      try {
        listener(leader, lease);
      } catch (error) {
        options.onError?.(error);
      }
    }
  };

  const unsubscribe = keeper.onLost((lost) => {
    if (lost.lease.name === name) emit(false, undefined);
  });

  async function tryOnce(): Promise<boolean> {
    if (closed || keeper.closed) {
      stop();
      return false;
    }
    if (keeper.held(name)) return true;
    if (leading) emit(false, undefined); // the local deadline passed before the keeper's timer fired
    try {
      const lease = await keeper.acquire(name);
      if (!lease || closed) return false;
      emit(true, lease);
      return true;
    } catch (error) {
      options.onError?.(error);
      return false;
    }
  }

  const campaign = (): Promise<boolean> => {
    attempt ??= tryOnce().finally(() => {
      attempt = undefined;
    });
    return attempt;
  };

  const timer = setInterval(() => void campaign(), options.retryEveryMs ?? keeper.renewEveryMs);
  timer.unref();
  const stop = (): void => {
    clearInterval(timer);
    unsubscribe();
  };
  void campaign();

  return {
    name,
    isLeader: () => keeper.held(name) !== undefined,
    token: () => keeper.held(name)?.token,
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    leader: () => keeper.store.holder(name),
    campaign,
    async close() {
      if (closed) return;
      closed = true;
      stop();
      await attempt;
      await keeper.release(name);
      emit(false, undefined);
    },
  };
}
