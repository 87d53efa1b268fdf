import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { hasCode } from '../../../src/core/errors.js';
import {
  createBalancer,
  type Balancer,
  type BalancerOptions,
  type BalancerTarget,
} from '../../../src/providers/local/balancer.js';

type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => void;

/** A real HTTP server on 127.0.0.1:0 that records what reached it. */
interface Backend {
  readonly name: string;
  readonly address: string;
  readonly received: { method: string; url: string; headers: http.IncomingHttpHeaders }[];
  close(): Promise<void>;
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function startBackend(name: string, handler: Handler = (_req, res) => res.end(name)): Promise<Backend> {
  const received: Backend['received'] = [];
  const server = http.createServer((req, res) => {
    received.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
    handler(req, res);
  });
  await new Promise<void>((resolve) => server.listen({ host: '127.0.0.1', port: 0 }, resolve));
  const { port } = server.address() as AddressInfo;
  let closed = false;
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  };
  cleanups.push(close);
  return { name, address: `127.0.0.1:${port}`, received, close };
}

/** An address where nothing listens (a server was there and closed). */
async function deadAddress(): Promise<string> {
  const backend = await startBackend('dead');
  await backend.close();
  return backend.address;
}

async function startBalancer(options: Partial<BalancerOptions> = {}): Promise<Balancer> {
  const balancer = await createBalancer({ listen: '127.0.0.1:0', algorithm: 'round-robin', ...options });
  cleanups.push(() => balancer.close());
  return balancer;
}

function target(backend: Backend, healthy = true): BalancerTarget {
  return { name: backend.name, address: backend.address, healthy };
}

async function get(balancer: Balancer, path = '/'): Promise<{ status: number; text: string }> {
  const res = await fetch(`http://${balancer.address}${path}`);
  return { status: res.status, text: await res.text() };
}

/** A handler that holds each response until `release()` is called. */
function gate(): { handler: Handler; release: () => void; held: () => number } {
  const waiting: http.ServerResponse[] = [];
  return {
    handler: (_req, res) => void waiting.push(res),
    release: () => waiting.splice(0).forEach((res) => res.end('released')),
    held: () => waiting.length,
  };
}

async function until(check: () => boolean): Promise<void> {
  while (!check()) await new Promise((resolve) => setTimeout(resolve, 5));
}

/** Sums metrics windows until no request is in flight and at least `requests` completed. */
async function settledMetrics(balancer: Balancer, requests: number): Promise<{ requests: number; errors: number }> {
  const total = { requests: 0, errors: 0 };
  for (;;) {
    const window = balancer.takeMetrics();
    total.requests += window.requests;
    total.errors += window.errors;
    if (window.inFlight === 0 && total.requests >= requests) return total;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('local balancer: routing', () => {
  it('round robin sends each healthy target the same share', async () => {
    const backends = await Promise.all(['a', 'b', 'c'].map((n) => startBackend(n)));
    const balancer = await startBalancer();
    balancer.setTargets(backends.map((b) => target(b)));
    const bodies = [];
    for (let i = 0; i < 9; i++) bodies.push((await get(balancer)).text);
    expect(bodies.sort()).toEqual(['a', 'a', 'a', 'b', 'b', 'b', 'c', 'c', 'c']);
    expect(balancer.takeMetrics().perTarget).toEqual({ a: 3, b: 3, c: 3 });
  });

  it('least connections sends new requests to the idle target while the other is busy', async () => {
    const slowGate = gate();
    const slow = await startBackend('slow', slowGate.handler);
    const fast = await startBackend('fast');
    const balancer = await startBalancer({ algorithm: 'least-connections' });
    balancer.setTargets([target(slow), target(fast)]);
    // Equal load at first, so a request may land on either: send one at a time until slow holds one.
    let slowRequest: Promise<unknown> | undefined;
    while (!slowRequest) {
      const request = get(balancer);
      const answered = await Promise.race([
        request.then(() => true),
        until(() => slowGate.held() > 0).then(() => false),
      ]);
      if (!answered) slowRequest = request;
    }
    const fastBefore = fast.received.length;
    for (let i = 0; i < 10; i++) expect((await get(balancer)).text).toBe('fast');
    expect(fast.received.length - fastBefore).toBe(10);
    expect(slow.received).toHaveLength(1);
    slowGate.release();
    await slowRequest;
  });

  it('stops sending traffic to a target once setTargets marks it unhealthy, and resumes when healthy', async () => {
    const a = await startBackend('a');
    const b = await startBackend('b');
    const balancer = await startBalancer();
    balancer.setTargets([target(a), target(b)]);
    await get(balancer);
    await get(balancer);
    balancer.setTargets([target(a), target(b, false)]);
    const bBefore = b.received.length;
    for (let i = 0; i < 10; i++) expect((await get(balancer)).text).toBe('a');
    expect(b.received.length).toBe(bBefore);
    balancer.setTargets([target(a), target(b)]);
    const texts = [(await get(balancer)).text, (await get(balancer)).text];
    expect(texts.sort()).toEqual(['a', 'b']);
  });

  it('lets a request in flight to a removed target finish normally', async () => {
    const held = gate();
    const old = await startBackend('old', held.handler);
    const fresh = await startBackend('fresh');
    const balancer = await startBalancer();
    balancer.setTargets([target(old)]);
    const inFlight = get(balancer);
    await until(() => held.held() === 1);
    balancer.setTargets([target(fresh)]);
    expect((await get(balancer)).text).toBe('fresh');
    held.release();
    expect(await inFlight).toEqual({ status: 200, text: 'released' });
  });

  it('answers 503 with a JSON reason when no target is healthy', async () => {
    const a = await startBackend('a');
    const balancer = await startBalancer();
    const none = await fetch(`http://${balancer.address}/`);
    expect(none.status).toBe(503);
    expect(none.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await none.json()).toMatchObject({
      code: 'E_UNAVAILABLE',
      message: expect.stringMatching(/no healthy target/),
    });
    balancer.setTargets([target(a, false)]);
    const unhealthy = await fetch(`http://${balancer.address}/`);
    expect(unhealthy.status).toBe(503);
    expect(await unhealthy.json()).toMatchObject({ message: expect.stringMatching(/0 of 1 targets are healthy/) });
    expect(a.received).toHaveLength(0);
  });
});

describe('local balancer: upstream failures', () => {
  it('answers 502 naming the target when the only target refuses connections', async () => {
    const balancer = await startBalancer();
    balancer.setTargets([{ name: 'gone', address: await deadAddress(), healthy: true }]);
    const res = await fetch(`http://${balancer.address}/`);
    expect(res.status).toBe(502);
    const body = (await res.json()) as { code: string; message: string };
    expect(body.code).toBe('E_BACKEND');
    expect(body.message).toMatch(/ECONNREFUSED/);
    expect(body).toMatchObject({ details: { tried: ['gone'] } });
  });

  it('retries a refused connection on another target, body included', async () => {
    const echo = await startBackend('echo', (req, res) => req.pipe(res));
    const balancer = await startBalancer();
    balancer.setTargets([{ name: 'gone', address: await deadAddress(), healthy: true }, target(echo)]);
    for (let i = 0; i < 4; i++) {
      const res = await fetch(`http://${balancer.address}/`, { method: 'POST', body: `payload ${i}` });
      expect(res.status).toBe(200);
      expect(await res.text()).toBe(`payload ${i}`);
    }
    expect(echo.received).toHaveLength(4);
  });

  it('does not retry a request the target received before failing', async () => {
    const resetter = await startBackend('resetter', (req) => req.socket.destroy());
    const good = await startBackend('good');
    const balancer = await startBalancer();
    balancer.setTargets([target(resetter), target(good)]);
    const statuses = [(await get(balancer)).status, (await get(balancer)).status];
    expect(statuses.sort()).toEqual([200, 502]);
    expect(resetter.received).toHaveLength(1);
    expect(good.received).toHaveLength(1);
  });

  it('answers 504 when the target does not answer within requestTimeoutMs', async () => {
    const hanging = await startBackend('hanging', () => undefined);
    const balancer = await startBalancer({ requestTimeoutMs: 200 });
    balancer.setTargets([target(hanging)]);
    const res = await fetch(`http://${balancer.address}/`);
    expect(res.status).toBe(504);
    expect(await res.json()).toMatchObject({ code: 'E_BACKEND', message: expect.stringMatching(/within 200 ms/) });
    expect(balancer.takeMetrics()).toMatchObject({ requests: 1, errors: 1, inFlight: 0 });
  });
});

describe('local balancer: broken exchanges', () => {
  it('cuts the client off when the target breaks off its response, and counts an error', async () => {
    const broken = await startBackend('broken', (_req, res) => {
      res.writeHead(200, { 'content-length': '100' });
      res.write('partial', () => res.socket?.destroy());
    });
    const balancer = await startBalancer();
    balancer.setTargets([target(broken)]);
    const res = await fetch(`http://${balancer.address}/`);
    expect(res.status).toBe(200);
    await expect(res.text()).rejects.toThrow();
    expect(await settledMetrics(balancer, 1)).toEqual({ requests: 1, errors: 1 });
  });

  it('answers 502 when the target fails during an upload and keeps the client connection usable', async () => {
    let seen = 0;
    const flaky = await startBackend('flaky', (req, res) => {
      if (seen++ === 0) return req.socket.destroy();
      req.resume();
      res.end('ok');
    });
    const balancer = await startBalancer();
    balancer.setTargets([target(flaky)]);
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    cleanups.push(async () => agent.destroy());
    const send = (method: string, body?: Buffer): Promise<number> =>
      new Promise((resolve, reject) => {
        const [host, port] = balancer.address.split(':');
        const req = http.request({ agent, host, port: Number(port), method, path: '/' }, (res) => {
          res.resume().on('end', () => resolve(res.statusCode ?? 0));
        });
        req.on('error', reject).end(body);
      });
    expect(await send('POST', Buffer.alloc(4 * 1024 * 1024, 1))).toBe(502);
    expect(await send('GET')).toBe(200);
    expect(flaky.received).toHaveLength(2);
  });

  it('cancels the upstream request when the client goes away', async () => {
    const held = gate();
    let upstreamClosed = false;
    const backend = await startBackend('held', (req, res) => {
      res.once('close', () => (upstreamClosed = true));
      held.handler(req, res);
    });
    const balancer = await startBalancer();
    balancer.setTargets([target(backend)]);
    const controller = new AbortController();
    const pending = fetch(`http://${balancer.address}/`, { signal: controller.signal }).catch(() => 'aborted');
    await until(() => held.held() === 1);
    controller.abort();
    expect(await pending).toBe('aborted');
    await until(() => upstreamClosed);
    expect(await settledMetrics(balancer, 1)).toEqual({ requests: 1, errors: 0 });
  });
});

describe('local balancer: security rules', () => {
  it('answers 403 naming the allow list to a client outside it, 200 inside it', async () => {
    const a = await startBackend('a');
    const balancer = await startBalancer({ allow: ['10.0.0.0/8'] });
    balancer.setTargets([target(a)]);
    const denied = await fetch(`http://${balancer.address}/`);
    expect(denied.status).toBe(403);
    const body = (await denied.json()) as { code: string; message: string };
    expect(body.code).toBe('E_FORBIDDEN');
    expect(body.message).toContain('127.0.0.1');
    expect(body.message).toContain('10.0.0.0/8');
    expect(a.received).toHaveLength(0);
    balancer.setAllow(['10.0.0.0/8', '127.0.0.1/32']);
    expect(await get(balancer)).toEqual({ status: 200, text: 'a' });
    balancer.setAllow(undefined);
    expect((await get(balancer)).status).toBe(200);
  });

  it('matches IPv4-mapped IPv6 clients against IPv4 rules and IPv6 clients against IPv6 rules', async () => {
    const a = await startBackend('a');
    const balancer = await startBalancer({ listen: '[::]:0', allow: ['127.0.0.1/32'] });
    balancer.setTargets([target(a)]);
    const port = balancer.address.slice(balancer.address.lastIndexOf(':') + 1);
    // On a dual-stack listener an IPv4 client arrives as ::ffff:127.0.0.1.
    expect((await fetch(`http://127.0.0.1:${port}/`)).status).toBe(200);
    expect((await fetch(`http://[::1]:${port}/`)).status).toBe(403);
    balancer.setAllow(['::1/128']);
    expect((await fetch(`http://[::1]:${port}/`)).status).toBe(200);
    expect((await fetch(`http://127.0.0.1:${port}/`)).status).toBe(403);
    balancer.setAllow(['::ffff:127.0.0.0/104']);
    expect((await fetch(`http://127.0.0.1:${port}/`)).status).toBe(200);
    expect(a.received.map((r) => r.headers['x-forwarded-for'])).toEqual(['127.0.0.1', '::1', '127.0.0.1']);
  });
});

describe('local balancer: forwarding', () => {
  it('streams a 1 MiB POST to the target and the echo back intact', async () => {
    const echo = await startBackend('echo', (req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      req.pipe(res);
    });
    const balancer = await startBalancer();
    balancer.setTargets([target(echo)]);
    const body = randomBytes(1024 * 1024);
    const res = await fetch(`http://${balancer.address}/upload?x=1`, { method: 'POST', body });
    const back = Buffer.from(await res.arrayBuffer());
    expect(res.status).toBe(200);
    expect(back.length).toBe(body.length);
    expect(createHash('sha256').update(back).digest('hex')).toBe(createHash('sha256').update(body).digest('hex'));
    expect(echo.received[0]).toMatchObject({ method: 'POST', url: '/upload?x=1' });
  });

  it('streams a chunked upload of unknown length to the target', async () => {
    const echo = await startBackend('echo', (req, res) => req.pipe(res));
    const balancer = await startBalancer();
    balancer.setTargets([target(echo)]);
    const parts = ['first,', 'second,', 'third'];
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        const next = parts.shift();
        if (next === undefined) controller.close();
        else controller.enqueue(new TextEncoder().encode(next));
      },
    });
    const res = await fetch(`http://${balancer.address}/`, { method: 'POST', body, duplex: 'half' } as RequestInit);
    expect(await res.text()).toBe('first,second,third');
    expect(echo.received[0]!.headers['transfer-encoding']).toBe('chunked');
  });

  it('adds X-Forwarded-For and -Proto and drops hop-by-hop headers both ways', async () => {
    const backend = await startBackend('a', (_req, res) => {
      res.writeHead(201, {
        'x-app': 'yes',
        'keep-alive': 'timeout=5',
        'x-private-hop': '1',
        connection: 'x-private-hop',
      });
      res.end('made');
    });
    const balancer = await startBalancer();
    balancer.setTargets([target(backend)]);
    const [host, port] = [balancer.address.split(':')[0]!, Number(balancer.address.split(':')[1])];
    const answer = await new Promise<http.IncomingMessage>((resolve, reject) => {
      const req = http.request({
        host,
        port,
        method: 'PUT',
        path: '/things/1',
        agent: false,
        headers: { connection: 'close, x-hop', 'x-hop': 'secret', 'x-forwarded-for': '203.0.113.9', 'x-app': 'v' },
      });
      req.on('response', resolve).on('error', reject).end('{}');
    });
    answer.resume();
    expect(answer.statusCode).toBe(201);
    expect(answer.headers['x-app']).toBe('yes');
    expect(answer.headers['x-private-hop']).toBeUndefined();
    const seen = backend.received[0]!;
    expect(seen).toMatchObject({ method: 'PUT', url: '/things/1' });
    expect(seen.headers).toMatchObject({
      'x-forwarded-for': '203.0.113.9, 127.0.0.1',
      'x-forwarded-proto': 'http',
      'x-app': 'v',
    });
    expect(seen.headers['x-hop']).toBeUndefined();
    expect(seen.headers.host).toBe(balancer.address);
  });
});

describe('local balancer: metrics', () => {
  it('reports requests, errors, latency percentiles, in-flight and per-target counts per window', async () => {
    const held = gate();
    const handler: Handler = (req, res) => {
      const url = new URL(req.url ?? '/', 'http://x');
      if (url.pathname === '/hold') return held.handler(req, res);
      const status = Number(url.searchParams.get('status') ?? 200);
      setTimeout(() => res.writeHead(status).end(), Number(url.searchParams.get('delay') ?? 0));
    };
    const a = await startBackend('a', handler);
    const b = await startBackend('b', handler);
    const balancer = await startBalancer();
    balancer.setTargets([target(a), target(b)]);
    balancer.takeMetrics();
    // 10 requests: 4 fast, 3 after 150 ms, 3 after 300 ms; 2 of the fast ones answer 500.
    const paths = [
      '/?status=500',
      '/?status=500',
      '/',
      '/',
      ...Array(3).fill('/?delay=150'),
      ...Array(3).fill('/?delay=300'),
    ];
    await Promise.all(paths.map((p) => get(balancer, p)));
    const held1 = get(balancer, '/hold');
    await until(() => held.held() === 1);
    const window = balancer.takeMetrics();
    expect(window).toMatchObject({ requests: 10, errors: 2, errorRate: 0.2, inFlight: 1, perTarget: { a: 5, b: 5 } });
    expect(window.rps).toBeGreaterThan(0);
    // Nearest rank over 10 samples: p50 is the 5th (a 150 ms one), p95 and p99 the 10th (300 ms).
    expect(window.latencyMs.p50).toBeGreaterThanOrEqual(150);
    expect(window.latencyMs.p95).toBeGreaterThanOrEqual(300);
    expect(window.latencyMs.p99).toBe(window.latencyMs.p95);
    held.release();
    await held1;
    balancer.setTargets([]);
    await get(balancer);
    const next = balancer.takeMetrics();
    expect(next).toMatchObject({ requests: 2, errors: 1, inFlight: 0 });
    expect(next.perTarget).toEqual({ a: 1 });
  });

  it('passes 2,000 requests from 20 concurrent clients, all answered', async () => {
    const backends = await Promise.all(['w1', 'w2', 'w3', 'w4'].map((n) => startBackend(n)));
    const balancer = await startBalancer();
    balancer.setTargets(backends.map((b) => target(b)));
    balancer.takeMetrics();
    const statuses = new Map<number, number>();
    const client = async (): Promise<void> => {
      for (let i = 0; i < 100; i++) {
        const { status } = await get(balancer, `/${i}`);
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
      }
    };
    await Promise.all(Array.from({ length: 20 }, client));
    expect(Object.fromEntries(statuses)).toEqual({ 200: 2000 });
    expect(balancer.takeMetrics()).toMatchObject({
      requests: 2000,
      errors: 0,
      inFlight: 0,
      perTarget: { w1: 500, w2: 500, w3: 500, w4: 500 },
    });
  });
});

describe('local balancer: options', () => {
  it('rejects bad options with every problem and its pointer', async () => {
    const error = await createBalancer({
      listen: 'localhost',
      algorithm: 'random' as 'round-robin',
      allow: ['10.0.0.0/8', '300.1.1.1/8'],
      requestTimeoutMs: 0,
    }).catch((e: unknown) => e);
    expect(hasCode(error, 'E_INVALID')).toBe(true);
    const pointers = (error as { problems: { pointer: string }[] }).problems.map((p) => p.pointer);
    expect(pointers).toEqual(['/listen', '/algorithm', '/allow/1', '/requestTimeoutMs']);
  });

  it('rejects a bad target address or CIDR without changing what it routes to', async () => {
    const a = await startBackend('a');
    const balancer = await startBalancer();
    balancer.setTargets([target(a)]);
    expect(() => balancer.setTargets([{ name: 'x', address: 'nowhere', healthy: true }])).toThrow(/\/0\/address/);
    expect(() => balancer.setTargets([target(a), target(a)])).toThrow(/given twice/);
    expect(() => balancer.setAllow(['10.0.0.0/33'])).toThrow(/\/allow\/0.*10\.0\.0\.0\/33/);
    expect(await get(balancer)).toEqual({ status: 200, text: 'a' });
  });

  it('reports a busy listen address as E_BACKEND', async () => {
    const first = await startBalancer();
    const error = await createBalancer({ listen: first.address, algorithm: 'round-robin' }).catch((e: unknown) => e);
    expect(hasCode(error, 'E_BACKEND')).toBe(true);
    expect(String((error as Error).message)).toMatch(/EADDRINUSE/);
  });
});
