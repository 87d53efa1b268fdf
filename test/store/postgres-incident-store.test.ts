/** @module PostgresIncidentStore: the IncidentStore conformance suite. */
import { createPostgresIncidentStore } from '../../src/store/postgres/incident-store.js';
import { type IncidentStoreHarness, runIncidentStoreConformance } from '../conformance/incident-store.js';
import { describeSkipped, postgresTestEnv } from './postgres-harness.js';

const env = await postgresTestEnv();

if (!env.available) {
  describeSkipped('PostgreSQL incident store', env.reason);
} else {
  const pg = env.database();
  const openAt = async (schema?: string): Promise<IncidentStoreHarness> => {
    const db = await pg.open(schema === undefined ? {} : { schema });
    return {
      store: createPostgresIncidentStore(db),
      async reopen() {
        await db.close();
        return openAt(db.schema);
      },
      close: () => db.close(),
    };
  };
  runIncidentStoreConformance({ name: 'PostgreSQL', create: () => openAt() });
}
