/** Internal events join their cause's correlation: a causal chain shares its root's correlation id. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { systemClock } from '../../src/core/clock.js';
import { createIngestor, type Ingestor } from '../../src/ingest/ingest.js';
import { createSchemaRegistry } from '../../src/ingest/schema-registry.js';
import type { EventLog } from '../../src/ports/event-log.js';
import { openTestBackends, removeTestBackends, type TestBackends } from '../cluster/backends.js';

let dir: string;
let log: EventLog;
let backends: TestBackends;
let ingestor: Ingestor;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'homeostat-correlation-'));
  backends = await openTestBackends(dir, systemClock);
  log = backends.log;
  const schemas = await createSchemaRegistry(backends.stores.schemas);
  ingestor = createIngestor({ log, schemas, limits: { maxEventBytes: 262_144, maxPendingEvents: 1_000 } });
});

afterEach(async () => {
  await backends.close();
  await removeTestBackends(dir);
});

const ev = (id: string, extra: Record<string, unknown> = {}) => ({
  specversion: '1.0',
  id,
  source: '/t',
  type: 't',
  ...extra,
});

async function send(entries: unknown[], external: boolean): Promise<void> {
  const report = await ingestor.ingest({ entries, batch: true, bodyBytes: 1, external });
  expect(report.accepted).toBe(entries.length);
}

it('gives derived events their root correlation, keeps explicit ones, and leaves clients alone', async () => {
  await send([ev('root')], true);
  await send([ev('child', { causationid: 'root' })], false);
  await send([ev('grandchild', { causationid: 'child' })], false);
  await send([ev('own', { causationid: 'root', correlationid: 'mine' })], false);
  await send([ev('after-own', { causationid: 'own' })], false);
  await send([ev('client', { causationid: 'root' })], true);
  const byId = new Map((await log.read({ limit: 100 })).map((r) => [r.event.id, r.event.correlationid]));
  expect(Object.fromEntries(byId)).toEqual({
    root: undefined,
    child: 'root',
    grandchild: 'root',
    own: 'mine',
    'after-own': 'mine',
    client: undefined,
  });
  expect(ingestor.stats.accepted).toEqual({ external: 2, internal: 4 });
});
