/** Policies through the real server: manifests applied at start, managed rules, validation, restart, delete. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../src/core/errors.js';
import { callApi } from '../infra/helpers.js';
import { startTestServer, type TestServer } from './harness.js';

const STACK = `apiVersion: homeostat/v1
kind: Stack
metadata: { name: simapi }
spec:
  provider: sim
  resources:
    - kind: InstanceGroup
      name: api
      spec:
        template: { command: api, args: [], port: 8080 }
        desired: 2
        min: 1
        max: 10
        instanceType: sim.small
`;

const POLICY = `apiVersion: homeostat/v1
kind: ScalingPolicy
metadata: { name: api }
spec:
  target: group/api
  metric: { field: data.rpsPerInstance, target: 100 }
  safety: { mode: dry-run }
`;

let dir: string;
let server: TestServer;
const sim = { providers: { sim: { enabled: true, seed: 3, speed: 50 } } };
const api = <T>(method: string, path: string, body?: unknown) => callApi<T>(server.url, method, path, body);

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'homeostat-policies-'));
  writeFileSync(join(dir, 'policy.yaml'), POLICY);
  writeFileSync(join(dir, 'stack.yaml'), STACK);
  // Listed policy first: the stack is still applied before it.
  server = await startTestServer(
    { ...sim, manifests: [join(dir, 'policy.yaml'), join(dir, 'stack.yaml')] },
    join(dir, 'data'),
  );
});

afterAll(async () => {
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('policies in the server', () => {
  it('applies the configured manifests at start: the stack, then the policy with its managed rule', async () => {
    const stacks = await api<{ stacks: { name: string }[] }>('GET', '/v1/stacks');
    expect(stacks.body.stacks.map((s) => s.name)).toEqual(['simapi']);
    const list = await api<{ policies: { ref: string; rules: string[] }[] }>('GET', '/v1/policies');
    expect(list.body.policies).toEqual([
      expect.objectContaining({ ref: 'ScalingPolicy/api', rules: ['scalingpolicy.api.metrics'] }),
    ]);
    const rules = await api<{ rules: { name: string; managedBy?: string }[] }>('GET', '/v1/rules');
    expect(rules.body.rules).toContainEqual(
      expect.objectContaining({ name: 'scalingpolicy.api.metrics', managedBy: 'ScalingPolicy/api' }),
    );
  });

  it('refuses to delete a managed rule, naming its policy', async () => {
    const res = await api<{ error: { code: string; message: string } }>(
      'DELETE',
      '/v1/rules/scalingpolicy.api.metrics',
    );
    expect(res.status).toBe(409);
    expect(res.body.error.message).toContain('ScalingPolicy/api');
  });

  it('rejects an invalid policy with 400 and pointers, and an unknown kind', async () => {
    const bad = await api<{ error: { code: string; problems: { pointer: string }[] } }>(
      'PUT',
      '/v1/policies/ScalingPolicy/broken',
      { apiVersion: 'homeostat/v1', kind: 'ScalingPolicy', metadata: { name: 'broken' }, spec: { target: 42 } },
    );
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe(ErrorCode.INVALID);
    expect(bad.body.error.problems.some((p) => p.pointer.startsWith('/spec/target'))).toBe(true);
    const unknown = await api<{ error: { problems: { pointer: string }[] } }>('PUT', '/v1/policies/Nope/x', {
      spec: {},
    });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.problems[0]?.pointer).toBe('/kind');
    expect((await api('GET', '/v1/policies/ScalingPolicy/broken')).status).toBe(404);
  });

  it('shows the running status, keeps policies across a restart, and deletes them with their rules', async () => {
    const status = await api<{ status: Record<string, unknown> }>('GET', '/v1/policies/scalingpolicy/api');
    expect(status.status).toBe(200);
    expect(status.body.status).toBeTypeOf('object');
    await server.stop();
    server = await startTestServer(sim, join(dir, 'data'));
    expect((await api('GET', '/v1/rules/scalingpolicy.api.metrics')).status).toBe(200);
    expect((await api('DELETE', '/v1/policies/ScalingPolicy/api')).status).toBe(204);
    expect((await api('GET', '/v1/rules/scalingpolicy.api.metrics')).status).toBe(404);
    expect((await api('DELETE', '/v1/policies/ScalingPolicy/api')).status).toBe(404);
  });

  it('refuses to start when a configured manifest is invalid, naming the file and the problem', async () => {
    const file = join(dir, 'broken.yaml');
    writeFileSync(file, POLICY.replace('target: group/api', 'target: 42'));
    const err = (await startTestServer({ ...sim, manifests: [file] }).catch((e: unknown) => e)) as Error & {
      code: string;
    };
    expect(err.code).toBe(ErrorCode.CONFIG_INVALID);
    expect(err.message).toContain('broken.yaml');
    expect(err.message).toContain('/spec/target');
  });
});
