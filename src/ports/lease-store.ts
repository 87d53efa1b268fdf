/**
 * @module LeaseStore: named, time-limited, exclusive leases with fencing tokens; what partition
 * ownership and leader election among several nodes are built on.
 *
 * Contract:
 * - **Exclusive**: a name has at most one unexpired holder. Every change is one atomic statement,
 *   so two nodes racing for a free lease never both win.
 * - **Time**: `expiresAt` is in the store's clock (PostgreSQL: the server's `clock_timestamp()`, so
 *   nodes with skewed clocks agree; SQLite: the injected Clock). A caller must not compare it with
 *   its own clock; it keeps its own deadline from when it sent the request (see
 *   src/engine/cluster/leases.ts).
 * - **Fencing token**: `token` is a positive integer that strictly increases, per name, every time
 *   the lease starts a new tenure (taken when free, expired or released, also by the same owner
 *   again). A renewal keeps it. Tokens are durable and never reused: a released or expired lease
 *   keeps its row. A write guarded by a lease carries the token; `checkFence` (or a comparison in
 *   the write's own statement) refuses writes from a former holder.
 * - **Owner**: an opaque id; one process instance must use one owner id that no other instance
 *   uses (include something random per start), or two instances would both count as holder.
 * - **Errors**: backend failures are E_BACKEND (retryable), a closed store E_CLOSED. A lease that
 *   is not ours is not an error: the calls return `undefined` or do nothing.
 */

/** A held lease, as the store granted it. */
export interface Lease {
  readonly name: string;
  readonly owner: string;
  /** Fencing token: grows every time the lease changes hands; kept by a renewal. */
  readonly token: number;
  /** When the lease lapses unless renewed, ms since the epoch in the store's clock. */
  readonly expiresAt: number;
}

export interface LeaseStore {
  /**
   * Takes `name` for `owner` for `ttlMs` if it is free, expired, or already held by `owner` (then
   * it is a renewal that keeps the token). `undefined` when another owner holds it.
   */
  acquire(name: string, owner: string, ttlMs: number): Promise<Lease | undefined>;
  /** Extends `lease` by `ttlMs` from now if it is still held with the same owner and token; `undefined`: lost. */
  renew(lease: Lease, ttlMs: number): Promise<Lease | undefined>;
  /** Gives `lease` up if it is still held with the same owner and token; otherwise does nothing. */
  release(lease: Lease): Promise<void>;
  /** The unexpired holder of `name`, if any. */
  holder(name: string): Promise<Lease | undefined>;
  /** Unexpired leases whose names start with `prefix`, ordered by name (code point order). */
  list(prefix: string): Promise<Lease[]>;
  /** True only if `token` is the current token of an unexpired lease `name`. */
  checkFence(name: string, token: number): Promise<boolean>;
}
