import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createEmitTarget, type Publish } from '../../src/actions/emit/target.js';
import { createManualClock } from '../../src/core/clock.js';
import type { CloudEvent } from '../../src/core/event.js';
import { createIngestor, type Ingestor } from '../../src/ingest/ingest.js';
import { createSchemaRegistry, type SchemaRegistry } from '../../src/ingest/schema-registry.js';
import { createSqliteEventLog } from '../../src/log/sqlite/event-log.js';
import type { EventLog } from '../../src/ports/event-log.js';
import type { DeliveryOutcome, Target } from '../../src/ports/target.js';
import type { SqliteDatabase } from '../../src/store/sqlite/database.js';
import { createSqliteSchemaStore } from '../../src/store/sqlite/schema-store.js';
import { openStateDatabase } from '../../src/store/sqlite/state.js';
import { deliveryRequest, targetSpec, triggerEvent } from './helpers.js';

const clock = createManualClock(Date.UTC(2026, 2, 1, 8));
let dir: string;
let log: EventLog;
let db: SqliteDatabase;
let schemas: SchemaRegistry;
let ingestor: Ingestor;
let emit: Target;

/** What the runtime passes as `publish`: ingest with size checks, results mapped per event. */
function publishVia(ing: Ingestor): Publish {
  return async (events) => {
    const report = await ing.ingest({ entries: events, batch: true, bodyBytes: Number.MAX_SAFE_INTEGER });
    return report.results.map((r) => ({
      status: r.status,
      ...(r.code ? { code: r.code } : {}),
      ...(r.problems ? { problems: r.problems } : {}),
    }));
  };
}

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'homeostat-emit-'));
  log = await createSqliteEventLog({ path: join(dir, 'events.db'), clock });
  db = openStateDatabase({ path: join(dir, 'state.db'), fsync: 'normal' });
  schemas = await createSchemaRegistry(createSqliteSchemaStore(db, clock));
  ingestor = createIngestor({ log, schemas, limits: { maxEventBytes: 262_144, maxPendingEvents: 1 } });
  emit = createEmitTarget({ publish: publishVia(ingestor), clock });
});
afterEach(async () => {
  await log.close();
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

function failed(o: DeliveryOutcome): Extract<DeliveryOutcome, { ok: false }> {
  if (o.ok) throw new Error(`expected a failed outcome, got ${JSON.stringify(o)}`);
  return o;
}

async function logged(): Promise<CloudEvent[]> {
  return (await log.read()).map((r) => r.event);
}

describe('emit action', () => {
  it('appends a new event linked to its trigger by causationid and correlationid', async () => {
    const req = deliveryRequest(targetSpec('emit', { type: 'incident.opened' }), { payload: { sev: 2 } });
    const outcome = await emit.deliver(req);
    const [ev] = await logged();
    expect(ev).toMatchObject({
      specversion: '1.0',
      id: `${req.idempotencyKey}.0`,
      source: 'homeostat/rule/page-on-5xx',
      type: 'incident.opened',
      subject: 'web-1',
      time: '2026-03-01T08:00:00.000Z',
      datacontenttype: 'application/json',
      data: { sev: 2 },
      partitionkey: 'web-1',
      causationid: 'evt-1',
      correlationid: 'evt-1',
      traceparent: triggerEvent.traceparent,
    });
    expect(outcome).toEqual({
      ok: true,
      detail: { status: 'accepted', source: ev!.source, id: ev!.id },
      emitted: [{ source: ev!.source, id: ev!.id }],
    });
  });

  it("keeps the trigger's correlationid along a chain", async () => {
    const trigger = { ...triggerEvent, id: 'evt-2', correlationid: 'root-7' };
    await emit.deliver(deliveryRequest(targetSpec('emit', { type: 'step.two' }), { event: trigger }));
    expect((await logged())[0]).toMatchObject({ causationid: 'evt-2', correlationid: 'root-7' });
  });

  it('publishes a repeated delivery only once: the repeat is a duplicate', async () => {
    const req = deliveryRequest(targetSpec('emit', { type: 'incident.opened' }));
    expect(await emit.deliver(req)).toMatchObject({ ok: true, detail: { status: 'accepted' } });
    const again = await emit.deliver({ ...req, attempt: 2 });
    expect(again).toMatchObject({
      ok: true,
      detail: { status: 'duplicate' },
      emitted: [{ id: `${req.idempotencyKey}.0` }],
    });
    expect(await logged()).toHaveLength(1);
  });

  it('emits distinct events for distinct rules or targets on the same trigger', async () => {
    await emit.deliver(deliveryRequest(targetSpec('emit', { type: 't' }), { rule: 'a' }));
    await emit.deliver(deliveryRequest(targetSpec('emit', { type: 't' }), { rule: 'b' }));
    await emit.deliver(deliveryRequest(targetSpec('emit', { type: 't' }, { id: 'second' }), { rule: 'b' }));
    expect(new Set((await logged()).map((e) => e.id)).size).toBe(3);
  });

  it('builds data, subject and partitionkey from <$.path> placeholders', async () => {
    const options = {
      type: 'scale.requested',
      source: 'homeostat/autoscaler',
      subject: 'group/<$.data.host>',
      partitionkey: '<$.data.host>',
      data: { group: '<$.data.host>', status: '<$.data.status>', note: 'status <$.data.status>', fixed: [1, true] },
    };
    await emit.deliver(deliveryRequest(targetSpec('emit', options)));
    expect((await logged())[0]).toMatchObject({
      source: 'homeostat/autoscaler',
      subject: 'group/web-1',
      partitionkey: 'web-1',
      data: { group: 'web-1', status: 503, note: 'status 503', fixed: [1, true] },
    });
  });

  it('does not retry when a placeholder names a missing field', async () => {
    const o = failed(
      await emit.deliver(deliveryRequest(targetSpec('emit', { type: 't', data: { z: '<$.data.zone>' } }))),
    );
    expect(o).toMatchObject({ retry: 'no', error: { code: 'E_TRANSFORM' } });
    expect(await logged()).toHaveLength(0);
  });

  it('does not retry an event the schema rejects, and reports the problems', async () => {
    await schemas.register({
      type: 'incident.opened',
      schema: { type: 'object', required: ['sev'], properties: { sev: { type: 'integer' } } },
    });
    const o = failed(
      await emit.deliver(
        deliveryRequest(targetSpec('emit', { type: 'incident.opened' }), { payload: { sev: 'high' } }),
      ),
    );
    expect(o).toMatchObject({
      retry: 'no',
      error: { code: 'E_EMIT_REJECTED', details: { code: 'E_SCHEMA_VIOLATION' } },
    });
    expect(o.error.message).toContain('/data/sev');
    expect(await logged()).toHaveLength(0);
  });

  it('retries after the delay ingest asks for under backpressure', async () => {
    const other = { ...triggerEvent, id: 'busy' };
    const busy = ingestor.ingest({ entries: [other], batch: false, bodyBytes: 0 });
    const o = failed(await emit.deliver(deliveryRequest(targetSpec('emit', { type: 't' }))));
    await busy;
    expect(o).toMatchObject({
      retry: 'yes',
      retryAfterMs: 1_000,
      error: { code: 'E_EMIT_UNAVAILABLE', details: { cause: 'E_BACKPRESSURE' } },
    });
  });

  it('retries when the log cannot take the event', async () => {
    await log.close();
    const o = failed(await emit.deliver(deliveryRequest(targetSpec('emit', { type: 't' }))));
    expect(o).toMatchObject({ retry: 'yes', error: { code: 'E_EMIT_UNAVAILABLE', details: { cause: 'E_CLOSED' } } });
  });

  it('validates options with pointers', () => {
    expect(emit.validate({ type: 'x.y', data: { a: ['<$.b>'] } })).toEqual([]);
    expect(emit.validate({})).toEqual([{ pointer: '/type', message: expect.stringContaining('is required') }]);
    const problems = emit.validate({ type: 'x', source: 'has space', subject: 7, data: { a: ['<$.b[*]>'] }, ttl: 1 });
    expect(problems.map((p) => p.pointer).sort()).toEqual(['/data/a/0', '/source', '/subject', '/ttl']);
  });
});
