/**
 * @module The cluster backends for tests: with HOMEOSTAT_TEST_BACKENDS=cluster, every test server
 * (test/api/harness.ts) runs its log on NATS JetStream and its state on PostgreSQL instead of
 * SQLite. Names derive from the server's data directory, so a restart on the same directory finds
 * the same stream and schema. The run's database and streams are removed by global-setup.ts.
 */
import { createHash } from 'node:crypto';
import { connect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import pg from 'pg';
import type { HomeostatConfig } from '../../src/runtime/config.js';

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
