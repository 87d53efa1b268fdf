/**
 * @module One node of a cluster (docs/DEPLOYMENT.md): several `homeostat up --cluster` processes
 * share one NATS JetStream log and one PostgreSQL state and split the work through leases
 * (src/ports/lease-store.ts):
 * - **Partitions**: each node owns up to ⌈P/N⌉ of the log's P partitions (`partition/<k>` leases,
 *   src/engine/cluster/partitions.ts) and routes their events to partition-placed targets.
 * - **Leader**: one node holds the `leader` lease (src/engine/cluster/election.ts) and runs the
 *   singletons: conditions and their timers, leader-placed targets (policies, workflows,
 *   infrastructure actions), the reconciler and providers, schedules, retention, scrapes.
 *   Leadership is started once per process: a node that loses it stops acting at its local
 *   deadline and exits (fail-stop), so a deposed leader never acts on stale state; its process
 *   manager starts it again as a follower.
 * - **Refresh**: rules and schemas written through another node are re-read every `refreshEvery`.
 *
 * An owner id is `<nodeId> <random> <advertised URL>`: unique per process start, and it tells the
 * other nodes where the leader serves (followers redirect management requests there).
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { createElection, type Election } from '../engine/cluster/election.js';
import { createLeaseKeeper, type LeaseKeeper } from '../engine/cluster/leases.js';
import {
  assignPartitions,
  NODE_PREFIX,
  PARTITION_PREFIX,
  type PartitionAssignment,
  RevokeReason,
} from '../engine/cluster/partitions.js';
import type { Lease, LeaseStore } from '../ports/lease-store.js';
import type { ResolvedConfig } from './config.js';

/** The lease whose holder leads the cluster. */
export const LEADER_LEASE = 'leader';

export interface ClusterNodeOptions {
  readonly store: LeaseStore;
  readonly settings: NonNullable<ResolvedConfig['cluster']>;
  /** The log's partition count. */
  readonly partitions: number;
  /** The URL this node serves, when `advertiseUrl` is not set. */
  readonly url: string;
  readonly logger: Logger;
  /** Start routing partition `p` (resolves once it routes). */
  readonly startPartition: (p: number) => Promise<void>;
  /**
   * Stop routing partition `p` (resolves once it stopped and committed). `drain`: let attempts
   * under way finish (the lease is still held); otherwise abort them (the lease is gone).
   */
  readonly stopPartition: (p: number, drain: boolean) => Promise<void>;
  /** This node leads now: start the singletons. Called at most once. */
  readonly lead: () => Promise<void>;
  /** Leadership was lost while the process runs (not on close): stop acting at once. */
  readonly deposed: () => void;
  /** Re-read what other nodes may have changed (rules, schemas). */
  readonly refresh: () => Promise<void>;
}

/** GET /v1/cluster. */
export interface ClusterStatus {
  readonly node: string;
  readonly url: string;
  readonly leader: { readonly node: string; readonly url: string; readonly token: number } | null;
  readonly isLeader: boolean;
  readonly partitions: { readonly total: number; readonly owned: readonly number[] };
  readonly nodes: readonly { readonly node: string; readonly url: string; readonly partitions: number[] }[];
  readonly leaseTtlMs: number;
}

export interface ClusterNode {
  readonly nodeId: string;
  /**
   * Undefined while this node leads, as the store confirms with the lease's fencing token; else
   * why it must not act for the cluster (checked before every automated action).
   */
  fence(): Promise<string | undefined>;
  /** Where a request only the leader serves should go: here, the leader's URL, or nobody yet. */
  route(): 'here' | { readonly leaderUrl: string; readonly leader: string } | undefined;
  status(): Promise<ClusterStatus>;
  /** Leases released (unless `release: false`: like a crash, they lapse), routing stopped. */
  close(options?: { readonly release?: boolean }): Promise<void>;
}

interface Owner {
  readonly node: string;
  readonly url: string;
}

/** Splits an owner id into the node and its URL. */
export function parseOwner(owner: string): Owner {
  const [node = owner, , url = ''] = owner.split(' ');
  return { node, url };
}

/** Joins the cluster: heartbeat, partitions and the election start at once. */
export async function joinCluster(o: ClusterNodeOptions): Promise<ClusterNode> {
  const { settings, logger } = o;
  const url = settings.advertiseUrl ?? o.url;
  const owner = `${settings.nodeId} ${randomBytes(4).toString('hex')} ${url}`;
  const log = logger.child({ node: settings.nodeId });
  let closing = false;
  let leaderCache: Lease | undefined;

  const keeper: LeaseKeeper = createLeaseKeeper({
    store: o.store,
    owner,
    ttlMs: settings.leaseTtlMs,
    renewEveryMs: settings.renewEveryMs,
    onError: (err, name) => log.warn({ err, lease: name }, `lease ${name}: store error (retrying)`),
    onLost: (lost) => {
      if (!closing) log.warn({ lease: lost.lease.name, reason: lost.reason }, `lost lease ${lost.lease.name}`);
    },
  });

  const assignment: PartitionAssignment = assignPartitions({
    keeper,
    partitions: o.partitions,
    onAssigned: async (id) => {
      const p = Number(id);
      try {
        await o.startPartition(p);
        log.info({ partition: p }, `routing partition ${p}`);
      } catch (err) {
        log.error({ err, partition: p }, `partition ${p} could not start; giving it back`);
        await keeper.release(`${PARTITION_PREFIX}${id}`);
      }
    },
    onRevoked: async (id, reason) => {
      const p = Number(id);
      await o.stopPartition(p, reason !== RevokeReason.lost);
      if (!closing) log.info({ partition: p, reason }, `stopped routing partition ${p} (${reason})`);
    },
    onError: (err) => log.warn({ err }, 'partition rebalance failed (retrying)'),
  });

  let led = false;
  const election: Election = createElection({
    keeper,
    name: LEADER_LEASE,
    onError: (err) => log.warn({ err }, 'leader election attempt failed (retrying)'),
  });
  election.onChange((leader, lease) => {
    if (leader && lease) {
      leaderCache = lease;
      if (led) return;
      led = true;
      log.info({ token: lease.token }, `leading the cluster (fencing token ${lease.token})`);
      o.lead().catch((err: unknown) => {
        log.fatal({ err }, 'starting the leader singletons failed');
        o.deposed();
      });
      return;
    }
    if (!leader && led && !closing) {
      log.fatal('lost the leader lease; stopping so that no other node and this one act at once');
      o.deposed();
    }
  });

  const refresh = setInterval(() => {
    o.refresh().catch((err: unknown) => log.warn({ err }, 'refreshing rules and schemas failed (retrying)'));
    if (!election.isLeader()) {
      election.leader().then(
        (lease) => (leaderCache = lease),
        () => (leaderCache = undefined),
      );
    }
  }, settings.refreshEveryMs);
  refresh.unref();
  leaderCache = await election.leader().catch(() => undefined);

  return {
    nodeId: settings.nodeId,
    async fence() {
      const lease = keeper.held(LEADER_LEASE);
      if (!lease) return `node '${settings.nodeId}' does not lead the cluster`;
      if (!(await o.store.checkFence(LEADER_LEASE, lease.token))) {
        return `node '${settings.nodeId}' was deposed (its fencing token ${lease.token} is no longer current)`;
      }
      return undefined;
    },
    route() {
      if (election.isLeader()) return 'here';
      // The leader as last read (every `refreshEvery`): a dead leader is redirected to until then.
      if (!leaderCache || leaderCache.owner === owner) return undefined;
      const leader = parseOwner(leaderCache.owner);
      return leader.url ? { leaderUrl: leader.url, leader: leader.node } : undefined;
    },
    async status() {
      const [leader, nodes, partitions] = await Promise.all([
        election.leader(),
        o.store.list(NODE_PREFIX),
        o.store.list(PARTITION_PREFIX),
      ]);
      const byOwner = new Map<string, number[]>();
      for (const lease of partitions) {
        const list = byOwner.get(lease.owner) ?? [];
        list.push(Number(lease.name.slice(PARTITION_PREFIX.length)));
        byOwner.set(lease.owner, list);
      }
      return {
        node: settings.nodeId,
        url,
        leader: leader ? { ...parseOwner(leader.owner), token: leader.token } : null,
        isLeader: election.isLeader(),
        partitions: {
          total: o.partitions,
          owned: assignment
            .owned()
            .map(Number)
            .sort((a, b) => a - b),
        },
        nodes: nodes.map((lease) => {
          const id = lease.name.slice(NODE_PREFIX.length);
          return { ...parseOwner(id), partitions: (byOwner.get(id) ?? []).sort((a, b) => a - b) };
        }),
        leaseTtlMs: settings.leaseTtlMs,
      };
    },
    async close(closeOptions = {}) {
      if (closing) return;
      closing = true;
      clearInterval(refresh);
      if (closeOptions.release === false) {
        await keeper.close({ release: false });
        return;
      }
      await assignment.close();
      await election.close();
      await keeper.close();
    },
  };
}
