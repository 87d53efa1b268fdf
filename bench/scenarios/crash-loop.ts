/**
 * @module Crash-loop scenario: a group whose instances die on start (`EXIT_ON_START=1` in the
 * template, like a release that cannot boot) under a HealingPolicy with a crash-loop guard.
 * Measures how many instances were started before the policy held the group, the time from the
 * first crash to the hold action, to the critical incident and to its webhook (received by a
 * local HTTP server), and checks that no instance is started for `--watch` seconds afterwards.
 * Run: `tsx bench/scenarios/crash-loop.ts` (options: `--help`).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createFlagReader } from '../flags.js';
import { startServer } from '../ingest/server.js';
import { machineLines } from '../machine.js';
import { markdownTable } from './report.js';
import {
  createServerApi,
  HEAL_POLICY,
  healingPolicy,
  type LoggedEvent,
  scenarioStack,
  type ServerApi,
  STACK,
  until,
} from './server-api.js';

const log = (line: string) => process.stderr.write(`[crash-loop ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
const out = (line = '') => process.stdout.write(`${line}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const flags = createFlagReader('bench/scenarios/crash-loop.ts', {
  instances: { env: 'BENCH_INSTANCES', help: 'desired instances of the group (3)' },
  crashes: { env: 'BENCH_CRASHES', help: 'crashLoop.crashes of the HealingPolicy (3)' },
  within: { env: 'BENCH_WITHIN', help: 'crashLoop.within in seconds (60)' },
  watch: { env: 'BENCH_WATCH', help: 'seconds to watch after the hold for new instances (15)' },
  'start-timeout': { env: 'BENCH_START_TIMEOUT', help: "seconds to wait for the server's serving line (30)" },
});

interface Hook {
  readonly at: number;
  readonly type: string;
  readonly severity: string;
}

/** A local webhook receiver: records each POST's arrival time and incident type. */
async function webhook(): Promise<{ url: string; hooks: Hook[]; server: Server }> {
  const hooks: Hook[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const at = Date.now();
      try {
        const b = JSON.parse(body) as { type: string; incident: { severity: string } };
        hooks.push({ at, type: b.type, severity: b.incident.severity });
      } catch {
        hooks.push({ at, type: 'unparsable', severity: '' });
      }
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/hooks/incidents`, hooks, server };
}

/** Kubernetes CrashLoopBackOff: restart delays 10 s doubling to 5 min; restarts within `seconds` of the first crash. */
export function kubernetesRestarts(seconds: number): number {
  let t = 0;
  let delay = 10;
  let n = 0;
  for (;;) {
    t += delay;
    if (t > seconds) return n;
    n++;
    delay = Math.min(300, delay * 2);
  }
}

const instanceEvent = (e: LoggedEvent) =>
  (e.type === 'infra.instance.started' || e.type === 'infra.instance.crashed') && e.data.group === 'web';

async function scenario(api: ServerApi, o: { instances: number; crashes: number; within: number; watch: number }) {
  const hook = await webhook();
  try {
    log(`webhook receiver on ${hook.url}`);
    await api.call(
      'PUT',
      `/v1/policies/HealingPolicy/${HEAL_POLICY}`,
      healingPolicy({ crashes: o.crashes, within: `${o.within}s`, notify: hook.url }),
    );
    log(`HealingPolicy/${HEAL_POLICY}: crashLoop { crashes: ${o.crashes}, within: ${o.within}s }`);
    const appliedAt = Date.now();
    const stack = { instances: o.instances, workMs: 2, intervalMs: 250, timeoutMs: 200, env: { EXIT_ON_START: '1' } };
    await api.call('PUT', `/v1/stacks/${STACK}`, scenarioStack(stack));
    log(`stack '${STACK}' applied: ${o.instances} instances of web.mjs with EXIT_ON_START=1`);
    const hold = await until(
      async () => (await api.events()).find((e) => e.type === 'homeostat.action.executed' && e.data.action === 'hold'),
      'the hold action',
      60_000,
    );
    const escalated = await until(
      async () => (await api.events()).find((e) => e.type === 'homeostat.incident.escalated'),
      'the incident escalated',
      10_000,
    );
    const hooked = await until(
      async () => hook.hooks.find((h) => h.type === 'homeostat.incident.escalated'),
      'the escalation webhook',
      15_000,
    );
    log(`held; watching ${o.watch} s for new instances`);
    await sleep(o.watch * 1000);
    const events = await api.events();
    const byId = new Map(events.map((e) => [e.id, e]));
    // An instance was launched before the hold when the decision or action that launched it (its
    // event's cause) is older than the hold: its crash may still land on the log after the hold.
    const launchedBefore = (e: LoggedEvent) => {
      const cause = e.causationid === undefined ? undefined : byId.get(e.causationid);
      return e.offset < hold.offset || (cause !== undefined && cause.time <= hold.time);
    };
    const ofGroup = events.filter(instanceEvent);
    const launched = new Set(ofGroup.filter(launchedBefore).map((e) => e.subject));
    const after = ofGroup.filter((e) => !launched.has(e.subject));
    const crashes = events.filter((e) => e.type === 'infra.instance.crashed');
    const firstCrash = crashes[0]!;
    const incident = await api.incident(escalated.subject.replace(/^incident\//, ''));
    const replaces = events.filter((e) => e.type === 'homeostat.action.executed' && e.data.action === 'replace');
    const watchedS = (Date.now() - firstCrash.time) / 1000;
    const header = [
      'Homeostat crash-loop scenario: instances that die on start, under a HealingPolicy',
      `date:      ${new Date().toISOString()}`,
      `command:   tsx bench/scenarios/crash-loop.ts ${process.argv.slice(2).join(' ')}`.trim(),
      ...machineLines(),
      `stack:     InstanceGroup web: ${o.instances} × examples/services/web.mjs with EXIT_ON_START=1 (exits with code 1 before listening)`,
      `policy:    HealingPolicy/${HEAL_POLICY}: crashLoop { crashes: ${o.crashes}, within: ${o.within}s }, notify ${hook.url} (a local receiver), blastRadius maxPercent 100`,
    ];
    for (const line of header) out(line);
    out();
    const rows: string[][] = [
      [
        'instances launched before the hold',
        String(launched.size),
        'distinct instances with started or crashed events',
      ],
      ['crashes (all of them)', String(crashes.length), 'infra.instance.crashed: exit code 1 before listening'],
      ['replace actions executed', String(replaces.length), 'homeostat.action.executed, action replace'],
      ['first crash, ms after the stack was applied', String(firstCrash.time - appliedAt), ''],
      ['hold action, ms after the first crash', String(hold.time - firstCrash.time), `${hold.id}`],
      [
        'incident escalated (critical), ms after the first crash',
        String(escalated.time - firstCrash.time),
        `${incident.id}: ${incident.severity}, "${incident.title}", status ${incident.status}`,
      ],
      [
        'webhook received (escalated), ms after the first crash',
        String(hooked.at - firstCrash.time),
        `webhook types: ${hook.hooks.map((h) => `${h.type.slice(19)} (${h.severity})`).join(', ')}`,
      ],
      [
        `instances launched after the hold (${o.watch} s watched)`,
        String(after.length),
        after.length === 0 ? 'ok: none' : 'FAILED',
      ],
      [
        `Kubernetes CrashLoopBackOff over the same ${watchedS.toFixed(0)} s`,
        `${kubernetesRestarts(watchedS)} restarts per pod`,
        'back-off 10 s doubling to 5 min, restarts forever, no incident (computed)',
      ],
    ];
    for (const line of markdownTable(['figure', 'value', 'note'], rows)) out(line);
    return after.length === 0 && incident.severity === 'critical' ? 0 : 1;
  } finally {
    hook.server.closeAllConnections();
    hook.server.close();
  }
}

async function removeStack(api: ServerApi): Promise<void> {
  await api.call('DELETE', `/v1/policies/HealingPolicy/${HEAL_POLICY}`).catch(() => undefined);
  await api.call('DELETE', `/v1/stacks/${STACK}?prune=true`).catch(() => undefined);
  await until(
    async () =>
      (await api.instances()).some((i) => ['starting', 'running'].includes(i.status.phase)) ? undefined : true,
    'every instance to stop',
    15_000,
  ).catch((err: Error) => log(err.message));
}

async function main(): Promise<number> {
  let o: { instances: number; crashes: number; within: number; watch: number; startTimeoutSec: number };
  try {
    const raw = flags.read(process.argv.slice(2), process.env);
    o = {
      instances: flags.int(raw, 'instances', 3, 1),
      crashes: flags.int(raw, 'crashes', 3, 1),
      within: flags.int(raw, 'within', 60, 1),
      watch: flags.int(raw, 'watch', 15, 1),
      startTimeoutSec: flags.num(raw, 'start-timeout', 30, 1),
    };
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    return 2;
  }
  log('starting the server (node bin/homeostat.js up --port 0 on a fresh data dir)');
  const server = await startServer({
    fsync: 'normal',
    extraArgs: [],
    nodeArgs: [],
    timeoutMs: o.startTimeoutSec * 1000,
  });
  const api = createServerApi(server.url);
  try {
    return await scenario(api, o);
  } catch (err) {
    process.stderr.write(`scenario failed: ${(err as Error).stack ?? String(err)}\n`);
    return 1;
  } finally {
    await removeStack(api);
    await server.stop();
  }
}

process.exitCode = await main();
