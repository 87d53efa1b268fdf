import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { HealthCheckSpec } from '../../core/infra/types.js';
import { type HealthChecker, type HealthTransition, probe, startHealthChecker } from './health.js';

type Mode = 'ok' | 'fail' | 'hang';

/** A real HTTP server whose /healthz answers 200, 503 or nothing, as the test says. */
async function target(): Promise<{ address: string; set(mode: Mode): void; server: Server }> {
  let mode: Mode = 'ok';
  const server = createServer((req, res) => {
    if (mode === 'hang') return;
    res.statusCode = mode === 'ok' && req.url === '/healthz' ? 200 : 503;
    res.end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { address: `127.0.0.1:${port}`, set: (m) => (mode = m), server };
}

const spec: HealthCheckSpec = {
  path: '/healthz',
  intervalMs: 50,
  timeoutMs: 200,
  unhealthyThreshold: 3,
  healthyThreshold: 2,
};
const open: { server?: Server; checker?: HealthChecker }[] = [];

afterEach(() => {
  for (const o of open.splice(0)) {
    o.checker?.stop();
    o.server?.closeAllConnections();
    o.server?.close();
  }
});

function until(transitions: HealthTransition[], n: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const deadline = Date.now() + 10_000;
    const tick = (): void => {
      if (transitions.length >= n) resolve();
      else if (Date.now() > deadline) reject(new Error(`only ${JSON.stringify(transitions)}`));
      else setTimeout(tick, 10);
    };
    tick();
  });
}

describe('health checks', () => {
  it('reports ready, then unhealthy after the threshold of failures, then healthy after the threshold of successes', async () => {
    const t = await target();
    const seen: HealthTransition[] = [];
    const checker = startHealthChecker({ address: t.address, spec, onTransition: (x) => seen.push(x) });
    open.push({ server: t.server, checker });
    await until(seen, 1);
    expect(seen).toEqual([{ kind: 'ready' }]);
    expect(checker.state).toBe('healthy');
    t.set('fail');
    await until(seen, 2);
    expect(seen[1]).toEqual({ kind: 'unhealthy', reason: 'HTTP 503 from /healthz', failures: 3 });
    t.set('ok');
    await until(seen, 3);
    expect(seen[2]).toEqual({ kind: 'healthy' });
  });

  it('does not call a starting instance unhealthy before it was ever ready', async () => {
    const t = await target();
    t.set('fail');
    const seen: HealthTransition[] = [];
    const checker = startHealthChecker({ address: t.address, spec, onTransition: (x) => seen.push(x) });
    open.push({ server: t.server, checker });
    await new Promise((r) => setTimeout(r, 400));
    expect(seen).toEqual([]);
    expect(checker.lastFailure).toBe('HTTP 503 from /healthz');
    t.set('ok');
    await until(seen, 1);
    expect(seen).toEqual([{ kind: 'ready' }]);
  });

  it('counts failures from the start for an instance that was ready before (re-adopted)', async () => {
    const t = await target();
    t.set('hang');
    const seen: HealthTransition[] = [];
    const checker = startHealthChecker({ address: t.address, spec, wasReady: true, onTransition: (x) => seen.push(x) });
    open.push({ server: t.server, checker });
    await until(seen, 1);
    expect(seen).toEqual([{ kind: 'unhealthy', reason: 'no answer from /healthz within 200 ms', failures: 3 }]);
  });

  it('probes report a refused connection and a non-2xx status as failures', async () => {
    const t = await target();
    open.push({ server: t.server });
    expect(await probe(t.address, '/healthz', 500)).toBeUndefined();
    expect(await probe(t.address, '/other', 500)).toBe('HTTP 503 from /other');
    await new Promise<void>((resolve) => t.server.close(() => resolve()));
    expect(await probe(t.address, '/healthz', 500)).toBe('/healthz: ECONNREFUSED');
  });
});
