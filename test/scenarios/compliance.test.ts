/**
 * Scenario 3 through the real embedded server (local provider, real processes): an out-of-band
 * change opens SSH to the world; the no-open-ssh CompliancePolicy opens a violation, reverts the
 * rule with the change as the action's cause, and resolves the violation. Alert-only leaves it open.
 */
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../api/harness.js';
import { callApi, until } from '../infra/helpers.js';

const WEB = fileURLToPath(new URL('../../examples/services/web.mjs', import.meta.url));
const VIOLATION =
  "has(resource.spec.port) && resource.spec.port in [22, 3389] && resource.spec.allow.exists(c, c in ['0.0.0.0/0', '::/0'])";

let server: TestServer;
const api = <T>(method: string, path: string, body?: unknown) => callApi<T>(server.url, method, path, body);

interface Ev {
  offset: number;
  event: { id: string; type: string; subject?: string; causationid?: string; data: Record<string, any> };
}

const stack = (name: string) => ({
  apiVersion: 'homeostat/v1',
  kind: 'Stack',
  metadata: { name },
  spec: {
    drift: 'alert',
    resources: [
      {
        kind: 'InstanceGroup',
        name: `${name}-web`,
        spec: { template: { command: process.execPath, args: [WEB], port: 0 }, desired: 1 },
      },
      { kind: 'LoadBalancer', name: `${name}-lb`, spec: { listen: '127.0.0.1:0', targetGroup: `${name}-web` } },
      { kind: 'SecurityRule', name: `${name}-rule`, spec: { loadBalancer: `${name}-lb`, allow: ['127.0.0.0/8'] } },
    ],
  },
});

const policy = (name: string, remedy: string, names: string[]) => ({
  apiVersion: 'homeostat/v1',
  kind: 'CompliancePolicy',
  metadata: { name },
  spec: { resources: { kind: 'SecurityRule', names }, violation: VIOLATION, remedy },
});

async function events(after: number): Promise<Ev[]> {
  const types =
    'infra.resource.changed,compliance.violation.opened,compliance.violation.resolved,homeostat.action.executed';
  return (await api<{ events: Ev[] }>('GET', `/v1/events?type=${types}&after=${after}&limit=1000`)).body.events;
}

async function ruleSpec(name: string): Promise<Record<string, unknown> | undefined> {
  const { body } = await api<{ resources: { name: string; spec: Record<string, unknown> }[] }>(
    'GET',
    '/v1/resources?kind=SecurityRule',
  );
  return body.resources.find((r) => r.name === name)?.spec;
}

async function report(name: string): Promise<{ open: any[]; closed: any[] }> {
  return (await api<{ policies: { open: any[]; closed: any[] }[] }>('GET', `/v1/compliance?policy=${name}`)).body
    .policies[0]!;
}

async function lastOffset(): Promise<number> {
  return (await events(0)).at(-1)?.offset ?? 0;
}

beforeAll(async () => {
  server = await startTestServer({}, undefined, { stopInfraOnClose: true });
  for (const name of ['rev', 'alr']) await api('PUT', `/v1/stacks/${name}`, stack(name));
  await until(async () => {
    const a = await api<{ converged: boolean }>('GET', '/v1/stacks/rev/status');
    const b = await api<{ converged: boolean }>('GET', '/v1/stacks/alr/status');
    return a.body.converged && b.body.converged;
  }, 'both stacks converged');
}, 30_000);

afterAll(async () => {
  for (const name of ['rev', 'alr']) await api('DELETE', `/v1/stacks/${name}?prune=true`);
  await server.stop();
});

describe('scenario 3: someone opens port 22 to the world', () => {
  it('opens a violation, reverts the rule with the change as cause, and resolves it', async () => {
    expect(
      (await api('PUT', '/v1/policies/CompliancePolicy/ssh-revert', policy('ssh-revert', 'revert', ['rev-rule'])))
        .status,
    ).toBe(201);
    const mark = await lastOffset();
    expect((await api('PATCH', '/v1/resources/securityrule/rev-rule', { allow: ['0.0.0.0/0'], port: 22 })).status).toBe(
      202,
    );
    const closed = await until(async () => (await report('ssh-revert')).closed[0], 'the violation closed');
    expect(closed.resolution).toBe('compliant');
    expect(typeof closed.timeToRemediateMs).toBe('number');

    const log = (await events(mark)).map((r) => r.event);
    const change = log.find(
      (e) => e.type === 'infra.resource.changed' && e.subject === 'securityrule/rev-rule' && !e.causationid,
    )!;
    expect(change.data.after).toMatchObject({ allow: ['0.0.0.0/0'], port: 22 });
    const opened = log.find((e) => e.type === 'compliance.violation.opened')!;
    expect(opened.causationid).toBe(change.id);
    const action = log.find((e) => e.type === 'homeostat.action.executed' && e.causationid === change.id)!;
    expect(action.data.policy).toBe('CompliancePolicy/ssh-revert');
    const revert = log.find((e) => e.type === 'infra.resource.changed' && e.causationid === action.id)!;
    expect(revert.data.after).toEqual({ loadBalancer: 'rev-lb', allow: ['127.0.0.0/8'] });
    const resolved = log.find((e) => e.type === 'compliance.violation.resolved')!;
    expect(resolved.data.violation).toBe(opened.data.violation);
    expect(resolved.causationid).toBe(action.id);
    expect(typeof resolved.data.timeToRemediateMs).toBe('number');
    expect(await ruleSpec('rev-rule')).toEqual({ loadBalancer: 'rev-lb', allow: ['127.0.0.0/8'] });
    expect((await report('ssh-revert')).open).toEqual([]);
  });

  it('with remedy alert, leaves the rule open and the violation open', async () => {
    await api('PUT', '/v1/policies/CompliancePolicy/ssh-alert', policy('ssh-alert', 'alert', ['alr-rule']));
    const mark = await lastOffset();
    await api('PATCH', '/v1/resources/securityrule/alr-rule', { allow: ['0.0.0.0/0'], port: 3389 });
    const open = await until(async () => (await report('ssh-alert')).open[0], 'the violation opened');
    expect(open.resource).toBe('securityrule/alr-rule');
    await new Promise((r) => setTimeout(r, 500));
    expect(await ruleSpec('alr-rule')).toMatchObject({ allow: ['0.0.0.0/0'], port: 3389 });
    const log = (await events(mark)).map((r) => r.event);
    expect(log.filter((e) => e.type === 'homeostat.action.executed' && e.subject === 'securityrule/alr-rule')).toEqual(
      [],
    );
    expect((await report('ssh-alert')).closed).toEqual([]);
  });
});
