import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerCostRoutes } from '../../src/api/cost-routes.js';
import { sendError, toHomeostatError } from '../../src/api/errors.js';
import { type Bench, createBench, H } from './harness.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

let bench: Bench;
let app: FastifyInstance;
let url: string;

beforeAll(async () => {
  bench = await createBench();
  await bench.finops.start();
  app = Fastify();
  app.setErrorHandler((err, req, reply) => sendError(reply, toHomeostatError(err, req, 1_000_000)));
  registerCostRoutes(app, { report: (q) => bench.finops.report(q) }, bench.clock);
  url = await app.listen({ host: '127.0.0.1', port: 0 });
  await bench.infra.addGroup({ name: 'web', stack: 'shop', desired: 2, tags: { team: 'web' } });
  await bench.infra.addGroup({ name: 'batch', desired: 1, instanceType: 'sim.large' });
  await bench.finops.sync();
  bench.clock.advance(2 * H);
});

afterAll(async () => {
  await app.close();
  await bench.close();
});

/** Runs the CLI from source (tsx), as `homeostat <args>`. */
function cli(args: readonly string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const script =
    "const { main } = await import('./src/cli/main.ts'); await main(['node', 'homeostat', ...process.argv.slice(1)]);";
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script, ...args], {
    cwd: ROOT,
    stdio: 'pipe',
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

describe('GET /v1/cost', () => {
  it('rolls cost up by the dimension asked for over the window asked for', async () => {
    const res = await fetch(`${url}/v1/cost?by=stack&since=${bench.clock.now() - H}`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as {
      rows: { key: string; cost: number; ratePerHour: number }[];
      window: { cost: number };
    };
    expect(body.rows.map((r) => [r.key, r.ratePerHour])).toEqual([
      ['(none)', 0.084],
      ['shop', 0.042],
    ]);
    expect(body.window.cost).toBeCloseTo(0.126, 9);
  });

  it('answers 400 naming the parameter for an unknown dimension', async () => {
    const res = await fetch(`${url}/v1/cost?by=region`);
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: { code: 'E_INVALID', problems: [{ pointer: '?by' }] } });
  });
});

describe('homeostat cost', () => {
  it('prints the rate, the rollup and recent changes with their causes', async () => {
    const r = await cli(['cost', '--url', url, '--by', 'group']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/rate now +\$0\.1260\/h \(3 instances running\)/);
    expect(r.stdout).toMatch(/^batch +1 +\$0\.0840\/h/m);
    expect(r.stdout).toMatch(
      /instance web-2 started \+\$0\.0210\/h ← reconcile web: start-instance \(scale out to desired\)$/m,
    );
  });

  it('prints the report as JSON with -o json', async () => {
    const r = await cli(['cost', '--url', url, '-o', 'json', '--by', 'tag', '--tag', 'team']);
    expect(r.code).toBe(0);
    const body = JSON.parse(r.stdout) as { by: string; rows: { key: string }[] };
    expect(body.by).toBe('tag');
    expect(body.rows.map((x) => x.key).sort()).toEqual(['(none)', 'web']);
  });
});
