/**
 * Scenario 5 as a test: instances that die on start (`EXIT_ON_START` in the template) under a
 * HealingPolicy. The crash-loop guard holds the group, the incident goes critical and its webhook
 * arrives, no instance is launched while held, and resolving the incident releases the hold.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../api/harness.js';
import { callApi, until } from '../infra/helpers.js';

const WEB = fileURLToPath(new URL('../../examples/services/web.mjs', import.meta.url));

type Event = { id: string; type: string; subject?: string; causationid?: string; data: Record<string, any> };

let server: TestServer;
let hookServer: Server;
let hookUrl: string;
const hooks: { type: string; incident: Record<string, any> }[] = [];
const api = <T>(method: string, path: string, body?: unknown) => callApi<T>(server.url, method, path, body);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const stack = {
  apiVersion: 'homeostat/v1',
  kind: 'Stack',
  metadata: { name: 'loop' },
  spec: {
    provider: 'local',
    resources: [
      {
        kind: 'InstanceGroup',
        name: 'web',
        spec: {
          template: { command: process.execPath, args: [WEB], env: { EXIT_ON_START: '1' }, port: 0 },
          desired: 2,
          healthCheck: { path: '/healthz', interval: '200ms', timeout: '150ms' },
        },
      },
    ],
  },
};

const policy = () => ({
  apiVersion: 'homeostat/v1',
  kind: 'HealingPolicy',
  metadata: { name: 'web' },
  spec: {
    target: 'group/web',
    crashLoop: { crashes: 3, within: '1m' },
    notify: { url: hookUrl },
    safety: { blastRadius: { maxPercent: 100, per: '10m' } },
  },
});

async function events(): Promise<Event[]> {
  const { body } = await api<{ events: { event: Event }[] }>('GET', '/v1/events?limit=1000');
  return body.events.map((w) => w.event);
}

/** Distinct instances of the group that were launched (started, or crashed while starting). */
async function launched(): Promise<Set<string>> {
  const all = await events();
  return new Set(
    all
      .filter((e) => ['infra.instance.started', 'infra.instance.crashed'].includes(e.type) && e.data.group === 'web')
      .map((e) => e.subject!),
  );
}

beforeAll(async () => {
  hookServer = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      hooks.push(JSON.parse(body) as (typeof hooks)[number]);
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => hookServer.listen(0, '127.0.0.1', r));
  hookUrl = `http://127.0.0.1:${(hookServer.address() as AddressInfo).port}/hooks`;
  server = await startTestServer({}, undefined, { stopInfraOnClose: true });
});

afterAll(async () => {
  await server?.stop();
  hookServer?.closeAllConnections();
  await new Promise((r) => hookServer?.close(r));
});

describe('a crash loop under a HealingPolicy', () => {
  it('holds the group, raises a critical incident with a webhook, launches nothing more, and releases on resolve', async () => {
    expect((await api('PUT', '/v1/policies/HealingPolicy/web', policy())).status).toBe(201);
    expect((await api('PUT', '/v1/stacks/loop', stack)).status).toBe(201);

    const hold = await until(
      async () => (await events()).find((e) => e.type.startsWith('homeostat.action.') && e.data.action === 'hold'),
      'the hold action',
    );
    expect(hold.type).toBe('homeostat.action.executed');
    expect(hold.data).toMatchObject({ policy: 'HealingPolicy/web', resource: 'instancegroup/web' });
    expect((await events()).filter((e) => e.type === 'infra.instance.crashed').length).toBeGreaterThanOrEqual(3);

    const escalated = await until(
      async () => (await events()).find((e) => e.type === 'homeostat.incident.escalated'),
      'the incident escalated',
    );
    expect(escalated.causationid).toBe(hold.id);
    const id = escalated.subject!.replace('incident/', '');
    const { body: incident } = await api<Record<string, any>>('GET', `/v1/incidents/${id}`);
    expect(incident).toMatchObject({ severity: 'critical', status: 'open', details: { held: true } });
    const hook = await until(
      async () => hooks.find((h) => h.type === 'homeostat.incident.escalated'),
      'the escalation webhook',
    );
    expect(hook.incident).toMatchObject({ id, severity: 'critical' });

    // Launches in flight at the hold land within a moment; after that, nothing new for a few seconds.
    await sleep(1_000);
    const atHold = await launched();
    await sleep(3_000);
    expect(await launched()).toEqual(atHold);
    const { body: open } = await api<{ incidents: { id: string }[] }>('GET', '/v1/incidents?status=open');
    expect(open.incidents.map((i) => i.id)).toEqual([id]);

    // A person resolves it: the hold is released and the reconciler launches instances again.
    const resolved = await api<Record<string, any>>('POST', `/v1/incidents/${id}/resolve`, { comment: 'fixed' });
    expect(resolved.status).toBe(200);
    const release = await until(
      async () => (await events()).find((e) => e.type.startsWith('homeostat.action.') && e.data.action === 'release'),
      'the release action',
    );
    expect(release.type).toBe('homeostat.action.executed');
    await until(async () => (await launched()).size > atHold.size, 'an instance launched after the release');
    expect((await api('DELETE', '/v1/stacks/loop?prune=true')).status).toBeLessThan(300);
  });
});
