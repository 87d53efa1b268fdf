/**
 * @module Partition assignment over leases: each node holds a heartbeat lease `node/<owner>` and
 * claims up to a fair share, ⌈P/N⌉ of the P partitions for the N live nodes, as leases
 * `partition/<id>`; when nodes join it releases its extras so they can take them, and when a node
 * dies its partitions' leases lapse and the others' shares grow to cover them.
 *
 * Ordering per partition key across a change of owner: a node stops processing a partition before
 * it gives it up (`onRevoked` is awaited before the release, and a lost lease is reported before
 * the store could expire it), and the next owner can only take it after that, resuming from the
 * committed offsets.
 */
import type { Lease } from '../../ports/lease-store.js';
import type { LeaseKeeper } from './leases.js';

/** Why a partition was taken away from this node. */
export const RevokeReason = {
  /** More nodes joined: released so that another node can take it. */
  rebalance: 'rebalance',
  /** The lease was lost (taken, or the store unreachable until the deadline). */
  lost: 'lost',
  /** The assignment was closed. */
  closed: 'closed',
} as const;
export type RevokeReason = (typeof RevokeReason)[keyof typeof RevokeReason];

export const NODE_PREFIX = 'node/';
export const PARTITION_PREFIX = 'partition/';

export interface PartitionAssignmentOptions {
  readonly keeper: LeaseKeeper;
  /** The partitions: a count P (ids '0' … 'P-1') or the ids. */
  readonly partitions: number | readonly string[];
  /**
   * The live nodes' owner ids. Default: the holders of unexpired `node/<owner>` leases in the
   * keeper's store (this node always counts).
   */
  readonly nodes?: () => Promise<readonly string[]> | readonly string[];
  /** How often shares are recomputed and free partitions claimed, ms. Default the keeper's `renewEveryMs`. */
  readonly rebalanceEveryMs?: number;
  /** Called after this node took a partition; start consuming it from its committed offset. */
  readonly onAssigned?: (partition: string, lease: Lease) => void | Promise<void>;
  /**
   * Called when a partition leaves this node; stop processing it before returning. Awaited before
   * a `rebalance` or `closed` release; for `lost` the lease is already gone.
   */
  readonly onRevoked?: (partition: string, reason: RevokeReason) => void | Promise<void>;
  /** Told about store errors and callback failures; the next round retries. */
  readonly onError?: (error: unknown) => void;
}

export interface PartitionAssignment {
  /** Partition ids this node holds now, sorted as given. */
  owned(): string[];
  /** The fencing token of a partition this node holds. */
  token(partition: string): number | undefined;
  /** Runs one round now: heartbeat, share, give up extras, claim free partitions. */
  rebalance(): Promise<void>;
  /** Stops, revokes and releases every partition and the heartbeat. Idempotent. */
  close(): Promise<void>;
}

/** Starts at once, then runs a round every `rebalanceEveryMs` until `close` or until the keeper closes. */
export function assignPartitions(options: PartitionAssignmentOptions): PartitionAssignment {
  const { keeper } = options;
  const ids =
    typeof options.partitions === 'number'
      ? Array.from({ length: options.partitions }, (_, i) => String(i))
      : [...options.partitions];
  const order = new Map(ids.map((id, i) => [id, i]));
  const nodeName = `${NODE_PREFIX}${keeper.owner}`;
  const leaseName = (id: string): string => `${PARTITION_PREFIX}${id}`;
  // This node's preference among partitions (rendezvous hashing): nodes reach for different free
  // partitions first instead of all racing for the same one.
  const preference = [...ids].sort((a, b) => score(keeper.owner, a) - score(keeper.owner, b) || compare(a, b));
  const report = (error: unknown): void => {
    try {
      options.onError?.(error);
    } catch {
      // A failing error reporter must not stop the assignment.
    }
  };
  const notify = async (fn: () => void | Promise<void>): Promise<void> => {
    try {
      await fn();
    } catch (error) {
      report(error);
    }
  };
  const mine = new Set<string>();
  let closed = false;
  let round: Promise<void> | undefined;

  const unsubscribe = keeper.onLost((lost) => {
    const name = lost.lease.name;
    if (!name.startsWith(PARTITION_PREFIX)) return;
    const id = name.slice(PARTITION_PREFIX.length);
    if (!mine.delete(id)) return;
    void notify(() => options.onRevoked?.(id, RevokeReason.lost));
  });

  async function liveNodes(): Promise<string[]> {
    const found = options.nodes
      ? await options.nodes()
      : (await keeper.store.list(NODE_PREFIX)).map((lease) => lease.name.slice(NODE_PREFIX.length));
    return [...new Set([...found, keeper.owner])];
  }

  async function runRound(): Promise<void> {
    if (closed || keeper.closed) {
      stop();
      return;
    }
    // Leases the keeper dropped without telling (local deadline passed before its timer fired).
    for (const id of [...mine]) if (!keeper.held(leaseName(id))) mine.delete(id);

    if (!(await keeper.acquire(nodeName))) return;
    const share = Math.ceil(ids.length / (await liveNodes()).length);

    // Give up extras, least preferred first.
    const extras = preference.filter((id) => mine.has(id)).slice(share);
    for (const id of extras.reverse()) {
      if (closed) return;
      mine.delete(id);
      await notify(() => options.onRevoked?.(id, RevokeReason.rebalance));
      await keeper.release(leaseName(id));
    }

    if (mine.size >= share) return;
    const taken = new Set(
      (await keeper.store.list(PARTITION_PREFIX)).map((lease) => lease.name.slice(PARTITION_PREFIX.length)),
    );
    for (const id of preference) {
      if (closed || keeper.closed || mine.size >= share) return;
      if (taken.has(id) || mine.has(id)) continue;
      const lease = await keeper.acquire(leaseName(id));
      if (!lease) continue;
      mine.add(id);
      await notify(() => options.onAssigned?.(id, lease));
    }
  }

  const rebalance = (): Promise<void> => {
    round ??= runRound()
      .catch(report)
      .finally(() => {
        round = undefined;
      });
    return round;
  };

  const timer = setInterval(() => void rebalance(), options.rebalanceEveryMs ?? keeper.renewEveryMs);
  timer.unref();
  const stop = (): void => {
    clearInterval(timer);
    unsubscribe();
  };
  void rebalance();

  return {
    owned: () => ids.filter((id) => mine.has(id) && keeper.held(leaseName(id)) !== undefined),
    token: (id) => (mine.has(id) ? keeper.held(leaseName(id))?.token : undefined),
    rebalance,
    async close() {
      if (closed) return;
      closed = true;
      stop();
      await round;
      const held = [...mine].sort((a, b) => (order.get(a) ?? 0) - (order.get(b) ?? 0));
      mine.clear();
      for (const id of held) {
        await notify(() => options.onRevoked?.(id, RevokeReason.closed));
        await keeper.release(leaseName(id));
      }
      await keeper.release(nodeName);
    },
  };
}

/** FNV-1a over `owner` and `id`: a stable pseudo-random rank of a partition for a node. */
function score(owner: string, id: string): number {
  let hash = 0x811c9dc5;
  const text = `${owner}\u0000${id}`;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
