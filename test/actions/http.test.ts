import { createHmac } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createHttpTarget, type HttpTarget } from '../../src/actions/http/target.js';
import { createManualClock } from '../../src/core/clock.js';
import type { DeliveryOutcome } from '../../src/ports/target.js';
import { deliveryRequest, startServer, targetSpec, type TestServer, triggerEvent } from './helpers.js';

const clock = createManualClock(Date.UTC(2026, 0, 1, 12));
let server: TestServer;
let http: HttpTarget;

beforeAll(async () => {
  server = await startServer();
  http = createHttpTarget({ clock, env: { WEBHOOK_SECRET: 'from-env-secret' } });
});
afterEach(() => {
  server.received.length = 0;
  server.handle((_req, res) => res.end('ok'));
});
afterAll(async () => {
  await http.close();
  await server.close();
});

function failed(o: DeliveryOutcome): Extract<DeliveryOutcome, { ok: false }> {
  if (o.ok) throw new Error('expected a failed outcome');
  return o;
}

function verify(secret: string, header: string | undefined, body: string): boolean {
  const m = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(header ?? '');
  if (!m) return false;
  return createHmac('sha256', secret).update(`${m[1]}.${body}`).digest('hex') === m[2];
}

describe('http action: delivery', () => {
  it('POSTs the payload as JSON and reports the status', async () => {
    const target = targetSpec('http', { url: `${server.url}/hook` });
    const outcome = await http.deliver(deliveryRequest(target, { payload: { a: 1 } }));
    expect(outcome).toMatchObject({ ok: true, detail: { status: 200 } });
    const [got] = server.received;
    expect(got).toMatchObject({ method: 'POST', url: '/hook', body: '{"a":1}' });
    expect(got!.headers['content-type']).toBe('application/json');
  });

  it('sends the idempotency key, event, rule, attempt and trace headers', async () => {
    const target = targetSpec('http', { url: server.url, headers: { 'X-Team': 'sre' } });
    const req = deliveryRequest(target, { attempt: 3, replayed: true });
    await http.deliver(req);
    const h = server.received[0]!.headers;
    expect(h['idempotency-key']).toBe(req.idempotencyKey);
    expect(h['idempotency-key']).toMatch(/^hst1-[0-9a-f]{32}$/);
    expect(h).toMatchObject({
      'homeostat-event-id': 'evt-1',
      'homeostat-event-source': 'app/web',
      'homeostat-rule': 'page-on-5xx',
      'homeostat-attempt': '3',
      'homeostat-replayed': 'true',
      traceparent: triggerEvent.traceparent,
      'x-team': 'sre',
    });
  });

  it('omits Homeostat-Replayed for live deliveries and traceparent when the event has none', async () => {
    const { traceparent: _omit, ...plain } = triggerEvent;
    await http.deliver(deliveryRequest(targetSpec('http', { url: server.url }), { event: plain }));
    const h = server.received[0]!.headers;
    expect(h['homeostat-replayed']).toBeUndefined();
    expect(h.traceparent).toBeUndefined();
  });

  it('sends a string payload as text', async () => {
    await http.deliver(deliveryRequest(targetSpec('http', { url: server.url }), { payload: 'disk full on web-1' }));
    expect(server.received[0]).toMatchObject({ body: 'disk full on web-1' });
    expect(server.received[0]!.headers['content-type']).toBe('text/plain; charset=utf-8');
  });

  it('uses the configured method; GET sends no body', async () => {
    await http.deliver(deliveryRequest(targetSpec('http', { url: server.url, method: 'put' })));
    await http.deliver(deliveryRequest(targetSpec('http', { url: server.url, method: 'GET' })));
    expect(server.received.map((r) => r.method)).toEqual(['PUT', 'GET']);
    expect(server.received[1]!.body).toBe('');
  });

  it('signs the body with HMAC-SHA256 so the receiver can verify it', async () => {
    const target = targetSpec('http', { url: server.url, secret: 'manifest-secret' });
    await http.deliver(deliveryRequest(target, { payload: { amount: 5 } }));
    const got = server.received[0]!;
    const header = got.headers['homeostat-signature'] as string;
    expect(header).toMatch(`t=${clock.now()},`);
    expect(verify('manifest-secret', header, got.body)).toBe(true);
    expect(verify('another-secret', header, got.body)).toBe(false);
  });

  it('reads the signing secret from the environment variable named by secretEnv', async () => {
    await http.deliver(deliveryRequest(targetSpec('http', { url: server.url, secretEnv: 'WEBHOOK_SECRET' })));
    const got = server.received[0]!;
    expect(verify('from-env-secret', got.headers['homeostat-signature'] as string, got.body)).toBe(true);
  });

  it('does not retry when the secretEnv variable is missing, and says which', async () => {
    const o = failed(await http.deliver(deliveryRequest(targetSpec('http', { url: server.url, secretEnv: 'NOPE' }))));
    expect(o).toMatchObject({ retry: 'no', error: { code: 'E_ACTION_CONFIG' } });
    expect(o.error.message).toContain('NOPE is not set');
    expect(server.received).toHaveLength(0);
  });

  it('reuses keep-alive connections instead of opening one per delivery', async () => {
    const local = await startServer();
    try {
      for (let i = 0; i < 10; i++) await http.deliver(deliveryRequest(targetSpec('http', { url: local.url })));
      expect(local.received).toHaveLength(10);
      // undici frees a socket just after the response resolves, so back-to-back requests alternate two.
      expect(local.connections()).toBeLessThanOrEqual(2);
    } finally {
      await local.close();
    }
  });
});

describe('http action: failures', () => {
  it('retries a 500 and quotes the response body', async () => {
    server.handle((_req, res) => {
      res.statusCode = 500;
      res.end('database is down');
    });
    const o = failed(await http.deliver(deliveryRequest(targetSpec('http', { url: `${server.url}/x?token=secret` }))));
    expect(o).toMatchObject({ retry: 'yes', error: { code: 'E_HTTP_STATUS', details: { status: 500 } } });
    expect(o.error.message).toBe(`POST ${server.url} answered 500: database is down`);
    expect(o.error.message).not.toContain('secret');
  });

  it('does not retry a 400', async () => {
    server.handle((_req, res) => {
      res.statusCode = 400;
      res.end('{"error":"bad field"}');
    });
    const o = failed(await http.deliver(deliveryRequest(targetSpec('http', { url: server.url }))));
    expect(o).toMatchObject({ retry: 'no', error: { code: 'E_HTTP_STATUS', details: { status: 400 } } });
  });

  it.each([408, 425, 502, 503])('retries status %i', async (status) => {
    server.handle((_req, res) => {
      res.statusCode = status;
      res.end();
    });
    expect(failed(await http.deliver(deliveryRequest(targetSpec('http', { url: server.url })))).retry).toBe('yes');
  });

  it('does not follow redirects and says so', async () => {
    server.handle((_req, res) => {
      res.writeHead(301, { location: '/elsewhere' });
      res.end();
    });
    const o = failed(await http.deliver(deliveryRequest(targetSpec('http', { url: server.url }))));
    expect(o.retry).toBe('no');
    expect(o.error.message).toContain('redirects are not followed');
  });

  it('honours Retry-After seconds on 429', async () => {
    server.handle((_req, res) => {
      res.writeHead(429, { 'retry-after': '7' });
      res.end('slow down');
    });
    const o = failed(await http.deliver(deliveryRequest(targetSpec('http', { url: server.url }))));
    expect(o).toMatchObject({ retry: 'yes', retryAfterMs: 7_000 });
  });

  it('honours a Retry-After HTTP date, capped at one hour', async () => {
    const inTwoMinutes = new Date(clock.now() + 120_000).toUTCString();
    server.handle((_req, res) => {
      res.writeHead(503, { 'retry-after': inTwoMinutes });
      res.end();
    });
    expect(failed(await http.deliver(deliveryRequest(targetSpec('http', { url: server.url })))).retryAfterMs).toBe(
      120_000,
    );
    server.handle((_req, res) => {
      res.writeHead(503, { 'retry-after': '86400' });
      res.end();
    });
    expect(failed(await http.deliver(deliveryRequest(targetSpec('http', { url: server.url })))).retryAfterMs).toBe(
      3_600_000,
    );
  });

  it('reads at most 64 KiB of a large error body and keeps the connection usable', async () => {
    server.handle((_req, res) => {
      res.statusCode = 500;
      res.end('x'.repeat(1_000_000));
    });
    const o = failed(await http.deliver(deliveryRequest(targetSpec('http', { url: server.url }))));
    expect((o.error.details!.body as string).length).toBeLessThanOrEqual(65_536);
    expect(o.error.message.length).toBeLessThan(400);
    server.handle((_req, res) => res.end('ok'));
    expect((await http.deliver(deliveryRequest(targetSpec('http', { url: server.url })))).ok).toBe(true);
  });

  it('times out against a server that stalls, and retries', async () => {
    server.handle(() => undefined);
    const target = targetSpec('http', { url: server.url }, { timeoutMs: 200 });
    const o = failed(await http.deliver(deliveryRequest(target)));
    expect(o).toMatchObject({ retry: 'yes', error: { code: 'E_TIMEOUT', details: { timeoutMs: 200 } } });
    expect(o.error.message).toContain('did not answer within 200 ms');
  });

  it('stops promptly when the request signal aborts (shutdown)', async () => {
    server.handle(() => undefined);
    const controller = new AbortController();
    const pending = http.deliver(
      deliveryRequest(targetSpec('http', { url: server.url }), { signal: controller.signal }),
    );
    while (server.received.length === 0) await new Promise((r) => setTimeout(r, 5));
    controller.abort();
    expect(failed(await pending)).toMatchObject({ retry: 'yes', error: { code: 'E_ABORTED' } });
  });

  it('retries when nothing listens on the port', async () => {
    const gone = await startServer();
    await gone.close();
    const o = failed(await http.deliver(deliveryRequest(targetSpec('http', { url: gone.url }))));
    expect(o).toMatchObject({ retry: 'yes', error: { code: 'E_HTTP_NETWORK' } });
    expect(o.error.message).toContain('ECONNREFUSED');
  });
});

describe('http action: validation', () => {
  it('accepts a minimal and a full target', () => {
    expect(http.validate({ url: 'https://hooks.example/x' })).toEqual([]);
    expect(
      http.validate({ url: 'http://h/x', method: 'patch', headers: { Authorization: 'Bearer t' }, secretEnv: 'S' }),
    ).toEqual([]);
  });

  it('names each bad option with a pointer and the fix', () => {
    expect(http.validate({})).toEqual([{ pointer: '/url', message: expect.stringContaining('is required') }]);
    expect(http.validate({ url: 'ftp://h/x' })[0]?.message).toContain("scheme 'ftp:' is not supported");
    expect(http.validate({ url: 'not a url' })[0]?.message).toContain('is not a valid URL');
    expect(http.validate({ url: 'http://h', method: 'TRACE' })).toEqual([
      { pointer: '/method', message: 'must be one of POST, PUT, PATCH, GET, DELETE (default POST)' },
    ]);
    expect(http.validate({ url: 'http://h', verb: 'POST' })).toEqual([
      { pointer: '/verb', message: 'unknown option; allowed: url, method, headers, secret, secretEnv' },
    ]);
  });

  it('forbids hop-by-hop, Content-Length and Homeostat-managed headers', () => {
    const problems = http.validate({
      url: 'http://h',
      headers: { Connection: 'close', 'Content-Length': '3', 'Idempotency-Key': 'x', 'Homeostat-Rule': 'y', ok: 1 },
    });
    expect(problems.map((p) => p.pointer)).toEqual([
      '/headers/Connection',
      '/headers/Content-Length',
      '/headers/Idempotency-Key',
      '/headers/Homeostat-Rule',
      '/headers/ok',
    ]);
    expect(problems[0]!.message).toContain('hop-by-hop');
  });

  it('rejects secret and secretEnv together, and a bad variable name', () => {
    expect(http.validate({ url: 'http://h', secret: 's', secretEnv: 'S' })).toEqual([
      { pointer: '/secretEnv', message: 'give either secret or secretEnv, not both' },
    ]);
    expect(http.validate({ url: 'http://h', secretEnv: 'not-a-name' })[0]?.pointer).toBe('/secretEnv');
  });

  it('reports options that became invalid by delivery time instead of sending', async () => {
    const o = failed(await http.deliver(deliveryRequest(targetSpec('http', { url: 'ftp://h' }))));
    expect(o).toMatchObject({ retry: 'no', error: { code: 'E_ACTION_CONFIG' } });
    expect(o.error.message).toContain('with/url');
  });
});
