import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clusterMode, clusterRows } from '../cluster/backends.js';
import { event, getJson, openTestTokenStore, post, startTestServer, type TestServer } from './harness.js';

async function readSse(
  url: string,
  count: number,
  headers: Record<string, string> = {},
): Promise<{ ids: string[]; offsets: number[] }> {
  const controller = new AbortController();
  const res = await fetch(url, { headers, signal: controller.signal });
  expect(res.headers.get('content-type')).toMatch(/text\/event-stream/);
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  const ids: string[] = [];
  const offsets: number[] = [];
  while (ids.length < count) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let end = buffer.indexOf('\n\n');
    while (end >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const data = block.split('\n').find((l) => l.startsWith('data: '));
      const id = block.split('\n').find((l) => l.startsWith('id: '));
      if (data && id) {
        ids.push(JSON.parse(data.slice(6)).event.id);
        offsets.push(Number(id.slice(4)));
      }
      end = buffer.indexOf('\n\n');
    }
  }
  controller.abort();
  return { ids: ids.slice(0, count), offsets: offsets.slice(0, count) };
}

describe('GET /v1/events and the live stream', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer();
    const evs = [
      ...Array.from({ length: 25 }, (_, i) =>
        event({ type: 'order.created', source: '/shop', subject: `order-${i % 3}` }),
      ),
      ...Array.from({ length: 5 }, () => event({ type: 'infra.metrics', source: '/infra' })),
    ];
    expect((await post(s.url, evs)).status).toBe(201);
  });
  afterAll(async () => s.stop());

  it('filters by type, source and subject', async () => {
    expect((await getJson(s.url, '/v1/events?type=order.created&limit=1000')).body.events).toHaveLength(25);
    expect((await getJson(s.url, '/v1/events?source=/infra')).body.events).toHaveLength(5);
    expect(
      (await getJson(s.url, '/v1/events?type=order.created,infra.metrics&subject=order-1')).body.events,
    ).toHaveLength(8);
    expect((await getJson(s.url, '/v1/events?type=nothing')).body).toEqual({ events: [], next: null });
  });

  it('pages with a cursor until next is null, in both orders', async () => {
    const seen: number[] = [];
    let next: number | null = null;
    do {
      const page: { body: { events: { offset: number }[]; next: number | null } } = await getJson(
        s.url,
        `/v1/events?type=order.created&limit=10${next === null ? '' : `&after=${next}`}`,
      );
      seen.push(...page.body.events.map((e) => e.offset));
      next = page.body.next;
    } while (next !== null);
    expect(seen).toHaveLength(25);
    expect([...seen].sort((a, b) => a - b)).toEqual(seen);
    const desc = await getJson(s.url, '/v1/events?type=order.created&order=desc&limit=3');
    expect(desc.body.events[0].offset).toBe(seen[24]);
  });

  it('filters by a time range (append time)', async () => {
    expect((await getJson(s.url, '/v1/events?since=1h&limit=1000')).body.events).toHaveLength(30);
    expect(
      (await getJson(s.url, `/v1/events?until=${encodeURIComponent('2000-01-01T00:00:00Z')}`)).body.events,
    ).toHaveLength(0);
  });

  it('rejects bad query parameters with 400 naming the parameter', async () => {
    const r = await getJson(s.url, '/v1/events?limit=5000');
    expect(r.status).toBe(400);
    expect(r.body.error.problems[0].pointer).toBe('?limit');
    expect((await getJson(s.url, '/v1/events?since=last-tuesday')).body.error.message).toMatch(/since/);
    expect((await getJson(s.url, '/v1/events?order=up')).status).toBe(400);
  });

  it('streams new events live over SSE with the same filters', async () => {
    const live = readSse(`${s.url}/v1/events/stream?type=live.test`, 2);
    await new Promise((r) => setTimeout(r, 100));
    const a = event({ type: 'live.test' });
    const b = event({ type: 'live.test' });
    await post(s.url, [a, event({ type: 'other' })]);
    await post(s.url, [b]);
    expect((await live).ids).toEqual([a.id, b.id]);
  });

  it('replays from an offset and resumes after Last-Event-ID', async () => {
    const first = (await getJson(s.url, '/v1/events?type=order.created&limit=3')).body.events;
    const fromStart = await readSse(`${s.url}/v1/events/stream?type=order.created&from=${first[0].offset}`, 3);
    expect(fromStart.offsets).toEqual(first.map((e: any) => e.offset));
    const resumed = await readSse(`${s.url}/v1/events/stream?type=order.created`, 2, {
      'last-event-id': String(first[0].offset),
    });
    expect(resumed.offsets).toEqual([first[1].offset, first[2].offset]);
  });

  it('reports health, readiness and log stats', async () => {
    expect(await getJson(s.url, '/healthz')).toEqual({ status: 200, body: { status: 'ok' } });
    expect(await getJson(s.url, '/readyz')).toEqual({ status: 200, body: { status: 'ready' } });
    const stats = (await getJson(s.url, '/v1/log')).body;
    expect(stats).toMatchObject({ partitions: 16 });
    expect(stats.count).toBeGreaterThanOrEqual(30);
  });

  it('answers unknown routes with 404 and a JSON error', async () => {
    const r = await getJson(s.url, '/v1/nope');
    expect(r.status).toBe(404);
    expect(r.body.error.code).toBe('E_NOT_FOUND');
  });
});

describe('schemas at ingest', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer();
  });
  afterAll(async () => s.stop());

  async function putSchema(type: string, body: unknown, query = ''): Promise<{ status: number; body: any }> {
    const res = await fetch(`${s.url}/v1/schemas/${type}${query}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: res.status, body: await res.json() };
  }

  const order = {
    type: 'object',
    required: ['amount'],
    properties: { amount: { type: 'number' }, note: { type: 'string' } },
  };

  it('rejects violations in enforce mode with the schema path and message', async () => {
    expect((await putSchema('shop.order', { schema: order })).status).toBe(201);
    const r = await post(s.url, [
      event({ type: 'shop.order', data: { amount: 'ten' } }),
      event({ type: 'shop.order', data: { amount: 10 } }),
    ]);
    expect(r.status).toBe(207);
    expect(r.body.results[0]).toMatchObject({ status: 'rejected', code: 'E_SCHEMA_VIOLATION' });
    expect(r.body.results[0].problems[0].pointer).toBe('/0/data/amount');
    expect(r.body.results[0].problems[0].message).toMatch(/number/);
    const single = await post(s.url, event({ type: 'shop.order', data: {} }), 'application/cloudevents+json');
    expect(single.status).toBe(400);
    expect(single.body.error.code).toBe('E_SCHEMA_VIOLATION');
  });

  it('accepts violations in warn mode with warnings, and ignores them when off', async () => {
    await putSchema('shop.order', { schema: order, mode: 'warn' });
    const r = await post(s.url, [event({ type: 'shop.order', data: { amount: 'ten' } })]);
    expect(r.status).toBe(201);
    expect(r.body.results[0].warnings[0].pointer).toBe('/0/data/amount');
    await putSchema('shop.order', { schema: order, mode: 'off' });
    const off = await post(s.url, [event({ type: 'shop.order', data: { amount: 'ten' } })]);
    expect(off.body.results[0].warnings).toBeUndefined();
  });

  it('refuses an incompatible version with 409 naming the rule unless forced', async () => {
    const narrowed = {
      ...order,
      required: ['amount', 'currency'],
      properties: { ...order.properties, currency: { type: 'string' } },
    };
    const r = await putSchema('shop.order', { schema: narrowed });
    expect(r.status).toBe(409);
    expect(r.body.error.code).toBe('E_SCHEMA_INCOMPATIBLE');
    expect(r.body.error.message).toMatch(/no-new-required/);
    const forced = await putSchema('shop.order', { schema: narrowed }, '?force=true');
    expect(forced.status).toBe(201);
    expect(forced.body.version).toBe(2);
  });

  it('lists, gets and deletes schemas', async () => {
    await putSchema('a.b', { schema: { type: 'object' } });
    const list = await getJson(s.url, '/v1/schemas');
    expect(list.body.schemas.map((x: any) => x.type)).toEqual(expect.arrayContaining(['a.b', 'shop.order']));
    expect((await getJson(s.url, '/v1/schemas/shop.order?version=1')).body.version).toBe(1);
    expect((await getJson(s.url, '/v1/schemas/shop.order/versions')).body.versions).toHaveLength(2);
    const del = await fetch(`${s.url}/v1/schemas/a.b`, { method: 'DELETE' });
    expect(await del.json()).toEqual({ deleted: 1 });
    expect((await getJson(s.url, '/v1/schemas/a.b')).status).toBe(404);
  });

  it('rejects a schema that does not compile with 400 E_SCHEMA_INVALID', async () => {
    const r = await putSchema('bad.schema', { schema: { type: 'nonsense' } });
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe('E_SCHEMA_INVALID');
  });
});

describe('tokens and scopes', () => {
  it('requires a bearer token with the right scope when auth is required', async () => {
    const s = await startTestServer({ auth: { required: true } }).catch((e) => e);
    expect(s.code).toBe('E_CONFIG_INVALID');
    expect(s.message).toMatch(/homeostat tokens create/);
  });

  it('enforces publish, read and admin scopes and stores tokens hashed', async () => {
    const { mkdtempSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { issueToken } = await import('../../src/auth/tokens.js');
    const dir = mkdtempSync(join(tmpdir(), 'homeostat-auth-'));
    const { store, close } = await openTestTokenStore(dir);
    const admin = issueToken('admin', ['admin'], Date.now());
    const publisher = issueToken('pub', ['publish'], Date.now());
    await store.add(admin.record);
    await store.add(publisher.record);
    await close();
    const s = await startTestServer({ auth: { required: true } }, dir);
    try {
      const bearer = (t: string) => ({ authorization: `Bearer ${t}` });
      expect((await post(s.url, [event()])).status).toBe(401);
      expect((await post(s.url, [event()], undefined, bearer('hst_nope'))).status).toBe(401);
      expect((await post(s.url, [event()], undefined, bearer(publisher.token))).status).toBe(201);
      const denied = await getJson(s.url, '/v1/events', bearer(publisher.token));
      expect(denied.status).toBe(403);
      expect(denied.body.error.message).toMatch(/'read' scope/);
      expect((await getJson(s.url, '/v1/events', bearer(admin.token))).status).toBe(200);
      expect((await getJson(s.url, '/healthz')).status).toBe(200);
      const created = await fetch(`${s.url}/v1/tokens`, {
        method: 'POST',
        headers: { ...bearer(admin.token), 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'reader', scopes: ['read'] }),
      });
      const reader = (await created.json()) as { token: string };
      expect((await getJson(s.url, '/v1/events', bearer(reader.token))).status).toBe(200);
      const dump = JSON.stringify(await storedTokens(dir));
      // hst_<id>_<secret>: the secret is base64url and may itself contain '_'.
      const secret = (token: string) => token.slice(token.indexOf('_', 4) + 1);
      for (const token of [reader.token, admin.token, publisher.token]) {
        expect(secret(token)).toHaveLength(43);
        expect(dump).not.toContain(secret(token));
      }
    } finally {
      await s.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** The token rows as stored: SQLite in the data directory, or the cluster pass's PostgreSQL schema. */
async function storedTokens(dir: string): Promise<unknown[]> {
  if (clusterMode()) return clusterRows(dir, 'tokens');
  const { join } = await import('node:path');
  const { default: Database } = await import('better-sqlite3');
  const db = new Database(join(dir, 'state.db'), { readonly: true });
  try {
    return db.prepare('SELECT * FROM tokens').all();
  } finally {
    db.close();
  }
}
