import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeDir, requireBuild, type RunningServer, runCli, startServer, tempDir } from './helpers.js';

let dir: string;
let server: RunningServer;
let file: string;

const STACK = `apiVersion: homeostat/v1
kind: Stack
metadata: { name: clishop }
spec:
  provider: local
  resources:
    - kind: InstanceGroup
      name: cliweb
      spec:
        template: { command: node, args: [examples/services/web.mjs], env: { WORK_MS: "1" }, port: 0 }
        desired: 2
        healthCheck: { path: /healthz, interval: 200ms, timeout: 150ms }
    - kind: LoadBalancer
      name: clilb
      spec: { listen: 127.0.0.1:0, targetGroup: cliweb, algorithm: round-robin }
`;

beforeAll(async () => {
  requireBuild();
  dir = await tempDir('stacks');
  file = join(dir, 'stack.yaml');
  await writeFile(file, STACK);
  server = await startServer(join(dir, 'data'));
});

afterAll(async () => {
  await runCli(['delete', 'stack', 'clishop', '--prune', '--url', server.url]);
  for (let i = 0; i < 100; i++) {
    const list = await runCli(['infra', 'list', '--kind', 'Instance', '--json', '--url', server.url]);
    const instances = JSON.parse(list.stdout || '[]') as { status: { phase: string } }[];
    if (instances.every((x) => x.status.phase === 'stopped' || x.status.phase === 'crashed')) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  await server?.stop();
  await removeDir(dir);
});

describe('homeostat plan / apply / infra with a Stack', () => {
  it('plans, applies with progress until converged, and a second apply changes nothing', async () => {
    const plan = await runCli(['plan', '-f', file, '--url', server.url]);
    expect(plan.code).toBe(0);
    expect(plan.stdout).toMatch(/\+ instancegroup\/cliweb/);
    expect(plan.stdout).toMatch(/2 to create, 0 to change, 0 to delete/);
    const apply = await runCli(['apply', '-f', file, '--url', server.url]);
    expect(apply.code).toBe(0);
    expect(apply.stdout).toMatch(/stack\/clishop created/);
    expect(apply.stdout).toMatch(/stack\/clishop converged/);
    expect(apply.stderr).toMatch(/cliweb: \d\/2 healthy/);
    const again = await runCli(['apply', '-f', file, '--url', server.url]);
    expect(again.stdout).toMatch(/stack\/clishop unchanged/);
    const get = await runCli(['get', 'stack', 'clishop', '--url', server.url]);
    expect(get.stdout).toMatch(/clishop .* true/);
  });

  it('changes a resource out of band with infra set and plan shows the difference', async () => {
    const set = await runCli([
      'infra',
      'set',
      'loadbalancer/clilb',
      'algorithm=least-connections',
      '--url',
      server.url,
    ]);
    expect(set.code).toBe(0);
    expect(set.stdout).toMatch(/changed out of band/);
    const plan = await runCli(['plan', '-f', file, '--url', server.url]);
    expect(plan.stdout).toMatch(/~ loadbalancer\/clilb/);
    const bad = await runCli(['infra', 'set', 'clilb', 'x=1', '--url', server.url]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/<kind>\/<name>/);
  });
});
