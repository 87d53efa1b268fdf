/**
 * @module The lease keeper, leader election and partition assignment (src/engine/cluster/) on real
 * stores: nodes are keepers with their own connection to one SQLite file, and to one PostgreSQL
 * schema when a server is there; a killed node is a keeper that stops without releasing, or a real
 * child process killed with SIGKILL.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode, HomeostatError } from '../../src/core/errors.js';
import { createElection, type Election } from '../../src/engine/cluster/election.js';
import { createLeaseKeeper, type LeaseKeeper, type LostLease } from '../../src/engine/cluster/leases.js';
import { assignPartitions, type PartitionAssignment } from '../../src/engine/cluster/partitions.js';
import type { LeaseStore } from '../../src/ports/lease-store.js';
import { createPostgresLeaseStore } from '../../src/store/postgres/lease-store.js';
import { createSqliteLeaseStore } from '../../src/store/sqlite/lease-store.js';
import { openStateDatabase } from '../../src/store/sqlite/state.js';
import { describeSkipped, postgresTestEnv } from '../store/postgres-harness.js';

const TTL = 800;
const RENEW = 200;
/** The bound on a takeover the issue asks for. */
/** How long a wait may take before the test gives up (generous: the machines are shared). */
const WAIT_BOUND = 30_000;

/** A shared store: each `node()` is another connection to the same data. */
interface Cluster {
  node(): Promise<LeaseStore>;
  close(): Promise<void>;
}

interface Backend {
  readonly name: string;
  open(): Promise<Cluster>;
}

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'homeostat-cluster-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

let files = 0;
const sqlite: Backend = {
  name: 'SQLite',
  async open() {
    const path = join(dir, `state-${++files}.db`);
    const dbs: ReturnType<typeof openStateDatabase>[] = [];
    return {
      async node() {
        const db = openStateDatabase({ path, fsync: 'normal' });
        dbs.push(db);
        return createSqliteLeaseStore(db);
      },
      close: async () => {
        for (const db of dbs) if (db.open) db.close();
      },
    };
  },
};

const backends: Backend[] = [sqlite];
const env = await postgresTestEnv();
if (env.available) {
  const pg = env.database();
  backends.push({
    name: 'PostgreSQL',
    async open() {
      const schema = pg.newSchema();
      const dbs: Awaited<ReturnType<typeof pg.open>>[] = [];
      return {
        async node() {
          const db = await pg.open({ schema, maxConnections: 2 });
          dbs.push(db);
          return createPostgresLeaseStore(db);
        },
        close: async () => {
          await Promise.all(dbs.map((db) => db.close()));
        },
      };
    },
  });
} else {
  describeSkipped('cluster leases on PostgreSQL', env.reason);
}

/** A store that fails every call once `cut()` was called, as an unreachable server would. */
function cuttable(store: LeaseStore): { store: LeaseStore; cut(): void } {
  let down = false;
  const check = () => {
    if (down) throw new HomeostatError(ErrorCode.BACKEND, 'cannot reach the lease store (cut by the test)');
  };
  return {
    cut: () => {
      down = true;
    },
    store: {
      acquire: async (...args) => (check(), store.acquire(...args)),
      renew: async (...args) => (check(), store.renew(...args)),
      release: async (...args) => (check(), store.release(...args)),
      holder: async (...args) => (check(), store.holder(...args)),
      list: async (...args) => (check(), store.list(...args)),
      checkFence: async (...args) => (check(), store.checkFence(...args)),
    },
  };
}

async function waitFor<T>(what: string, probe: () => T | Promise<T>, bound = WAIT_BOUND): Promise<NonNullable<T>> {
  const deadline = Date.now() + bound;
  for (;;) {
    const value = await probe();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`not within ${bound} ms: ${what}`);
    await sleep(20);
  }
}

describe.each(backends)('cluster leases on $name', (backend) => {
  let cluster: Cluster;
  const closers: (() => Promise<void>)[] = [];
  const errors: unknown[] = [];

  const keeper = async (owner: string, store?: LeaseStore, onLost?: (lost: LostLease) => void) => {
    const k = createLeaseKeeper({
      store: store ?? (await cluster.node()),
      owner,
      ttlMs: TTL,
      renewEveryMs: RENEW,
      onError: (error) => errors.push(error),
      ...(onLost ? { onLost } : {}),
    });
    closers.push(() => k.close());
    return k;
  };
  const election = (k: LeaseKeeper, name = 'leader/schedules') => {
    const e = createElection({ keeper: k, name });
    closers.push(() => e.close());
    return e;
  };

  beforeAll(async () => {
    cluster = await backend.open();
  });
  afterEach(async () => {
    for (const close of closers.splice(0).reverse()) await close();
    errors.length = 0;
  });
  afterAll(async () => {
    await cluster.close();
  });

  describe('keeper', () => {
    it('keeps a lease well past its TTL by renewing it, with the same token', async () => {
      const k = await keeper('node-a');
      const other = await cluster.node();
      const lease = (await k.acquire('keep/1'))!;
      expect(lease.owner).toBe('node-a');
      await sleep(TTL * 3);
      expect(k.held('keep/1')?.token).toBe(lease.token);
      expect(await other.holder('keep/1')).toMatchObject({ owner: 'node-a', token: lease.token });
      expect(await other.acquire('keep/1', 'node-b', TTL)).toBeUndefined();
      expect(k.heldNames()).toEqual(['keep/1']);
    });

    it('releases a lease so another node can take it at once', async () => {
      const k = await keeper('node-a');
      const other = await cluster.node();
      const lease = (await k.acquire('keep/2'))!;
      await k.release('keep/2');
      expect(k.held('keep/2')).toBeUndefined();
      const next = await other.acquire('keep/2', 'node-b', 60_000);
      expect(next?.token).toBeGreaterThan(lease.token);
    });

    it('reports a lease as taken when a renewal finds it is no longer ours', async () => {
      const lost: LostLease[] = [];
      const k = await keeper('node-a', undefined, (l) => lost.push(l));
      const other = await cluster.node();
      const lease = (await k.acquire('keep/3'))!;
      await other.release(lease); // as if the lease had lapsed and moved on
      await other.acquire('keep/3', 'node-b', 60_000);
      await waitFor('the keeper notices', () => lost.length > 0);
      expect(lost).toEqual([
        { lease: expect.objectContaining({ name: 'keep/3', token: lease.token }), reason: 'taken' },
      ]);
      expect(k.held('keep/3')).toBeUndefined();
    });

    it('gives a lease up before it expires when the store becomes unreachable', async () => {
      const link = cuttable(await cluster.node());
      let lostAt = 0;
      const lost: LostLease[] = [];
      const k = await keeper('node-a', link.store, (l) => {
        lostAt = Date.now();
        lost.push(l);
      });
      await k.acquire('keep/4');
      await sleep(RENEW * 2);
      const last = k.held('keep/4')!; // the latest renewal's lease: its expiry in the store's clock
      link.cut();
      await waitFor('the keeper gives the lease up', () => lost.length > 0);
      expect(lost[0]).toMatchObject({ reason: 'unrenewed', error: expect.objectContaining({ code: 'E_BACKEND' }) });
      // The store's clock is this machine's clock (SQLite: the system clock; PostgreSQL: a local server).
      expect(lostAt).toBeLessThan(lost[0]!.lease.expiresAt);
      expect(lost[0]!.lease.token).toBe(last.token);
      expect(k.held('keep/4')).toBeUndefined();
      expect(errors.length).toBeGreaterThan(0);
    });

    it('refuses options that would let a lease lapse before it is renewed', async () => {
      const store = await cluster.node();
      expect(() => createLeaseKeeper({ store, owner: 'n', ttlMs: 300, renewEveryMs: 300 })).toThrow(
        expect.objectContaining({
          code: ErrorCode.CONFIG_INVALID,
          message: expect.stringContaining('renewEveryMs must be above 0 and below ttlMs - safetyMarginMs (240)'),
        }),
      );
      expect(() => createLeaseKeeper({ store, owner: '', ttlMs: 300, renewEveryMs: 100 })).toThrow(/owner must be/);
    });
  });

  describe('election', () => {
    it('elects one leader; when it stops renewing another takes over with a larger token', async () => {
      const nodes = await Promise.all(['node-a', 'node-b', 'node-c'].map((owner) => keeper(owner)));
      const elections = nodes.map((k) => election(k));
      const leaderOf = (list: Election[]) => list.filter((e) => e.isLeader());
      await waitFor('a leader', () => leaderOf(elections).length === 1);
      await sleep(TTL * 2);
      expect(leaderOf(elections)).toHaveLength(1);
      const first = leaderOf(elections)[0]!;
      const index = elections.indexOf(first);
      const token = first.token()!;
      expect(await nodes[0]!.store.holder('leader/schedules')).toMatchObject({ owner: nodes[index]!.owner, token });

      await nodes[index]!.close({ release: false }); // a crash: no release, no more renewals
      const killedAt = Date.now();
      const rest = elections.filter((e) => e !== first);
      const next = (await waitFor('a new leader', () => leaderOf(rest)[0]))!;
      // The takeover time is reported, not asserted (bench:cluster measures it).
      console.log(`election: a new leader ${Date.now() - killedAt} ms after the crash (TTL ${TTL} ms)`);
      expect(next.token()).toBeGreaterThan(token);
      expect(first.isLeader()).toBe(false);
      expect(await nodes[0]!.store.checkFence('leader/schedules', token)).toBe(false);
      expect(await nodes[0]!.store.checkFence('leader/schedules', next.token()!)).toBe(true);
    });

    it('hands leadership over when the leader closes its election', async () => {
      const [a, b] = await Promise.all([keeper('node-a'), keeper('node-b')]);
      const ea = election(a);
      await waitFor('node-a leads', () => ea.isLeader());
      const eb = election(b);
      const changes: boolean[] = [];
      eb.onChange((leader) => changes.push(leader));
      await sleep(RENEW * 2);
      expect(eb.isLeader()).toBe(false);
      await ea.close();
      await waitFor('node-b leads', () => eb.isLeader());
      expect(changes).toEqual([true]);
      expect((await eb.leader())?.owner).toBe('node-b');
    });

    it('never has two nodes acting as leader at once when the leader loses the store', async () => {
      const link = cuttable(await cluster.node());
      const a = await keeper('node-a', link.store);
      const b = await keeper('node-b');
      const ea = election(a);
      await waitFor('node-a leads', () => ea.isLeader());
      const eb = election(b);
      const spans: Record<string, { from: number; to?: number }[]> = { a: [], b: [] };
      const track = (key: string) => (leader: boolean) => {
        if (leader) spans[key]!.push({ from: Date.now() });
        else spans[key]!.at(-1)!.to = Date.now();
      };
      spans.a!.push({ from: Date.now() });
      ea.onChange(track('a'));
      eb.onChange(track('b'));
      link.cut();
      await waitFor('node-b leads', () => eb.isLeader());
      expect(ea.isLeader()).toBe(false);
      const aEnd = spans.a![0]!.to;
      expect(aEnd).toBeDefined();
      expect(spans.b![0]!.from).toBeGreaterThanOrEqual(aEnd!);
    });

    // One process-level case is enough (on SQLite, defined only there); the store semantics are
    // shared by the conformance suite.
    if (backend.name === 'SQLite') {
      it('lets another node lead after the leader process is killed with SIGKILL', async () => {
        const path = join(dir, `kill-${++files}.db`);
        const child = startChildLeader(path);
        try {
          const line = await child.next();
          expect(line).toMatch(/^leader \d+$/);
          const token = Number(line.split(' ')[1]);
          const db = openStateDatabase({ path, fsync: 'normal' });
          closers.push(async () => void db.close());
          const k = await keeper('survivor', createSqliteLeaseStore(db));
          const e = election(k);
          await sleep(TTL * 2);
          expect(e.isLeader()).toBe(false);
          child.process.kill('SIGKILL');
          const killedAt = Date.now();
          await waitFor('the survivor leads', () => e.isLeader());
          console.log(`election: the survivor leads ${Date.now() - killedAt} ms after SIGKILL (TTL ${TTL} ms)`);
          expect(e.token()).toBeGreaterThan(token);
        } finally {
          child.process.kill('SIGKILL');
        }
      });
    }
  });

  describe('partition assignment', () => {
    const assign = (k: LeaseKeeper) => {
      const a = assignPartitions({ keeper: k, partitions: 16, onError: (error) => errors.push(error) });
      closers.push(() => a.close());
      return a;
    };
    const coverage = (list: PartitionAssignment[]) => list.flatMap((a) => a.owned()).sort();
    const all = Array.from({ length: 16 }, (_, i) => String(i)).sort();

    it('spreads 16 partitions over 3 nodes, each owned once, and covers them with 2 after one stops', async () => {
      const nodes = await Promise.all(['node-a', 'node-b', 'node-c'].map((owner) => keeper(owner)));
      const first = assign(nodes[0]!);
      await waitFor('node-a owns every partition', () => first.owned().length === 16);
      const assignments = [first, assign(nodes[1]!), assign(nodes[2]!)];
      await waitFor(
        'a fair share each, every partition owned exactly once',
        () =>
          assignments.every((a) => a.owned().length <= 6) &&
          JSON.stringify(coverage(assignments)) === JSON.stringify(all),
      );
      // Each partition's lease in the store names the node that thinks it owns it.
      const leases = await nodes[0]!.store.list('partition/');
      expect(leases).toHaveLength(16);
      for (const lease of leases) {
        const id = lease.name.slice('partition/'.length);
        const owner = assignments.findIndex((a) => a.owned().includes(id));
        expect(lease.owner).toBe(nodes[owner]!.owner);
        expect(assignments[owner]!.token(id)).toBe(lease.token);
      }

      await nodes[2]!.close({ release: false }); // node-c dies
      const rest = assignments.slice(0, 2);
      await waitFor(
        'the two survivors cover all 16',
        () => rest.every((a) => a.owned().length <= 8) && JSON.stringify(coverage(rest)) === JSON.stringify(all),
      );
      expect(rest.map((a) => a.owned().length)).toEqual([8, 8]);
    });

    it('stops processing a partition before another node can take it', async () => {
      const events: string[] = [];
      const [a, b] = await Promise.all([keeper('node-a'), keeper('node-b')]);
      const first = assignPartitions({
        keeper: a,
        partitions: 4,
        onRevoked: async (id, reason) => {
          await sleep(50); // a consumer finishing its in-flight work
          events.push(`a-stop ${id} ${reason}`);
        },
      });
      closers.push(() => first.close());
      await waitFor('node-a owns all 4', () => first.owned().length === 4);
      const second = assignPartitions({
        keeper: b,
        partitions: 4,
        onAssigned: (id) => void events.push(`b-start ${id}`),
      });
      closers.push(() => second.close());
      await waitFor('two each', () => first.owned().length === 2 && second.owned().length === 2);
      for (const id of second.owned()) {
        const stop = events.indexOf(`a-stop ${id} rebalance`);
        expect(stop).toBeGreaterThanOrEqual(0);
        expect(stop).toBeLessThan(events.indexOf(`b-start ${id}`));
      }
    });
  });
});

/** A child process that holds `leader/schedules` on the SQLite file `path`; prints `leader <token>`. */
function startChildLeader(path: string): { process: ChildProcess; next(): Promise<string> } {
  const src = resolve(import.meta.dirname, '../../src');
  const script = join(dir, `leader-${files}.ts`);
  writeFileSync(
    script,
    `import { createElection } from ${JSON.stringify(`${src}/engine/cluster/election.ts`)};
import { createLeaseKeeper } from ${JSON.stringify(`${src}/engine/cluster/leases.ts`)};
import { createSqliteLeaseStore } from ${JSON.stringify(`${src}/store/sqlite/lease-store.ts`)};
import { openStateDatabase } from ${JSON.stringify(`${src}/store/sqlite/state.ts`)};
const db = openStateDatabase({ path: ${JSON.stringify(path)}, fsync: 'normal' });
const keeper = createLeaseKeeper({ store: createSqliteLeaseStore(db), owner: 'child-' + process.pid, ttlMs: ${TTL}, renewEveryMs: ${RENEW} });
const election = createElection({ keeper, name: 'leader/schedules' });
election.onChange((leader, lease) => { if (leader) console.log('leader ' + lease.token); });
setInterval(() => undefined, 1000);
`,
  );
  const child = spawn(process.execPath, ['--import', 'tsx', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  return {
    process: child,
    async next() {
      const result = await Promise.race([
        lines.next(),
        sleep(20_000).then(() => ({ done: true, value: 'timeout' }) as const),
      ]);
      return result.done ? `ended: ${String(result.value)}` : result.value;
    },
  };
}
