/**
 * GET /v1/compliance and `homeostat compliance` against a real API server (random port) over a real
 * SQLite event log, with the real action gate and approvals; resources live in an in-memory
 * InfraControl standing in for a provider.
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
import type { CloudEvent } from '../../src/core/event.js';
import type { Resource } from '../../src/core/infra/types.js';
import { createActionGate, type ManagedActionGate } from '../../src/engine/automation/gate.js';
import type { InfraControl } from '../../src/engine/automation/types.js';
import { type Compliance, createCompliance } from '../../src/engine/policies/compliance.js';
import type { PolicyInstance } from '../../src/engine/policies/types.js';
import { createIngestor } from '../../src/ingest/ingest.js';
import { createSchemaRegistry } from '../../src/ingest/schema-registry.js';
import type { EventLog } from '../../src/ports/event-log.js';
import { createTestApprovals, type TestApprovals } from '../engine/memory-approvals.js';
import { call } from './dlq-harness.js';
import { openTestBackends, removeTestBackends, type TestBackends } from '../cluster/backends.js';

const SSH =
  "has(resource.spec.port) && resource.spec.port in [22, 3389] && resource.spec.allow.exists(c, c in ['0.0.0.0/0', '::/0'])";

const rule = (allow: string[]): Resource => ({
  kind: 'SecurityRule',
  name: 'web-lb-ssh',
  spec: { loadBalancer: 'web-lb', allow, port: 22 },
  tags: {},
  pricePerHour: 0,
  provider: 'local',
});

let dir: string;
let log: EventLog;
let backends: TestBackends;
let gate: ManagedActionGate;
let approvals: TestApprovals;
let compliance: Compliance;
let url: string;
let token: string;
let resources: Resource[];
let publish: (events: readonly CloudEvent[]) => Promise<unknown>;
let stop: () => Promise<void>;

/** Resources in memory; `revert` puts back the declared (private-only) rule. */
const infra = {
  resources: async () => resources.map((r) => structuredClone(r)),
  async revert(kind: string, name: string) {
    resources = resources.map((r) => (r.kind === kind && r.name === name ? rule(['10.0.0.0/8']) : r));
    return true;
  },
} as unknown as InfraControl;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'homeostat-compliance-api-'));
  backends = await openTestBackends(dir, systemClock);
  log = backends.log;
  const schemas = await createSchemaRegistry(backends.stores.schemas);
  const tokens = backends.stores.tokens;
  const ingestor = createIngestor({ log, schemas, limits: { maxEventBytes: 262_144, maxPendingEvents: 10_000 } });
  publish = async (events) =>
    (await ingestor.ingest({ entries: events, batch: true, bodyBytes: Number.MAX_SAFE_INTEGER })).results;
  approvals = createTestApprovals(() => Date.now());
  gate = createActionGate({ clock: systemClock, logger: pino({ level: 'silent' }), approvals, publish });
  compliance = createCompliance({
    clock: systemClock,
    timers: { setInterval: () => 0, clearInterval: () => undefined },
  });
  resources = [rule(['10.0.0.0/8'])];
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
    compliance,
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  const read = issueToken('reader', ['read'], Date.now());
  await tokens.add(read.record);
  token = read.token;
  stop = async () => {
    await compliance.close();
    await app.close();
    await gate.close();
    await backends.close();
    await removeTestBackends(dir);
  };
});
afterEach(async () => stop());

async function start(spec: Record<string, unknown>): Promise<PolicyInstance> {
  const parsed = compliance.kind.parse({
    apiVersion: 'homeostat/v1',
    kind: 'CompliancePolicy',
    metadata: { name: 'no-open-ssh' },
    spec: { resources: { kind: 'SecurityRule' }, violation: SSH, ...spec },
  });
  gate.configure('CompliancePolicy/no-open-ssh', parsed.safety);
  const instance = await compliance.kind.start(parsed, {
    clock: systemClock,
    logger: pino({ level: 'silent' }),
    infra,
    gate,
    publish,
    notify: async () => undefined,
  });
  await compliance.settled();
  return instance;
}

let seq = 0;
/** An out-of-band change: the rule now admits the world; returns the change event (on the log). */
async function openToTheWorld(instance: PolicyInstance, causationid?: string): Promise<CloudEvent> {
  const event: CloudEvent = {
    specversion: '1.0',
    id: `chg-${++seq}`,
    source: 'homeostat/provider/local',
    type: 'infra.resource.changed',
    subject: 'securityrule/web-lb-ssh',
    time: new Date().toISOString(),
    ...(causationid === undefined ? {} : { causationid }),
    data: { kind: 'SecurityRule', name: 'web-lb-ssh' },
  };
  await publish([event]);
  await instance.onEvent('change', event);
  return event;
}

const reader = () => ({ authorization: `Bearer ${token}` });

async function cli(args: string[]): Promise<string> {
  let stdout = '';
  const write = process.stdout.write;
  process.stdout.write = ((s: string) => ((stdout += s), true)) as typeof process.stdout.write;
  try {
    await buildProgram().parseAsync(['node', 'homeostat', ...args, '--url', url, '--token', token]);
  } finally {
    process.stdout.write = write;
  }
  return stdout;
}

describe('/v1/compliance', () => {
  it('reports a remediated violation, and the log holds the chain trigger → action → resolution', async () => {
    const instance = await start({ remedy: 'revert' });
    resources = [rule(['0.0.0.0/0'])];
    const trigger = await openToTheWorld(instance);

    const res = await call(url, 'GET', '/v1/compliance', undefined, reader());
    expect(res.status).toBe(200);
    expect(res.body.totals).toMatchObject({ policies: 1, evaluated: 1, compliant: 1, violating: 0, open: 0 });
    const [p] = res.body.policies;
    expect(p).toMatchObject({ policy: 'CompliancePolicy/no-open-ssh', remedy: 'revert', mode: 'enforce', open: [] });
    expect(p.closed).toHaveLength(1);
    expect(p.closed[0]).toMatchObject({
      resource: 'securityrule/web-lb-ssh',
      resolution: 'compliant',
      trigger: trigger.id,
    });
    expect(p.closed[0].timeToRemediateMs).toBeGreaterThanOrEqual(0);
    expect(p.timeToRemediate.count).toBe(1);

    const [action] = await log.query({ types: ['homeostat.action.executed'] });
    expect(action?.event).toMatchObject({ causationid: trigger.id, subject: 'securityrule/web-lb-ssh' });
    expect(p.closed[0].actions).toEqual([action!.event.id]);
    const [opened] = await log.query({ types: ['compliance.violation.opened'] });
    expect(opened?.event.causationid).toBe(trigger.id);
    const [resolved] = await log.query({ types: ['compliance.violation.resolved'] });
    expect(resolved?.event).toMatchObject({ causationid: action!.event.id, data: { resolution: 'compliant' } });
  });

  it('shows a remedy waiting for approval, then its resolution once approved', async () => {
    const instance = await start({ remedy: 'revert', approval: true });
    resources = [rule(['0.0.0.0/0'])];
    await openToTheWorld(instance);
    let p = (await call(url, 'GET', '/v1/compliance?policy=no-open-ssh', undefined, reader())).body.policies[0];
    expect(p).toMatchObject({ violating: 1, approval: true });
    expect(p.open).toEqual([
      expect.objectContaining({ resource: 'securityrule/web-lb-ssh', outcome: 'pending-approval' }),
    ]);
    const approval: string = p.open[0].attempts[0].approval;
    expect(resources[0]!.spec).toMatchObject({ allow: ['0.0.0.0/0'] });

    await approvals.decide(approval, { approve: true, by: 'alice' });
    expect(resources[0]!.spec).toMatchObject({ allow: ['10.0.0.0/8'] });
    const [executed] = await log.query({ types: ['homeostat.action.executed'] });
    const change: CloudEvent = {
      specversion: '1.0',
      id: 'chg-after-approval',
      source: 'homeostat/provider/local',
      type: 'infra.resource.changed',
      subject: 'securityrule/web-lb-ssh',
      causationid: executed!.event.id,
    };
    await instance.onEvent('change', change);
    p = (await call(url, 'GET', '/v1/compliance?policy=CompliancePolicy/no-open-ssh', undefined, reader())).body
      .policies[0];
    expect(p.open).toEqual([]);
    expect(p.closed[0]).toMatchObject({ resolvedBy: 'chg-after-approval', actions: [executed!.event.id] });
  });

  it('refuses an unknown policy and a request without a token', async () => {
    await start({ remedy: 'alert' });
    const missing = await call(url, 'GET', '/v1/compliance?policy=nope', undefined, reader());
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe('E_NOT_FOUND');
    expect((await call(url, 'GET', '/v1/compliance')).status).toBe(401);
  });
});

describe('homeostat compliance', () => {
  it('prints the policies, the open violations and the summary, or JSON with -o json', async () => {
    const instance = await start({ remedy: 'alert' });
    resources = [rule(['0.0.0.0/0'])];
    await openToTheWorld(instance);
    const text = await cli(['compliance']);
    const lines = text.split('\n');
    expect(lines[0]).toMatch(/^POLICY\s+REMEDY\s+MODE\s+EVALUATED\s+COMPLIANT\s+VIOLATING\s+ERRORS\s+OPEN/);
    expect(lines[1]).toMatch(/^no-open-ssh\s+alert\s+enforce\s+1\s+0\s+1\s+0\s+1\s/);
    expect(text).toContain('open violations:');
    expect(text).toMatch(/no-open-ssh\s+securityrule\/web-lb-ssh\s+\S+\s+alert\s+alerted/);
    expect(text).toContain('1 policies, 1 resources evaluated: 0 compliant, 1 violating, 0 errors; 1 open violations');
    const json = JSON.parse(await cli(['compliance', '--policy', 'no-open-ssh', '-o', 'json']));
    expect(json.policies[0].open[0].resource).toBe('securityrule/web-lb-ssh');
  });
});
