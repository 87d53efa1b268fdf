/** @module Redis Streams peer: XADD per round trip, and XADD pipelines. In memory only unless AOF is on. */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { createPoolCursor } from './cursor.js';
import { type OpOutcome, runClosedLoop } from './drive.js';
import { eventAt } from './events.js';
import type { PeerResults, PeerRunOptions } from './nats.js';

/** Runs single XADD per round trip on `connections` clients and pipelines of XADD on `batchConnections`. */
export async function runRedisPeer(opts: PeerRunOptions): Promise<PeerResults> {
  const clients = Array.from({ length: Math.max(opts.connections, opts.batchConnections) }, () =>
    createClient(opts.url),
  );
  const key = `bench:ingest:${randomBytes(4).toString('hex')}`;
  try {
    await Promise.all(clients.map((c) => c.connect()));
    const first = clients[0]!;
    const appendonly = ((await first.config('GET', 'appendonly')) as string[])[1];
    const save = ((await first.config('GET', 'save')) as string[])[1];
    const appendfsync = ((await first.config('GET', 'appendfsync')) as string[])[1];
    const version = /redis_version:(\S+)/.exec(await first.info('server'))?.[1] ?? '?';

    opts.log(`redis: single XADD per round trip, ${opts.connections} clients`);
    const single = createPoolCursor(opts.singlePool);
    const singleResult = await runClosedLoop({
      workers: opts.connections,
      warmupMs: opts.warmupMs,
      durationMs: opts.durationMs,
      serverCpuSeconds: opts.serverCpuSeconds,
      op: (w) => {
        const n = single.take(1);
        if (n === undefined) return undefined;
        return clients[w]!.xadd(`${key}:single`, '*', 'event', eventAt(opts.singlePool, n)).then((id): OpOutcome =>
          id ? { ok: true, events: 1 } : { ok: false, failure: 'no id' },
        );
      },
    });
    await first.del(`${key}:single`);

    const pool = opts.batchPool;
    opts.log(`redis: pipelines of ${pool.batchSize} XADD, ${opts.batchConnections} clients`);
    const batch = createPoolCursor(pool);
    const batchResult = await runClosedLoop({
      workers: opts.batchConnections,
      warmupMs: opts.warmupMs,
      durationMs: opts.durationMs,
      serverCpuSeconds: opts.serverCpuSeconds,
      op: (w) => {
        const b = batch.takeBatch();
        if (b === undefined) return undefined;
        const pipeline = clients[w]!.pipeline();
        for (let i = 0; i < pool.batchSize; i++) {
          pipeline.xadd(`${key}:batch`, '*', 'event', eventAt(pool, b * pool.batchSize + i));
        }
        return pipeline.exec().then((replies): OpOutcome => {
          const good = (replies ?? []).filter(([error, id]) => !error && id).length;
          return good === pool.batchSize
            ? { ok: true, events: good }
            : { ok: false, failure: 'xadd error', events: good };
        });
      },
    });
    await first.del(`${key}:batch`);
    return {
      single: singleResult,
      batch: batchResult,
      serverInfo: `redis ${version}, appendonly=${appendonly}, appendfsync=${appendfsync}, save='${save}'`,
      durability:
        appendonly === 'yes'
          ? `AOF on, appendfsync=${appendfsync}${appendfsync === 'always' ? '' : ': not fsynced per write'}`
          : `keeps nothing on disk${save ? ` but RDB snapshots (save '${save}')` : ''}: NOT a durability peer, only an in-memory ceiling`,
    };
  } finally {
    for (const c of clients) c.disconnect();
  }
}

function createClient(url: string): Redis {
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null });
  // Connection errors reach the caller through the failed commands; without a listener ioredis logs each one.
  client.on('error', () => {});
  return client;
}
