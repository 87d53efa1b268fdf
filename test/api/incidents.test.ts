/** @module /v1/incidents over a real incidents service and SQLite store: list, show with timeline, acknowledge, resolve. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sendError, toHomeostatError } from '../../src/api/errors.js';
import { registerIncidentRoutes } from '../../src/api/incident-routes.js';
import { createManualClock, systemClock } from '../../src/core/clock.js';
import type { CloudEvent } from '../../src/core/event.js';
import type { Incident } from '../../src/core/healing/types.js';
import { createIncidents, type Incidents } from '../../src/engine/incidents.js';
import { openTestBackends, removeTestBackends, type TestBackends } from '../cluster/backends.js';

const T0 = Date.UTC(2026, 0, 1, 12);
let dir: string;
let backends: TestBackends;
let app: FastifyInstance;
let incidents: Incidents;
const heard: Incident[] = [];
const published: CloudEvent[] = [];

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'homeostat-incident-api-'));
  backends = await openTestBackends(dir, systemClock);
  incidents = createIncidents({
    store: backends.stores.incidents,
    clock: createManualClock(T0),
    publish: async (events) => void published.push(...events),
  });
  heard.length = 0;
  published.length = 0;
  incidents.onResolved((i) => void heard.push(i));
  app = Fastify();
  app.setErrorHandler((err, req, reply) => sendError(reply, toHomeostatError(err, req, 1 << 20)));
  registerIncidentRoutes(app, incidents);
  await app.ready();
});

afterEach(async () => {
  await app.close();
  await backends.close();
  await removeTestBackends(dir);
});

const open = (title: string) =>
  incidents.open({
    title,
    severity: 'critical',
    resource: 'instancegroup/web',
    group: 'web',
    policy: 'HealingPolicy/web',
    timeline: [{ at: T0, kind: 'event', summary: 'web-1 crashed', ref: 'e1' }],
  });

describe('/v1/incidents', () => {
  it('lists by status, shows one with its timeline, and resolves it once', async () => {
    const a = await open('first');
    const b = await open('second');
    await incidents.resolve(b.id, { by: 'HealingPolicy/web' });

    const openList = await app.inject({ method: 'GET', url: '/v1/incidents?status=open' });
    expect(openList.statusCode).toBe(200);
    expect(openList.json().incidents).toMatchObject([{ id: a.id, status: 'open', entries: 1 }]);
    const all = await app.inject({ method: 'GET', url: '/v1/incidents?status=all' });
    expect(
      all
        .json()
        .incidents.map((i: { id: string }) => i.id)
        .sort(),
    ).toEqual([a.id, b.id].sort());

    const shown = await app.inject({ method: 'GET', url: `/v1/incidents/${a.id}` });
    expect(shown.json()).toMatchObject({
      id: a.id,
      openedAt: new Date(T0).toISOString(),
      timeline: [{ at: new Date(T0).toISOString(), kind: 'event', summary: 'web-1 crashed', ref: 'e1' }],
    });

    const resolved = await app.inject({
      method: 'POST',
      url: `/v1/incidents/${a.id}/resolve`,
      payload: { by: 'cli:alice', comment: 'rolled back' },
    });
    expect(resolved.statusCode).toBe(200);
    expect(resolved.json()).toMatchObject({ status: 'resolved', resolvedBy: 'cli:alice' });
    expect(resolved.json().timeline.at(-1).summary).toBe('resolved by cli:alice: rolled back');
    expect(heard.map((i) => i.id)).toEqual([b.id, a.id]);

    const again = await app.inject({ method: 'POST', url: `/v1/incidents/${a.id}/resolve` });
    expect(again.statusCode).toBe(409);
    expect(again.json().error.code).toBe('E_CONFLICT');
  });

  it('answers 404 for an unknown incident and 400 naming a bad parameter or field', async () => {
    const missing = await app.inject({ method: 'GET', url: '/v1/incidents/inc-nope' });
    expect(missing.statusCode).toBe(404);
    expect(missing.json().error.message).toContain('homeostat incidents --all');
    const notFound = await app.inject({ method: 'POST', url: '/v1/incidents/inc-nope/resolve' });
    expect(notFound.statusCode).toBe(404);
    const badStatus = await app.inject({ method: 'GET', url: '/v1/incidents?status=closed' });
    expect(badStatus.statusCode).toBe(400);
    expect(badStatus.json().error.problems).toMatchObject([{ pointer: '?status' }]);
    const a = await open('x');
    const badBody = await app.inject({ method: 'POST', url: `/v1/incidents/${a.id}/resolve`, payload: { note: 'x' } });
    expect(badBody.statusCode).toBe(400);
    expect(badBody.json().error.problems).toMatchObject([{ pointer: '/note' }]);
  });
});

describe('POST /v1/incidents/{id}/acknowledge', () => {
  it('keeps the incident open, records who and when on it and its timeline, publishes one event, and is idempotent', async () => {
    const a = await open('acked');
    const res = await app.inject({
      method: 'POST',
      url: `/v1/incidents/${a.id}/acknowledge`,
      payload: { by: 'cli:alice', comment: 'looking at it' },
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({
      id: a.id,
      status: 'open',
      acknowledgedAt: new Date(T0).toISOString(),
      acknowledgedBy: 'cli:alice',
    });
    expect(res.json().timeline.at(-1)).toMatchObject({
      kind: 'note',
      summary: 'acknowledged by cli:alice: looking at it',
    });
    await new Promise((r) => setImmediate(r));
    const acks = published.filter((e) => e.type === 'homeostat.incident.acknowledged');
    expect(acks).toMatchObject([
      { id: `${a.id}.acknowledged`, source: 'homeostat/incidents', subject: `incident/${a.id}` },
    ]);

    // Still open: listed as open and found by its policy; a second acknowledge changes nothing.
    const openList = await app.inject({ method: 'GET', url: '/v1/incidents?status=open' });
    expect(openList.json().incidents).toMatchObject([{ id: a.id, acknowledgedBy: 'cli:alice' }]);
    expect((await incidents.findOpen('HealingPolicy/web', 'instancegroup/web'))?.id).toBe(a.id);
    const again = await app.inject({
      method: 'POST',
      url: `/v1/incidents/${a.id}/acknowledge`,
      payload: { by: 'cli:bob' },
    });
    expect(again.statusCode).toBe(200);
    expect(again.json()).toMatchObject({ acknowledgedBy: 'cli:alice' });
    expect(again.json().timeline).toHaveLength(res.json().timeline.length);
    await new Promise((r) => setImmediate(r));
    expect(published.filter((e) => e.type === 'homeostat.incident.acknowledged')).toHaveLength(1);

    // Resolving it afterwards works as before.
    const resolved = await app.inject({ method: 'POST', url: `/v1/incidents/${a.id}/resolve` });
    expect(resolved.json()).toMatchObject({ status: 'resolved', acknowledgedBy: 'cli:alice' });
  });

  it('answers 409 for a resolved incident, 404 for an unknown one and 400 for a bad body', async () => {
    const a = await open('done');
    await incidents.resolve(a.id, { by: 'HealingPolicy/web' });
    const conflict = await app.inject({ method: 'POST', url: `/v1/incidents/${a.id}/acknowledge` });
    expect(conflict.statusCode).toBe(409);
    expect(conflict.json().error).toMatchObject({ code: 'E_CONFLICT' });
    expect(conflict.json().error.message).toContain(`incident ${a.id} was resolved at`);
    expect(conflict.json().error.message).toContain('only open incidents can be acknowledged');
    expect((await incidents.get(a.id))?.details.acknowledgedAt).toBeUndefined();

    const missing = await app.inject({ method: 'POST', url: '/v1/incidents/inc-nope/acknowledge' });
    expect(missing.statusCode).toBe(404);
    const b = await open('other');
    const bad = await app.inject({ method: 'POST', url: `/v1/incidents/${b.id}/acknowledge`, payload: { who: 'x' } });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.problems).toMatchObject([{ pointer: '/who' }]);
  });
});
