/**
 * @module The workflow, run and approval HTTP routes, and the CLI commands over them, against a
 * real API server (Fastify on a random port) backed by SQLite files. The CLI runs from source
 * (test/workflow/cli-entry.ts under tsx) as a child process.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiServer } from '../../src/api/server.js';
import { systemClock } from '../../src/core/clock.js';
import { createIngestor } from '../../src/ingest/ingest.js';
import { createSchemaRegistry } from '../../src/ingest/schema-registry.js';
import { type Harness, startHarness, until, workflow } from './harness.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CLI = fileURLToPath(new URL('./cli-entry.ts', import.meta.url));

let h: Harness;
let app: FastifyInstance;
let url: string;

beforeAll(async () => {
  h = await startHarness();
  const schemas = await createSchemaRegistry(h.stores.schemas);
  app = createApiServer({
    log: h.log,
    ingestor: createIngestor({ log: h.log, schemas, limits: { maxEventBytes: 1_000_000, maxPendingEvents: 10_000 } }),
    schemas,
    tokens: h.stores.tokens,
    clock: systemClock,
    logger: pino({ level: 'silent' }),
    authRequired: false,
    maxRequestBytes: 1_000_000,
    maxDepth: 32,
    notReady: () => [],
    workflows: h.service,
    approvals: h.approvals,
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
});

afterAll(async () => {
  await app?.close();
  await h?.close();
});

async function api(method: string, path: string, body?: unknown, contentType = 'application/json') {
  const res = await fetch(`${url}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': contentType },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

function cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CLI, ...args, '--url', url], {
      cwd: ROOT,
      stdio: 'pipe',
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const GATED = `apiVersion: homeostat/v1
kind: Workflow
metadata: { name: gated }
spec:
  steps:
    - name: prep
      action: test
      with: { value: "\${ input.instance }" }
    - name: gate
      approval: { summary: "Replace \${ input.instance }?" }
    - { name: done, action: test }
`;

describe('workflow routes', () => {
  it('applies a YAML workflow (created, then unchanged), lists, gets and deletes it', async () => {
    const put = await api('PUT', '/v1/workflows/gated', GATED, 'application/yaml');
    expect(put.status).toBe(201);
    expect(put.body).toMatchObject({ result: 'created', name: 'gated', steps: 3, generation: 1 });
    expect((await api('PUT', '/v1/workflows/gated', GATED, 'application/yaml')).body.result).toBe('unchanged');
    expect((await api('GET', '/v1/workflows')).body.workflows.map((w: any) => w.name)).toContain('gated');
    expect((await api('GET', '/v1/workflows/gated')).body.manifest.kind).toBe('Workflow');
    await api('PUT', '/v1/workflows/temp', workflow('temp', [{ action: 'test' }]));
    expect((await api('DELETE', '/v1/workflows/temp')).status).toBe(204);
    expect((await api('GET', '/v1/workflows/temp')).status).toBe(404);
  });

  it('rejects an invalid workflow with every problem and its pointer', async () => {
    const res = await api(
      'PUT',
      '/v1/workflows/bad',
      workflow('bad', [
        { name: 'x', action: 'nope' },
        { name: 'y', wait: 'soon' },
      ]),
    );
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('E_INVALID');
    expect(res.body.error.problems.map((p: any) => p.pointer)).toEqual(['/spec/steps/0/action', '/spec/steps/1/wait']);
    expect(res.body.error.problems[0].message).toMatch(/known actions: .*test/);
    const other = await api('PUT', '/v1/workflows/one', workflow('two', [{ action: 'test' }]));
    expect(other.body.error.problems[0].pointer).toBe('/metadata/name');
  });

  it('starts a run, shows its steps, lists it, and answers 404 for unknown ones', async () => {
    await api(
      'PUT',
      '/v1/workflows/quick',
      workflow('quick', [{ name: 'a', action: 'test', with: { value: '${ input.x }' } }]),
    );
    const started = await api('POST', '/v1/workflows/quick/runs', { input: { x: 5 }, runId: 'run-api-quick' });
    expect(started.status).toBe(201);
    expect(started.body).toMatchObject({ result: 'started', id: 'run-api-quick', workflow: 'quick' });
    expect((await api('POST', '/v1/workflows/quick/runs', { runId: 'run-api-quick' })).body.result).toBe('exists');
    await h.service.settled('run-api-quick');
    const run = await api('GET', '/v1/runs/run-api-quick');
    expect(run.body).toMatchObject({
      status: 'succeeded',
      input: { x: 5 },
      steps: [{ path: 'a', status: 'succeeded', output: { value: 5 } }],
    });
    expect(run.body.steps[0].durationMs).toBeGreaterThanOrEqual(0);
    const list = await api('GET', '/v1/runs?workflow=quick&status=succeeded');
    expect(list.body.runs.map((r: any) => r.id)).toEqual(['run-api-quick']);
    expect((await api('GET', '/v1/runs?status=bogus')).status).toBe(400);
    expect((await api('GET', '/v1/runs/run-nope')).status).toBe(404);
    expect((await api('POST', '/v1/workflows/none/runs', {})).status).toBe(404);
    expect((await api('POST', '/v1/workflows/quick/runs', { inputs: {} })).body.error.problems[0].pointer).toBe(
      '/inputs',
    );
  });

  it('approves through the API; a second decision is a conflict', async () => {
    const started = await api('POST', '/v1/workflows/gated/runs', { input: { instance: 'web-1' } });
    const id = started.body.id;
    const pending = await until(
      async () => (await api('GET', '/v1/approvals?status=pending')).body.approvals[0],
      'the approval',
    );
    expect(pending).toMatchObject({
      kind: 'workflow',
      ref: `${id}/gate`,
      summary: 'Replace web-1?',
      status: 'pending',
    });
    expect((await api('GET', `/v1/approvals/${pending.id}`)).body.id).toBe(pending.id);
    const approved = await api('POST', `/v1/approvals/${pending.id}/approve`, { by: 'erin', comment: 'go' });
    expect(approved.body).toMatchObject({ status: 'approved', decidedBy: 'erin', comment: 'go' });
    expect((await api('POST', `/v1/approvals/${pending.id}/reject`, {})).status).toBe(409);
    expect((await api('POST', '/v1/approvals/apr-00000/approve', {})).status).toBe(404);
    await h.service.settled(id);
    expect((await api('GET', `/v1/runs/${id}`)).body.status).toBe('succeeded');
  });

  it('cancels a running run', async () => {
    const started = await api('POST', '/v1/workflows/gated/runs', { input: { instance: 'web-2' } });
    await until(
      async () => (await api('GET', '/v1/approvals?status=pending')).body.approvals.length === 1,
      'the approval',
    );
    const cancelled = await api('POST', `/v1/runs/${started.body.id}/cancel`);
    expect(cancelled.body.status).toBe('cancelled');
    expect((await api('POST', `/v1/runs/${started.body.id}/cancel`)).status).toBe(409);
  });
});

describe('workflow CLI', () => {
  it('starts a run, lists runs, shows the pending approval, approves it and shows the run', async () => {
    const start = await cli(['workflow', 'start', 'gated', '--input', '{"instance":"web-7"}', '--run-id', 'run-cli-1']);
    expect(start.code).toBe(0);
    expect(start.stdout).toMatch(/^run run-cli-1 started/);
    const approvals = await until(async () => {
      const r = await cli(['approvals']);
      return r.stdout.includes('Replace web-7?') ? r : undefined;
    }, 'the approval in the CLI');
    const id = /apr-[a-z0-9]{5}/.exec(approvals.stdout)?.[0];
    expect(approvals.stdout).toMatch(/^ID\s+KIND\s+STATUS/);
    const approve = await cli(['approve', id!, '--comment', 'fine', '--by', 'frank']);
    expect(approve.code).toBe(0);
    expect(approve.stdout).toBe(`approval ${id} approved by frank: Replace web-7?\n`);
    await h.service.settled('run-cli-1');
    const run = await cli(['run', 'run-cli-1']);
    expect(run.stdout).toMatch(/^run run-cli-1 {2}workflow gated {2}succeeded/);
    expect(run.stdout).toMatch(/STEP\s+KIND\s+STATUS\s+ATTEMPTS\s+STARTED\s+DURATION/);
    expect(run.stdout).toMatch(/\ngate\s+approval\s+succeeded\s+0\s+/);
    const runs = await cli(['runs', '--workflow', 'gated', '--json']);
    expect(JSON.parse(runs.stdout).map((r: any) => r.id)).toContain('run-cli-1');
    const again = await cli(['approve', id!, '--reject']);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/already approved/);
  });

  it('rejects with --reject and waits for the end with --wait (exit 1 on failure)', async () => {
    const started = cli(['workflow', 'start', 'gated', '--input', '{"instance":"web-8"}', '--wait']);
    const pending = await until(async () => {
      const list = await h.approvals.list({ status: 'pending' });
      return list.find((a) => a.summary === 'Replace web-8?');
    }, 'the approval');
    const reject = await cli(['approve', pending.id, '--reject', '--comment', 'no']);
    expect(reject.stdout).toMatch(/rejected/);
    const done = await started;
    expect(done.code).toBe(1);
    expect(done.stdout).toMatch(/failed/);
    expect(done.stdout).toMatch(/E_APPROVAL_REJECTED at step gate/);
  });

  it('reports bad input as a usage error', async () => {
    const r = await cli(['workflow', 'start', 'gated', '--input', '{nope']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--input: not valid JSON/);
  });
});
