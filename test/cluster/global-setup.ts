/**
 * @module Global set-up of the cluster pass (vitest.cluster.config.ts): checks that NATS with
 * JetStream and PostgreSQL answer (failing with the fix if not: this pass never skips), creates
 * the run's database, and removes it and the run's streams afterwards.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';

export default async function setup(): Promise<() => Promise<void>> {
  process.env.HOMEOSTAT_TEST_RUN ??= randomBytes(4).toString('hex');
  const { CLUSTER_DATABASE, CLUSTER_PREFIX, POSTGRES_ADMIN_URL, NATS_URL, deleteStreams } =
    await import('./backends.js');
  const admin = new pg.Client({ connectionString: POSTGRES_ADMIN_URL, connectionTimeoutMillis: 5_000 });
  try {
    await admin.connect();
  } catch (err) {
    throw new Error(
      `the cluster pass needs PostgreSQL at ${POSTGRES_ADMIN_URL} (${(err as Error).message}): start it, or set HOMEOSTAT_TEST_POSTGRES_URL`,
    );
  }
  try {
    await deleteStreams(() => false);
  } catch (err) {
    await admin.end();
    throw new Error(
      `the cluster pass needs NATS with JetStream at ${NATS_URL} (${(err as Error).message}): start nats-server -js, or set HOMEOSTAT_TEST_NATS_URL`,
    );
  }
  await admin.query(`DROP DATABASE IF EXISTS ${CLUSTER_DATABASE} WITH (FORCE)`);
  await admin.query(`CREATE DATABASE ${CLUSTER_DATABASE}`);
  await admin.end();
  return async () => {
    await deleteStreams(
      (s) => s.startsWith(`HOMEOSTAT_${CLUSTER_PREFIX}`) || s.startsWith(`KV_HOMEOSTAT_${CLUSTER_PREFIX}`),
    );
    const end = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
    await end.connect();
    await end.query(`DROP DATABASE IF EXISTS ${CLUSTER_DATABASE} WITH (FORCE)`);
    await end.end();
  };
}
