/**
 * The /v1/actions routes and the `homeostat actions` command against a real API server
 * (createApiServer on a random port) over a real SQLite event log, with a real action gate.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createApiServer } from '../../src/api/server.js';
import { issueToken } from '../../src/auth/tokens.js';
import { buildProgram } from '../../src/cli/main.js';
import { systemClock } from '../../src/core/clock.js';
import { DEFAULT_SAFETY } from '../../src/core/safety/parse.js';
import { createActionGate, type ManagedActionGate } from '../../src/engine/automation/gate.js';
import type { ActionRequest } from '../../src/engine/automation/types.js';
import { createIngestor } from '../../src/ingest/ingest.js';
import { createSchemaRegistry } from '../../src/ingest/schema-registry.js';
import type { EventLog } from '../../src/ports/event-log.js';
import { createTestApprovals } from '../engine/memory-approvals.js';
import { call } from './dlq-harness.js';
import { openTestBackends, removeTestBackends, type TestBackends } from '../cluster/backends.js';

let dir: string;
let log: EventLog;
let backends: TestBackends;
let gate: ManagedActionGate;
let url: string;
let stop: () => Promise<void>;
let readToken: string;
let adminToken: string;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'homeostat-actions-api-'));
  backends = await openTestBackends(dir, systemClock);
  log = backends.log;
  const schemas = await createSchemaRegistry(backends.stores.schemas);
  const tokens = backends.stores.tokens;
  const ingestor = createIngestor({ log, schemas, limits: { maxEventBytes: 262_144, maxPendingEvents: 10_000 } });
  gate = createActionGate({
    clock: systemClock,
    logger: pino({ level: 'silent' }),
    approvals: createTestApprovals(() => Date.now()),
    publish: async (events) =>
      (await ingestor.ingest({ entries: events, batch: true, bodyBytes: Number.MAX_SAFE_INTEGER })).results,
  });
  const app = createApiServer({
    log,
    ingestor,
    schemas,
    tokens,
    clock: systemClock,
    logger: pino({ level: 'silent' }),
    authRequired: true,
    maxRequestBytes: 1_048_576,
    maxDepth: 64,
    notReady: () => [],
    actions: gate,
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  const read = issueToken('reader', ['read'], Date.now());
  await tokens.add(read.record);
  readToken = read.token;
  const admin = issueToken('admin', ['admin'], Date.now());
  await tokens.add(admin.record);
  adminToken = admin.token;
  stop = async () => {
    await app.close();
    await gate.close();
    await backends.close();
    await removeTestBackends(dir);
  };
});
afterEach(async () => stop());

const admin = () => ({ authorization: `Bearer ${adminToken}` });
const reader = () => ({ authorization: `Bearer ${readToken}` });
const ok = async () => ({});
const req = (over: Partial<ActionRequest> = {}): ActionRequest => ({
  policy: 'ScalingPolicy/web',
  action: 'scale',
  resource: 'instancegroup/web',
  params: {},
  reason: 'test',
  ...over,
});

/** Makes ScalingPolicy/web flap on instancegroup/web (frozen) and refuses one action by rate limit. */
async function history(): Promise<void> {
  gate.configure('ScalingPolicy/web', { ...DEFAULT_SAFETY, flap: { maxReversals: 1, withinMs: 600_000 } });
  gate.configure('Rule/heal', { ...DEFAULT_SAFETY, rateLimit: { max: 1, perMs: 600_000 } });
  for (const direction of ['up', 'down', 'up'] as const) await gate.submit(req({ direction }), ok);
  await gate.submit(req({ policy: 'Rule/heal', action: 'restart', resource: 'instance/web-1' }), ok);
  await gate.submit(req({ policy: 'Rule/heal', action: 'restart', resource: 'instance/web-2' }), ok);
}

/** Runs the CLI in this process and returns what it printed. */
async function cli(args: string[]): Promise<{ stdout: string; stderr: string }> {
  const written = { stdout: '', stderr: '' };
  const [outWrite, errWrite] = [process.stdout.write, process.stderr.write];
  process.stdout.write = ((s: string) => ((written.stdout += s), true)) as typeof process.stdout.write;
  process.stderr.write = ((s: string) => ((written.stderr += s), true)) as typeof process.stderr.write;
  try {
    await buildProgram().parseAsync(['node', 'homeostat', ...args, '--url', url, '--token', adminToken]);
  } finally {
    process.stdout.write = outWrite;
    process.stderr.write = errWrite;
  }
  return written;
}

describe('/v1/actions', () => {
  it('lists recent actions newest first, filtered by policy, resource and outcome', async () => {
    await history();
    const all = await call(url, 'GET', '/v1/actions', undefined, reader());
    expect(all.status).toBe(200);
    expect(all.body.actions.map((a: any) => a.outcome)).toEqual([
      'refused',
      'executed',
      'refused',
      'executed',
      'executed',
    ]);
    expect(all.body.actions[0].at).toMatch(/^\d{4}-\d\d-\d\dT/);
    const refused = await call(url, 'GET', '/v1/actions?outcome=refused&policy=Rule/heal', undefined, reader());
    expect(refused.body.actions).toHaveLength(1);
    expect(refused.body.actions[0]).toMatchObject({ rail: 'rate-limit', resource: 'instance/web-2' });
    expect(refused.body.actions[0].why).toContain('rate limit: Rule/heal ran 1 action in the last 10m');
    const one = await call(url, 'GET', '/v1/actions?resource=instancegroup/web&limit=1', undefined, reader());
    expect(one.body.actions).toHaveLength(1);
    const bad = await call(url, 'GET', '/v1/actions?outcome=maybe', undefined, reader());
    expect(bad.status).toBe(400);
    expect(bad.body.error.problems[0].pointer).toBe('?outcome');
  });

  it('lists freezes and lifts one, recording who did it on the log', async () => {
    await history();
    const frozen = await call(url, 'GET', '/v1/actions/frozen', undefined, reader());
    expect(frozen.body.frozen).toEqual([
      {
        policy: 'ScalingPolicy/web',
        resource: 'instancegroup/web',
        since: expect.any(String),
        why: expect.stringMatching(/^flap: /),
      },
    ]);
    const forbidden = await call(url, 'POST', '/v1/actions/unfreeze', { policy: 'x', resource: 'y' }, reader());
    expect(forbidden.status).toBe(403);
    const invalid = await call(url, 'POST', '/v1/actions/unfreeze', { policy: '', extra: 1 }, admin());
    expect(invalid.status).toBe(400);
    expect(invalid.body.error.problems.map((p: any) => p.pointer)).toEqual(['/policy', '/resource', '/extra']);
    const missing = await call(
      url,
      'POST',
      '/v1/actions/unfreeze',
      { policy: 'ScalingPolicy/web', resource: 'instance/x' },
      admin(),
    );
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe('E_NOT_FOUND');
    const lifted = await call(
      url,
      'POST',
      '/v1/actions/unfreeze',
      { policy: 'ScalingPolicy/web', resource: 'instancegroup/web', by: 'alice' },
      admin(),
    );
    expect(lifted.status).toBe(200);
    expect(lifted.body.unfrozen).toMatchObject({ action: 'unfreeze', reason: 'unfrozen by alice' });
    expect((await call(url, 'GET', '/v1/actions/frozen', undefined, reader())).body.frozen).toEqual([]);
    const [record] = await log.query({ types: ['homeostat.action.unfrozen'] });
    expect(record?.event).toMatchObject({ id: lifted.body.unfrozen.id, subject: 'instancegroup/web' });
  });
});

describe('homeostat actions', () => {
  it('prints a table of actions, and only refused ones with --outcome refused', async () => {
    await history();
    const all = await cli(['actions']);
    const lines = all.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^TIME\s+POLICY\s+ACTION\s+RESOURCE\s+OUTCOME\s+WHY$/);
    expect(lines).toHaveLength(6);
    const refused = await cli(['actions', '--outcome', 'refused']);
    const rows = refused.stdout.trim().split('\n').slice(1);
    expect(rows).toHaveLength(2);
    expect(rows[0]).toMatch(/Rule\/heal\s+restart\s+instance\/web-2\s+refused\s+rate limit: Rule\/heal ran 1 action/);
    expect(rows[1]).toMatch(/ScalingPolicy\/web\s+scale\s+instancegroup\/web\s+refused\s+flap: /);
  });

  it('shows freezes and unfreezes one', async () => {
    await history();
    expect((await cli(['actions', 'frozen'])).stdout).toMatch(/ScalingPolicy\/web\s+instancegroup\/web\s+flap:/);
    const out = await cli(['actions', 'unfreeze', '--policy', 'ScalingPolicy/web', '--resource', 'instancegroup/web']);
    expect(out.stdout).toMatch(/^unfrozen: ScalingPolicy\/web may act on instancegroup\/web again \(act-/);
    expect((await cli(['actions', 'frozen'])).stderr).toContain('nothing is frozen');
    expect(gate.recent({ limit: 1 })[0]).toMatchObject({ action: 'unfreeze', reason: 'unfrozen by cli' });
  });
});
