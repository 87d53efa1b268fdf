/**
 * @module The cluster backends for tests: with HOMEOSTAT_TEST_BACKENDS=cluster, every test server
 * (test/api/harness.ts) and every engine and workflow harness (openTestBackends) runs its log on
 * NATS JetStream and its state on PostgreSQL instead of SQLite, through the runtime's own backend
 * factory. Names derive from the data directory, so a restart on the same directory finds the
 * same stream and schema. The run's database and streams are removed by global-setup.ts.
 */
import { createHash } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { connect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import pg from 'pg';
import type { Clock } from '../../src/core/clock.js';
import { createSqliteEventLog } from '../../src/log/sqlite/event-log.js';
import type { EventLog } from '../../src/ports/event-log.js';
import { DataFiles, openEventLog, openStateStores, type StateStores } from '../../src/runtime/backends.js';
import { type HomeostatConfig, resolveConfig } from '../../src/runtime/config.js';

export const NATS_URL = process.env.HOMEOSTAT_TEST_NATS_URL ?? 'nats://127.0.0.1:4222';
export const POSTGRES_ADMIN_URL =
  process.env.HOMEOSTAT_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const RUN = process.env.HOMEOSTAT_TEST_RUN ?? 'local';
/** The database the cluster pass keeps its schemas in (created and dropped by global-setup.ts). */
export const CLUSTER_DATABASE = `homeostat_cluster_${RUN}`;
/** Streams and schemas of this run of the cluster pass start with this. */
export const CLUSTER_PREFIX = `ct${RUN}_`;

export function clusterMode(): boolean {
  return process.env.HOMEOSTAT_TEST_BACKENDS === 'cluster';
}

export function clusterDatabaseUrl(): string {
  const u = new URL(POSTGRES_ADMIN_URL);
  u.pathname = `/${CLUSTER_DATABASE}`;
  return u.toString();
}

const nameFor = (dataDir: string): string =>
  CLUSTER_PREFIX + createHash('sha256').update(dataDir).digest('hex').slice(0, 16);

/** Settings that put a server's log and state on NATS and PostgreSQL, named after its data directory. */
export function clusterOverrides(dataDir: string): HomeostatConfig {
  const name = nameFor(dataDir);
  // A stream reserves its max_bytes from JetStream's storage: keep test streams small.
  return {
    log: { url: NATS_URL, nats: { name }, retention: { maxBytes: '64MiB' } },
    store: { url: clusterDatabaseUrl(), schema: name },
  };
}

/** A harness's log and state stores. */
export interface TestBackends {
  readonly log: EventLog;
  readonly stores: StateStores;
  /** `sqlite` or `cluster`: for messages. */
  readonly kind: 'sqlite' | 'cluster';
  /** Closes the log and the stores; the data stays for a restart on the same directory. */
  close(): Promise<void>;
}

/**
 * The backend factory of the engine and workflow harnesses: SQLite files in `dir` (the log without
 * its writer thread, as in-process tests need), or, in the cluster pass, NATS JetStream and
 * PostgreSQL named after `dir`, opened by the runtime's factory as `homeostat up` opens them.
 */
export async function openTestBackends(dir: string, clock: Clock): Promise<TestBackends> {
  if (!clusterMode()) {
    const log = await createSqliteEventLog({ path: join(dir, DataFiles.log), writerThread: false, clock });
    const stores = await openStateStores(resolveConfig({ dataDir: dir }, dir), clock);
    return { log, stores, kind: 'sqlite', close: () => closeBoth(log, stores) };
  }
  const config = resolveConfig({ dataDir: dir, ...clusterOverrides(dir) }, dir);
  const { log } = await openEventLog(config, clock);
  const stores = await openStateStores(config, clock).catch(async (err: unknown) => {
    await log.close();
    throw err;
  });
  return { log, stores, kind: 'cluster', close: () => closeBoth(log, stores) };
}

async function closeBoth(log: EventLog, stores: StateStores): Promise<void> {
  try {
    await log.close();
  } finally {
    await stores.close();
  }
}

/** Removes what openTestBackends kept for `dir` (after it was closed): the directory, and in the cluster pass the stream and schema. */
export async function removeTestBackends(dir: string): Promise<void> {
  rmSync(dir, { recursive: true, force: true });
  if (clusterMode()) await dropCluster(dir);
}

/** Removes a server's stream, offsets bucket and schema (after it stopped). */
export async function dropCluster(dataDir: string): Promise<void> {
  const name = nameFor(dataDir);
  await deleteStreams((s) => s === `HOMEOSTAT_${name}` || s === `KV_HOMEOSTAT_${name}_offsets`);
  const client = new pg.Client({ connectionString: clusterDatabaseUrl() });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS ${name} CASCADE`);
  } finally {
    await client.end();
  }
}

/** Deletes the JetStream streams whose names pass `which`. */
export async function deleteStreams(which: (name: string) => boolean): Promise<number> {
  const nc = await connect({ servers: NATS_URL, timeout: 5_000 });
  let deleted = 0;
  try {
    const jsm = await jetstreamManager(nc);
    const names: string[] = [];
    for await (const s of jsm.streams.list()) if (which(s.config.name)) names.push(s.config.name);
    for (const name of names) if (await jsm.streams.delete(name)) deleted++;
  } finally {
    await nc.drain();
  }
  return deleted;
}

/** Every row of one of a server's tables, as stored (to check what is kept, e.g. hashed tokens). */
export async function clusterRows(dataDir: string, table: string): Promise<unknown[]> {
  const client = new pg.Client({ connectionString: clusterDatabaseUrl() });
  await client.connect();
  try {
    return (await client.query(`SELECT * FROM ${nameFor(dataDir)}.${table}`)).rows;
  } finally {
    await client.end();
  }
}
