/** @module NATS JetStream peer: durable publishes to a file-backed stream, acks awaited. */
import { randomBytes } from 'node:crypto';
import { jetstreamManager, StorageType } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { createPoolCursor } from './cursor.js';
import { type LoadOptions, type OpOutcome, runClosedLoop, type ScenarioResult } from './drive.js';
import { type EventPool, eventAt, HOSTS } from './events.js';
import { createAckPublisher } from './nats-acks.js';

export interface PeerRunOptions extends LoadOptions {
  readonly url: string;
  /** CPU seconds the peer's server has used so far, when it runs locally. */
  readonly serverCpuSeconds?: () => number;
}

export interface PeerResults {
  readonly single: ScenarioResult;
  readonly batch: ScenarioResult;
  readonly serverInfo: string;
  /** What an acknowledgement promises, in words. */
  readonly durability: string;
}

/** Runs single (one awaited publish per worker) and batched (a window of publishes, then all acks). */
export async function runNatsPeer(opts: PeerRunOptions): Promise<PeerResults> {
  const nc = await connect({ servers: opts.url, name: 'homeostat-bench' });
  const tag = randomBytes(4).toString('hex');
  const name = `BENCH_${tag}`;
  const prefix = `bench.${tag}`;
  try {
    const jsm = await jetstreamManager(nc).catch((error: unknown) => {
      throw new Error(`NATS at ${opts.url} has no JetStream (start nats-server with -js): ${String(error)}`);
    });
    await jsm.streams.add({ name, subjects: [`${prefix}.>`], storage: StorageType.File, num_replicas: 1 });
    // One connection for every publisher: the client multiplexes, and more connections measured no faster.
    const publisher = createAckPublisher(nc, name);
    const subjects = Array.from({ length: HOSTS }, (_, host) => `${prefix}.host-${host}`);
    const publish = (pool: EventPool, n: number) => publisher.publish(subjects[pool.hosts[n]!]!, eventAt(pool, n));

    opts.log(`nats: single publish, ${opts.connections} concurrent publishers`);
    const single = createPoolCursor(opts.singlePool);
    const singleResult = await runClosedLoop({
      workers: opts.connections,
      warmupMs: opts.warmupMs,
      durationMs: opts.durationMs,
      serverCpuSeconds: opts.serverCpuSeconds,
      op: () => {
        const n = single.take(1);
        if (n === undefined) return undefined;
        return publish(opts.singlePool, n).then((): OpOutcome => ({ ok: true, events: 1 }));
      },
    });

    const batchPool = opts.batchPool;
    opts.log(`nats: ${batchPool.batchSize} publishes in flight per publisher, ${opts.batchConnections} publishers`);
    const batch = createPoolCursor(batchPool);
    const batchResult = await runClosedLoop({
      workers: opts.batchConnections,
      warmupMs: opts.warmupMs,
      durationMs: opts.durationMs,
      serverCpuSeconds: opts.serverCpuSeconds,
      op: () => {
        const b = batch.takeBatch();
        if (b === undefined) return undefined;
        const acks = [];
        for (let i = 0; i < batchPool.batchSize; i++) acks.push(publish(batchPool, b * batchPool.batchSize + i));
        return Promise.all(acks).then((): OpOutcome => ({ ok: true, events: acks.length }));
      },
    });
    publisher.close();
    await jsm.streams.delete(name);
    return {
      single: singleResult,
      batch: batchResult,
      serverInfo: `nats-server ${nc.info?.version ?? '?'}, stream on file storage, 1 replica`,
      durability:
        'acks after the file store write; fsyncs every sync_interval (default 2 min): the peer of fsync=normal',
    };
  } finally {
    await nc.close();
  }
}
