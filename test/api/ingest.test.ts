import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventLog } from '../../src/ports/event-log.js';
import { event, getJson, post, startTestServer, type TestServer } from './harness.js';

describe('POST /v1/events', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer({ ingest: { maxRequestSize: '64KiB', maxEventSize: '8KiB', maxDepth: 16 } });
  });
  afterAll(async () => s.stop());

  it('accepts one event in structured mode and answers 201 with its offset', async () => {
    const ev = event();
    const r = await post(s.url, ev, 'application/cloudevents+json');
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({ accepted: 1, duplicates: 0, rejected: 0 });
    expect(r.body.results[0]).toMatchObject({ index: 0, status: 'accepted', id: ev.id, source: '/test' });
    expect(typeof r.body.results[0].offset).toBe('number');
  });

  it('accepts binary mode: attributes from ce-* headers, the body as data', async () => {
    const id = `bin-${Date.now()}`;
    const r = await post(s.url, JSON.stringify({ cpu: 0.9 }), 'application/json', {
      'ce-specversion': '1.0',
      'ce-id': id,
      'ce-source': '/binary',
      'ce-type': 'infra.metrics',
      'ce-subject': 'group%2Fweb',
      'ce-partitionkey': 'web',
    });
    expect(r.status).toBe(201);
    const q = await getJson(s.url, '/v1/events?source=/binary');
    expect(q.body.events[0].event).toMatchObject({
      id,
      type: 'infra.metrics',
      subject: 'group/web',
      partitionkey: 'web',
      datacontenttype: 'application/json',
      data: { cpu: 0.9 },
    });
    expect(q.body.events[0].partitionKey).toBe('web');
  });

  it('keeps a binary-mode octet body as data_base64 and text as a string', async () => {
    const headers = { 'ce-specversion': '1.0', 'ce-source': '/bin2', 'ce-type': 'blob' };
    expect(
      (await post(s.url, new Uint8Array([0, 1, 2, 255]), 'application/octet-stream', { ...headers, 'ce-id': 'b1' }))
        .status,
    ).toBe(201);
    expect((await post(s.url, 'hello', 'text/plain', { ...headers, 'ce-id': 'b2' })).status).toBe(201);
    const q = await getJson(s.url, '/v1/events?source=/bin2');
    expect(q.body.events.map((e: any) => e.event.data_base64 ?? e.event.data)).toEqual(['AAEC/w==', 'hello']);
  });

  it('reports a result per batch entry: accepted, duplicate and rejected (207)', async () => {
    const a = event();
    await post(s.url, [a]);
    const bad = event({ time: 'yesterday' });
    const r = await post(s.url, [event(), a, bad, event({ specversion: '0.3' })]);
    expect(r.status).toBe(207);
    expect(r.body).toMatchObject({ accepted: 1, duplicates: 1, rejected: 2 });
    expect(r.body.results.map((x: any) => x.status)).toEqual(['accepted', 'duplicate', 'rejected', 'rejected']);
    expect(r.body.results[2].problems[0].pointer).toBe('/2/time');
    expect(r.body.results[2].problems[0].message).toMatch(/RFC 3339/);
    expect(r.body.results[3].problems[0]).toMatchObject({ pointer: '/3/specversion' });
  });

  it('answers 200 when every entry is a duplicate, and appends nothing', async () => {
    const a = event();
    await post(s.url, [a]);
    const before = (await getJson(s.url, '/v1/log')).body.count;
    const r = await post(s.url, [a, a]);
    expect(r.status).toBe(200);
    expect(r.body.duplicates).toBe(2);
    expect((await getJson(s.url, '/v1/log')).body.count).toBe(before);
  });

  it('rejects a batch whose every entry is invalid with 400 naming each field', async () => {
    const r = await post(s.url, [{ specversion: '1.0', source: '/x', type: 't' }, { id: 'y' }]);
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe('E_EVENT_INVALID');
    const pointers = r.body.error.problems.map((p: any) => p.pointer);
    expect(pointers).toEqual(expect.arrayContaining(['/0/id', '/1/specversion', '/1/source', '/1/type']));
  });

  it.each([
    ['extension name with upper case', { Bad: 1 }, '/Bad'],
    ['extension name too long', { abcdefghijklmnopqrstu: 'x' }, '/abcdefghijklmnopqrstu'],
    ['dataschema not a URI', { dataschema: 'not a uri' }, '/dataschema'],
    ['datacontenttype not a media type', { datacontenttype: 'json' }, '/datacontenttype'],
    ['time with an impossible date', { time: '2026-02-30T00:00:00Z' }, '/time'],
    ['extension object value', { meta: { a: 1 } }, '/meta'],
    ['empty id', { id: '' }, '/id'],
    ['data and data_base64', { data_base64: 'AA==' }, '/data_base64'],
    [
      'a source reserved for Homeostat (an imitated condition firing)',
      { source: 'homeostat/rules/page-on-5xx', type: 'homeostat.condition.fired' },
      '/source',
    ],
  ])('rejects %s with the field pointer', async (_name, patch, pointer) => {
    const r = await post(s.url, event(patch), 'application/cloudevents+json');
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe('E_EVENT_INVALID');
    expect(r.body.error.problems.map((p: any) => p.pointer)).toContain(pointer);
  });

  it('rejects malformed JSON with 400 E_MALFORMED_JSON', async () => {
    const r = await post(s.url, '{"id": ', 'application/cloudevents+json');
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe('E_MALFORMED_JSON');
  });

  it('rejects a batch with anything after its closing bracket and writes none of it', async () => {
    const before = (await getJson(s.url, '/v1/log')).body.count;
    for (const tail of [' xyz', ']', ' [1]']) {
      const body = `[${JSON.stringify(event())},${JSON.stringify(event())}]${tail}`;
      const r = await post(s.url, body);
      expect(r.status).toBe(400);
      expect(r.body.error.code).toBe('E_MALFORMED_JSON');
    }
    expect((await getJson(s.url, '/v1/log')).body.count).toBe(before);
  });

  it('rejects an unsupported content type with 415 listing what is allowed', async () => {
    const r = await post(s.url, 'id=1', 'application/x-www-form-urlencoded');
    expect(r.status).toBe(415);
    expect(r.body.error.code).toBe('E_UNSUPPORTED_MEDIA_TYPE');
    expect(r.body.error.message).toMatch(/application\/cloudevents\+json/);
  });

  it('rejects a body over the request limit with 413 and says the limit', async () => {
    const big = Array.from({ length: 200 }, () => event({ data: 'x'.repeat(500) }));
    const r = await post(s.url, big);
    expect(r.status).toBe(413);
    expect(r.body.error.code).toBe('E_REQUEST_TOO_LARGE');
    expect(r.body.error.message).toMatch(/65536 bytes/);
  });

  it('rejects one event over the per-event limit with 413, others in the batch pass', async () => {
    const r = await post(s.url, [event({ data: 'x'.repeat(10_000) }), event()]);
    expect(r.status).toBe(207);
    expect(r.body.results[0]).toMatchObject({ status: 'rejected', code: 'E_EVENT_TOO_LARGE' });
    expect(r.body.results[0].problems[0].pointer).toBe('/0');
    const single = await post(s.url, event({ data: 'x'.repeat(10_000) }), 'application/cloudevents+json');
    expect(single.status).toBe(413);
    expect(single.body.error.code).toBe('E_EVENT_TOO_LARGE');
  });

  it('rejects deeply nested payloads with 400 E_TOO_DEEP and stays up', async () => {
    const deep = `{"specversion":"1.0","id":"d","source":"/d","type":"t","data":${'['.repeat(5000)}${']'.repeat(5000)}}`;
    const r = await post(s.url, deep, 'application/cloudevents+json');
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe('E_TOO_DEEP');
    expect((await getJson(s.url, '/healthz')).status).toBe(200);
  });

  it('rejects a structured body that is not an object, and an empty body', async () => {
    expect((await post(s.url, '[1]', 'application/cloudevents+json')).status).toBe(400);
    const empty = await post(s.url, '', 'application/cloudevents+json');
    expect(empty.status).toBe(400);
    expect(empty.body.error.code).toBe('E_MALFORMED_JSON');
  });
});

/** Holds every append of the real log until `release` is called. */
function gate(log: EventLog): { log: EventLog; held: () => number; release: () => void } {
  let waiting: (() => void)[] = [];
  let open = false;
  const gated: EventLog = {
    ...log,
    append: async (events) => {
      if (!open) await new Promise<void>((resolve) => waiting.push(resolve));
      return log.append(events);
    },
    follow: (o) => log.follow(o),
  };
  return {
    log: gated,
    held: () => waiting.length,
    release: () => {
      open = true;
      for (const w of waiting) w();
      waiting = [];
    },
  };
}

describe('backpressure', () => {
  it('answers 429 with Retry-After when the write path is saturated, and loses nothing accepted', async () => {
    let g: ReturnType<typeof gate> | undefined;
    const s = await startTestServer({ ingest: { maxPendingEvents: 120 } }, undefined, {
      decorateLog: (log) => {
        g = gate(log);
        return g.log;
      },
    });
    try {
      const batch = () => Array.from({ length: 50 }, () => event());
      const first = [batch(), batch()];
      const inFlight = first.map((b) => post(s.url, b));
      while (g!.held() < 2) await new Promise((r) => setTimeout(r, 5));
      const refused = await post(s.url, batch());
      expect(refused.status).toBe(429);
      expect(refused.headers.get('retry-after')).toBe('1');
      expect(refused.body.error.code).toBe('E_BACKPRESSURE');
      expect(refused.body.error.message).toMatch(/saturated/);
      g!.release();
      const done = await Promise.all(inFlight);
      expect(done.map((r) => r.status)).toEqual([201, 201]);
      expect((await getJson(s.url, '/v1/log')).body.count).toBe(100);
      expect((await post(s.url, batch())).status).toBe(201);
      expect((await getJson(s.url, '/v1/log')).body.count).toBe(150);
    } finally {
      await s.stop();
    }
  });
});

describe('durability across restart', () => {
  it('keeps acknowledged events and dedup state after the server restarts', async () => {
    const s = await startTestServer();
    const dir = s.dataDir;
    const evs = [event(), event()];
    expect((await post(s.url, evs)).status).toBe(201);
    await s.server.close();
    const s2 = await startTestServer({}, dir);
    try {
      expect((await post(s2.url, evs)).body.duplicates).toBe(2);
      expect((await getJson(s2.url, '/v1/events')).body.events.map((e: any) => e.event.id)).toEqual(
        evs.map((e) => e.id),
      );
    } finally {
      await s2.stop();
      await s.stop().catch(() => undefined);
    }
  });
});

describe('readiness', () => {
  it('reports not ready, with the reason, while the log cannot take appends', async () => {
    let broken = false;
    const s = await startTestServer({}, undefined, {
      decorateLog: (log) => ({
        ...log,
        follow: (o) => log.follow(o),
        health: () => (broken ? ['writer thread exited'] : log.health()),
      }),
    });
    try {
      expect((await getJson(s.url, '/readyz')).status).toBe(200);
      broken = true;
      const r = await getJson(s.url, '/readyz');
      expect(r.status).toBe(503);
      expect(r.body).toEqual({ status: 'not-ready', reasons: ['writer thread exited'] });
      expect((await getJson(s.url, '/healthz')).status).toBe(200);
    } finally {
      await s.stop();
    }
  });
});

describe('startup failures', () => {
  it('reports a port in use clearly and releases the data directory', async () => {
    const first = await startTestServer();
    const port = Number(new URL(first.url).port);
    const { mkdtempSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const dir = mkdtempSync(join(tmpdir(), 'homeostat-busy-'));
    try {
      const err = await startTestServer({ server: { port } }, dir).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'E_CONFIG_INVALID' });
      expect((err as Error).message).toMatch(/already in use.*--port/);
      const again = await startTestServer({}, dir);
      expect((await post(again.url, [event()])).status).toBe(201);
      await again.stop();
    } finally {
      await first.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
