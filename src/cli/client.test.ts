import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createClient } from './client.js';

const servers: Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await new Promise<void>((r) => s.close(() => r()));
});

async function serve(handle: (req: IncomingMessage, body: string) => [number, Record<string, string>, string]) {
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const [status, headers, text] = handle(req, body);
      res.writeHead(status, headers).end(text);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  servers.push(server);
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('the CLI client and a cluster follower', () => {
  it('follows a 307 to the leader with the same method, body and bearer token', async () => {
    const seen: { method?: string; auth?: string; body?: string; url?: string }[] = [];
    const leader = await serve((req, body) => {
      seen.push({ method: req.method, auth: req.headers.authorization, body, url: req.url });
      return [200, { 'content-type': 'application/json' }, JSON.stringify({ ok: true })];
    });
    const follower = await serve((req) => [307, { location: `${leader}${req.url}` }, '{"redirect":true}']);
    const client = createClient({ url: follower, token: 'hs_secret' });
    const res = await client.request('PUT', '/v1/rules/r1', { body: { kind: 'Rule' }, query: { dryRun: true } });
    expect(res.body).toEqual({ ok: true });
    expect(seen).toEqual([
      { method: 'PUT', auth: 'Bearer hs_secret', body: '{"kind":"Rule"}', url: '/v1/rules/r1?dryRun=true' },
    ]);
  });

  it('stops after three redirects and returns the last answer', async () => {
    let hits = 0;
    const loop: string[] = [];
    const a = await serve(() => {
      hits++;
      return [307, { location: loop[0]! }, '{}'];
    });
    loop.push(`${a}/v1/rules`);
    const res = await createClient({ url: a }).send('GET', '/v1/rules');
    expect(res.status).toBe(307);
    expect(hits).toBe(4);
  });
});
