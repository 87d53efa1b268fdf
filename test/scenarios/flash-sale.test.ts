/**
 * @module Flash sale end to end on the `local` provider: real instance processes behind the
 * balancer, a ScalingPolicy on requests per instance, and a 10× rise from the load generator. Checks
 * the causal chain and the behaviour (scale out, new instances ready and serving, scale in), never
 * the timing.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createFlashApi,
  descendants,
  directionOf,
  FLASH_GROUP,
  FLASH_POLICY,
  FLASH_STACK,
  type FlashApi,
  flashSalePolicy,
  flashSaleStack,
  instanceName,
  type LoggedEvent,
  paramsOf,
  scaleActions,
  until,
} from '../../bench/scenarios/flash-sale-server.js';
import { type Load, type RequestRecord, startLoad } from '../../src/loadgen/load.js';
import { startTestServer, type TestServer } from '../api/harness.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const MIN = 2;
const pids = new Set<number>();

let server: TestServer;
let api: FlashApi;

function noteStarted(events: readonly LoggedEvent[]): void {
  for (const e of events)
    if (e.type === 'infra.instance.started' && typeof e.data.pid === 'number') pids.add(e.data.pid);
}

function runningWeb(): number[] {
  return [...pids].filter((pid) => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('web.mjs');
    } catch {
      return false;
    }
  });
}

beforeAll(async () => {
  server = await startTestServer({ providers: { local: { metricsInterval: '250ms' } } }, undefined, {
    stopInfraOnClose: true,
  });
  api = createFlashApi(server.url);
});

afterAll(async () => {
  try {
    noteStarted(await api.events());
    await api.call('DELETE', `/v1/policies/ScalingPolicy/${FLASH_POLICY}`).catch(() => undefined);
    await api.call('DELETE', `/v1/stacks/${FLASH_STACK}?prune=true`).catch(() => undefined);
  } finally {
    await server.stop();
  }
  // Nothing of ours may outlive the test: the prune and stopInfraOnClose should have stopped all.
  await until(async () => (runningWeb().length === 0 ? true : undefined), 'the instances to exit', 10_000).catch(
    () => undefined,
  );
  const left = runningWeb();
  for (const pid of left) process.kill(-pid, 'SIGKILL');
  expect(left).toEqual([]);
});

describe('flash sale on the local provider', () => {
  it('scales out on the rise from a metrics event, serves from the new instances, and scales in after the drop', async () => {
    await api.call(
      'PUT',
      `/v1/stacks/${FLASH_STACK}`,
      flashSaleStack({ minInstances: MIN, maxInstances: 6, healthIntervalMs: 100, workMs: 1 }),
    );
    await until(
      async () => {
        const live = (await api.instances()).filter((i) => i.status.phase === 'running' && i.status.healthy);
        return live.length === MIN ? true : undefined;
      },
      `${MIN} healthy instances`,
      15_000,
    );
    await api.call(
      'PUT',
      `/v1/policies/ScalingPolicy/${FLASH_POLICY}`,
      flashSalePolicy({
        minInstances: MIN,
        maxInstances: 6,
        target: 20,
        scaleOutCooldownMs: 500,
        scaleInStabilizationMs: 2_000,
        scaleInCooldownMs: 500,
      }),
    );
    const address = await api.balancerAddress();
    // 10 req/s (5 per instance, under the target of 20), then 100 req/s for 5 s, then 10 again.
    let phase: 'base' | 'peak' | 'after' = 'base';
    const load: Load = startLoad({ address, rate: () => (phase === 'peak' ? 100 : 10), timeoutMs: 10_000 });
    let records: readonly RequestRecord[];
    let riseAt: number;
    let dropAt: number;
    try {
      await sleep(1_500);
      riseAt = Date.now();
      phase = 'peak';
      await until(
        async () => (scaleActions(await api.events()).some((a) => directionOf(a) === 'up') ? true : undefined),
        'a scale-out',
        15_000,
      );
      await sleep(4_000);
      dropAt = Date.now();
      phase = 'after';
      await until(
        async () => {
          const events = await api.events();
          return scaleActions(events).some((a) => directionOf(a) === 'down' && a.time >= dropAt) ? true : undefined;
        },
        'a scale-in after the drop',
        20_000,
      );
    } finally {
      await load.stop();
      records = load.records;
    }
    const events = await api.events();
    noteStarted(events);

    const out = scaleActions(events).find((a) => directionOf(a) === 'up')!;
    expect(out.time).toBeGreaterThanOrEqual(riseAt);
    // Decided on a metrics event of the group.
    const cause = events.find((e) => e.id === out.causationid);
    expect(cause?.type).toBe('infra.metrics');
    expect(cause?.subject).toBe(`instancegroup/${FLASH_GROUP}`);
    expect(out.subject).toBe(`instancegroup/${FLASH_GROUP}`);
    const { from, to } = paramsOf(out);
    expect(from).toBe(MIN);
    expect(to).toBeGreaterThan(from);
    expect(out.data.policy).toBe(`ScalingPolicy/${FLASH_POLICY}`);
    expect((out.data.inputs as { desired?: number }).desired).toBe(to);

    // The new instances: started and ready with causation back to the action.
    const chain = descendants(events, out.id);
    const started = chain.filter((e) => e.type === 'infra.instance.started');
    expect(started.length).toBeGreaterThan(0);
    expect(started.length).toBeLessThanOrEqual(to - from);
    const ready = chain.filter((e) => e.type === 'infra.instance.ready');
    expect(ready.map((e) => e.subject).sort()).toEqual(started.map((e) => e.subject).sort());

    // Requests were answered by the new instances.
    const fresh = new Set(started.map((e) => instanceName(e.subject)));
    const servedByNew = records.filter((r) => r.outcome === 'ok' && r.instance !== undefined && fresh.has(r.instance));
    expect(servedByNew.length).toBeGreaterThan(0);

    // After the drop: a scale-in, decided on a metrics event, going down within the policy's min.
    const down = scaleActions(events).find((a) => directionOf(a) === 'down' && a.time >= dropAt!)!;
    expect(events.find((e) => e.id === down.causationid)?.type).toBe('infra.metrics');
    const after = paramsOf(down);
    expect(after.to).toBeLessThan(after.from);
    expect(after.to).toBeGreaterThanOrEqual(MIN);
    const stopped = descendants(events, down.id).filter((e) => e.type === 'infra.instance.stopped');
    await until(
      async () => {
        const chainNow = descendants(await api.events(), down.id);
        return chainNow.filter((e) => e.type === 'infra.instance.stopped').length === after.from - after.to
          ? true
          : undefined;
      },
      'the scaled-in instances to stop',
      10_000,
    );
    expect(stopped.length).toBeLessThanOrEqual(after.from - after.to);
  }, 60_000);

  // Runs after the scale-in above, while the stopped instances are still reported (as stopped).
  it('attributes the instances of a scale-out that follows a scale-in to the new action, not to the stopped ones', async () => {
    const address = await api.balancerAddress();
    // Without load the group scales in to its minimum (in steps): start from there, so that the
    // rise below needs more instances whatever size the scale-in above stopped at.
    await until(
      async () => {
        const live = (await api.instances()).filter((i) => i.status.phase === 'running' && i.status.healthy);
        return live.length === MIN ? true : undefined;
      },
      `the group back at ${MIN} instances`,
      30_000,
    );
    const riseAt = Date.now();
    const load = startLoad({ address, rate: 150, timeoutMs: 10_000 });
    let out: LoggedEvent;
    try {
      out = await until(
        async () => scaleActions(await api.events()).find((a) => directionOf(a) === 'up' && a.time >= riseAt),
        'a second scale-out',
        15_000,
      );
      await until(
        async () => {
          const ready = descendants(await api.events(), out.id).filter((e) => e.type === 'infra.instance.ready');
          return ready.length > 0 ? true : undefined;
        },
        'an instance of the second scale-out to be ready',
        15_000,
      );
    } finally {
      await load.stop();
    }
    const events = await api.events();
    noteStarted(events);
    const decided = descendants(events, out.id).filter((e) => e.type === 'infra.reconcile.decided');
    expect(decided.length).toBeGreaterThan(0);
    for (const d of decided) expect(d.data.reason).toBe('scale out to desired');
    const replacements = events.filter(
      (e) => e.type === 'infra.reconcile.decided' && e.time >= riseAt && String(e.data.reason).startsWith('replace'),
    );
    expect(replacements).toEqual([]);
  }, 40_000);
});
