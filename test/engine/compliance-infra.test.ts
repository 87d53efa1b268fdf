/**
 * A CompliancePolicy on real parts: the sim provider, the infrastructure service (stacks, drift,
 * InfraControl), the action gate and a SQLite stack store. A small router hands the provider's
 * events that match the policy's compiled rule to the policy, as the engine's router would.
 * Someone opens a security rule's port 22 to the world; the policy reverts it to the stack.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { systemClock } from '../../src/core/clock.js';
import type { CloudEvent } from '../../src/core/event.js';
import { matchPattern, parsePattern } from '../../src/core/pattern/index.js';
import { createActionGate, type ManagedActionGate } from '../../src/engine/automation/gate.js';
import { createInfraService, type InfraService } from '../../src/engine/infra/service.js';
import { type Compliance, createCompliance } from '../../src/engine/policies/compliance.js';
import type { PolicyInstance } from '../../src/engine/policies/types.js';
import { createSimProvider } from '../../src/providers/sim/provider.js';
import type { SqliteDatabase } from '../../src/store/sqlite/database.js';
import { createSqliteStackStore } from '../../src/store/sqlite/rule-store.js';
import { openStateDatabase } from '../../src/store/sqlite/state.js';
import { createTestApprovals } from './memory-approvals.js';

let dir: string;
let db: SqliteDatabase;
let infra: InfraService;
let gate: ManagedActionGate;
let compliance: Compliance;
let events: CloudEvent[];
let deliveries: Promise<unknown>[];

const STACK = {
  apiVersion: 'homeostat/v1',
  kind: 'Stack',
  metadata: { name: 'shop' },
  spec: {
    provider: 'sim',
    drift: 'alert',
    resources: [
      {
        kind: 'InstanceGroup',
        name: 'web',
        spec: {
          template: { command: 'web', args: [], port: 8080 },
          desired: 1,
          min: 1,
          max: 3,
          instanceType: 'sim.small',
        },
      },
      { kind: 'LoadBalancer', name: 'web-lb', spec: { listen: '0.0.0.0:443', targetGroup: 'web' } },
      { kind: 'SecurityRule', name: 'web-lb-office', spec: { loadBalancer: 'web-lb', allow: ['10.0.0.0/8'] } },
    ],
  },
};

const POLICY = {
  apiVersion: 'homeostat/v1',
  kind: 'CompliancePolicy',
  metadata: { name: 'no-open-ssh' },
  spec: {
    resources: { kind: 'SecurityRule' },
    violation:
      "has(resource.spec.port) && resource.spec.port in [22, 3389] && resource.spec.allow.exists(c, c in ['0.0.0.0/0', '::/0'])",
    remedy: 'revert',
  },
};

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'homeostat-compliance-infra-'));
  db = openStateDatabase({ path: join(dir, 'state.db'), fsync: 'normal' });
  events = [];
  deliveries = [];
  // Set once the policy runs: hands matching events to it, as the router would.
  const router: { route?: (e: CloudEvent) => void } = {};
  const publish = async (batch: readonly CloudEvent[]) => {
    events.push(...batch);
    for (const e of batch) router.route?.(e);
  };
  infra = createInfraService({
    providers: new Map([['sim', createSimProvider({ name: 'sim', seed: 1 })]]),
    stacks: createSqliteStackStore(db, systemClock),
    publish,
    clock: systemClock,
  });
  await infra.start();
  await infra.applyStack(STACK);
  gate = createActionGate({
    clock: systemClock,
    logger: pino({ level: 'silent' }),
    approvals: createTestApprovals(() => Date.now()),
    publish,
  });
  compliance = createCompliance({
    clock: systemClock,
    timers: { setInterval: () => 0, clearInterval: () => undefined },
  });
  const spec = compliance.kind.parse(POLICY);
  const [rule] = compliance.kind.compile(spec);
  const pattern = parsePattern(rule!.spec.match);
  gate.configure('CompliancePolicy/no-open-ssh', spec.safety);
  const instance: PolicyInstance = await compliance.kind.start(spec, {
    clock: systemClock,
    logger: pino({ level: 'silent' }),
    infra: infra.control,
    gate,
    publish,
    notify: async () => undefined,
  });
  await compliance.settled();
  router.route = (e) => {
    if (matchPattern(pattern, e)) deliveries.push(instance.onEvent('change', e));
  };
});

afterEach(async () => {
  await compliance.close();
  await gate.close();
  await infra.close({ stopAll: true });
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) {
    await new Promise((r) => setTimeout(r, 10));
    await Promise.all(deliveries);
    await compliance.settled();
  }
}

it('reverts a security rule opened to the world on port 22, with the chain on the events', async () => {
  expect(compliance.report().totals).toMatchObject({ evaluated: 1, compliant: 1, open: 0 });
  await infra.set('SecurityRule', 'web-lb-office', { allow: ['0.0.0.0/0'], port: 22 });
  await settle();

  const rule = (await infra.resources()).find((r) => r.name === 'web-lb-office')!;
  expect(rule.spec).toMatchObject({ allow: ['10.0.0.0/8'] });
  const outOfBand = events.find(
    (e) => e.type === 'infra.resource.changed' && e.subject === 'securityrule/web-lb-office' && !e.causationid,
  )!;
  const opened = events.find((e) => e.type === 'compliance.violation.opened')!;
  const action = events.find((e) => e.type === 'homeostat.action.executed')!;
  const reverted = events.find(
    (e) =>
      e.type === 'infra.resource.changed' && e.subject === 'securityrule/web-lb-office' && e.causationid === action.id,
  );
  const resolved = events.find((e) => e.type === 'compliance.violation.resolved')!;
  expect(opened.causationid).toBe(outOfBand.id);
  expect(action).toMatchObject({ causationid: outOfBand.id, subject: 'securityrule/web-lb-office' });
  expect(reverted).toBeDefined();
  expect(resolved.data).toMatchObject({ resolution: 'compliant', trigger: outOfBand.id, actions: [action.id] });

  const report = compliance.report().policies[0]!;
  expect(report).toMatchObject({ evaluated: 1, compliant: 1, violating: 0, open: [] });
  expect(report.closed[0]).toMatchObject({ resource: 'securityrule/web-lb-office', resolution: 'compliant' });
  expect(report.timeToRemediate.count).toBe(1);
  expect(events.filter((e) => e.type === 'homeostat.action.executed')).toHaveLength(1);
});
