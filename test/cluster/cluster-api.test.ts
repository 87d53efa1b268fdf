/**
 * Cluster mode through the runtime: two `startEmbedded` nodes in this process on NATS JetStream
 * and PostgreSQL. Checked: the cluster view, management requests redirected to the leader, rules
 * and schemas written through one node reaching the other, a graceful stop handing partitions and
 * leadership over at once, and the configuration errors. The three-process test with kill -9 is
 * three-nodes.test.ts.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/runtime/config.js';
import { type EmbeddedHomeostat, startEmbedded } from '../../src/runtime/embedded.js';
import { describeSkipped, postgresTestEnv } from '../store/postgres-harness.js';
import { deleteStreams, NATS_URL } from './backends.js';
import { type ClusterView, clusterView } from './nodes.js';

const env = await postgresTestEnv();

async function eventually(check: () => Promise<boolean> | boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for: ${what}`);
}

const view = (node: EmbeddedHomeostat): Promise<ClusterView> => clusterView(node.url);

if (!env.available) describeSkipped('cluster mode through the runtime', env.reason);
else {
  const db = env.database();
  const stream = `capi${randomBytes(4).toString('hex')}`;
  const dirs: string[] = [];
  const nodes: EmbeddedHomeostat[] = [];
  const deposed: string[] = [];

  const start = async (nodeId: string): Promise<EmbeddedHomeostat> => {
    const dir = mkdtempSync(join(tmpdir(), `homeostat-capi-${nodeId}-`));
    dirs.push(dir);
    const config = loadConfig({
      overrides: {
        dataDir: dir,
        server: { port: 0 },
        log: { url: NATS_URL, nats: { name: stream }, partitions: 4, retention: { maxBytes: '16MiB' } },
        store: { url: db.url(), schema: 'capi' },
        cluster: { enabled: true, nodeId, leaseTtl: '2s', renewEvery: '500ms', refreshEvery: '200ms' },
      },
    });
    const node = await startEmbedded(config, {
      logger: pino({ level: process.env.CAPI_LOG ?? 'silent' }),
      onDeposed: () => deposed.push(nodeId),
    });
    nodes.push(node);
    return node;
  };

  afterAll(async () => {
    for (const node of nodes) await node.close().catch(() => undefined);
    await deleteStreams((s) => s === `HOMEOSTAT_${stream}` || s === `KV_HOMEOSTAT_${stream}_offsets`);
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  describe('cluster mode through the runtime', () => {
    let a: EmbeddedHomeostat;
    let b: EmbeddedHomeostat;
    let sink: Server;
    let sinkUrl: string;
    const received: string[] = [];

    it('shares the partitions between two nodes and elects one leader', async () => {
      a = await start('a');
      await eventually(async () => (await view(a)).isLeader, 'a leads');
      b = await start('b');
      await eventually(async () => {
        const [va, vb] = [await view(a), await view(b)];
        return va.partitions.owned.length === 2 && vb.partitions.owned.length === 2;
      }, 'two partitions each');
      const vb = await view(b);
      expect(vb.isLeader).toBe(false);
      expect(vb.leader).toMatchObject({ node: 'a', url: a.url });
      expect(vb.nodes.map((n) => n.node).sort()).toEqual(['a', 'b']);
      expect([...(await view(a)).partitions.owned, ...vb.partitions.owned].sort()).toEqual([0, 1, 2, 3]);
      expect(a.cluster?.nodeId).toBe('a');
      // The fence checked before every automated action: open on the leader only.
      expect(await a.cluster!.fence()).toBeUndefined();
      expect(await b.cluster!.fence()).toMatch(/node 'b' does not lead the cluster/);
    });

    it('redirects management requests on a follower to the leader, and serves ingest itself', async () => {
      sink = createServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on('data', (c: Buffer) => chunks.push(c));
        req.on('end', () => {
          received.push(String(req.headers['homeostat-event-id']));
          res.end('ok');
        });
      });
      await new Promise<void>((r) => sink.listen(0, '127.0.0.1', r));
      sinkUrl = `http://127.0.0.1:${(sink.address() as AddressInfo).port}/hook`;

      const rule = {
        apiVersion: 'homeostat/v1',
        kind: 'Rule',
        metadata: { name: 'to-sink' },
        spec: {
          match: { type: ['capi.ping', 'capi.probe'] },
          targets: [{ name: 'sink', action: 'http', with: { url: sinkUrl } }],
        },
      };
      const manual = await fetch(`${b.url}/v1/rules/to-sink`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(rule),
        redirect: 'manual',
      });
      expect(manual.status).toBe(307);
      expect(manual.headers.get('location')).toBe(`${a.url}/v1/rules/to-sink`);
      expect(await manual.json()).toMatchObject({ leader: 'a' });
      // The dashboard's page on a follower sends the browser to the leader's (it calls /v1 on its origin).
      const page = await fetch(`${b.url}/ui/`, { redirect: 'manual' });
      expect(page.status).toBe(307);
      expect(page.headers.get('location')).toBe(`${a.url}/ui/`);
      expect((await fetch(`${a.url}/ui/`, { redirect: 'manual' })).status).toBe(200);
      // A client that follows redirects (fetch, the CLI) lands on the leader.
      const followed = await fetch(`${b.url}/v1/rules/to-sink`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(rule),
      });
      expect(followed.status).toBeLessThan(300);

      const events = Array.from({ length: 40 }, (_, i) => ({
        specversion: '1.0',
        id: `capi-${i}`,
        source: '/capi',
        type: 'capi.ping',
        subject: `k${i % 8}`,
      }));
      // The rule reaches b's routers by the refresh (events routed before it are not matched):
      // probe every key through b until each one's probe is delivered.
      let probes = 0;
      await eventually(async () => {
        const batch = Array.from({ length: 8 }, (_, k) => ({
          specversion: '1.0',
          id: `probe-${probes++}`,
          source: '/capi',
          type: 'capi.probe',
          subject: `k${k}`,
        }));
        const res = await fetch(`${b.url}/v1/events`, {
          method: 'POST',
          headers: { 'content-type': 'application/cloudevents-batch+json' },
          body: JSON.stringify(batch),
        });
        expect(res.ok).toBe(true);
        await new Promise((r) => setTimeout(r, 100));
        return received.some((id) => id.startsWith('probe-'));
      }, 'a probe delivered');
      received.length = 0;
      const res = await fetch(`${b.url}/v1/events`, {
        method: 'POST',
        headers: { 'content-type': 'application/cloudevents-batch+json' },
        body: JSON.stringify(events),
      });
      expect(res.ok).toBe(true);
      await eventually(() => new Set(received.filter((id) => id.startsWith('capi-'))).size === 40, 'all 40 delivered');
      await new Promise((r) => setTimeout(r, 300));
      expect(received.filter((id) => id.startsWith('capi-')).length).toBe(40);
    });

    it('makes a schema registered through the leader check events ingested on a follower', async () => {
      const put = await fetch(`${a.url}/v1/schemas/capi.order`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ schema: { type: 'object', required: ['qty'] } }),
      });
      expect(put.status).toBeLessThan(300);
      const bad = {
        specversion: '1.0',
        id: 'capi-order-1',
        source: '/capi',
        type: 'capi.order',
        datacontenttype: 'application/json',
        data: {},
      };
      await eventually(async () => {
        const res = await fetch(`${b.url}/v1/events`, {
          method: 'POST',
          headers: { 'content-type': 'application/cloudevents+json' },
          body: JSON.stringify({ ...bad, id: `capi-order-${Math.random()}` }),
        });
        return res.status === 400 || res.status === 422;
      }, 'the follower refuses data its schema does not allow');
    });

    it('hands partitions and leadership over at once when a node stops', async () => {
      const before = (await view(b)).leader!.token;
      const stoppedAt = Date.now();
      await a.close();
      await eventually(async () => {
        const v = await view(b);
        return v.isLeader && v.partitions.owned.length === 4;
      }, 'b leads and routes every partition');
      const v = await view(b);
      expect(v.leader!.node).toBe('b');
      expect(v.leader!.token).toBeGreaterThan(before);
      console.log(`graceful handover took ${Date.now() - stoppedAt} ms (lease TTL 2000 ms)`);
      // Management requests are served by b now.
      expect((await fetch(`${b.url}/v1/rules`)).status).toBe(200);
      expect(deposed).toEqual([]);
      await new Promise<void>((r) => sink.close(() => r()));
    });
  });

  describe('cluster configuration', () => {
    it('needs the shared log and state, and a renewal shorter than the lease', () => {
      expect(() => loadConfig({ overrides: { cluster: { enabled: true } } })).toThrow(/log\.url[\s\S]*store\.url/);
      expect(() =>
        loadConfig({
          overrides: {
            log: { url: NATS_URL },
            store: { url: db.url() },
            cluster: { enabled: true, leaseTtl: '2s', renewEvery: '2s' },
          },
        }),
      ).toThrow(/renewEvery/);
      expect(() => loadConfig({ overrides: { cluster: { enabled: true, nodeId: 'has space' } } })).toThrow(/nodeId/);
      expect(() => loadConfig({ env: { HOMEOSTAT_CLUSTER: 'maybe' } })).toThrow(/HOMEOSTAT_CLUSTER/);
      const config = loadConfig({
        env: { HOMEOSTAT_CLUSTER: 'true', HOMEOSTAT_NODE_ID: 'n1', HOMEOSTAT_ADVERTISE_URL: 'http://10.0.0.5:8420/' },
        overrides: { log: { url: NATS_URL }, store: { url: db.url() } },
      });
      expect(config.cluster).toEqual({
        nodeId: 'n1',
        advertiseUrl: 'http://10.0.0.5:8420',
        leaseTtlMs: 3000,
        renewEveryMs: 1000,
        refreshEveryMs: 1000,
      });
      expect(loadConfig({}).cluster).toBeUndefined();
      // The stream's replicas (R3 on a NATS cluster); 1 by default.
      expect(loadConfig({}).log.nats.replicas).toBe(1);
      expect(loadConfig({ overrides: { log: { nats: { replicas: 3 } } } }).log.nats.replicas).toBe(3);
      expect(() => loadConfig({ overrides: { log: { nats: { replicas: 6 } } } })).toThrow(/replicas/);
    });
  });
}
