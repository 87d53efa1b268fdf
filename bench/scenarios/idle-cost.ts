/**
 * @module Idle and scheduled-stop scenario (end to end, scenario 4), on shortened windows of real
 * time: a group of 3 real processes serves load, the load stops, an IdlePolicy (`for: 10s` instead
 * of 30m) scales the group to its minimum; then a Schedule (6-field cron, seconds first, in
 * Europe/Paris) stops the stack and starts it again a few seconds later. It prints the cost rate
 * and cost to date at each step from `GET /v1/cost` and the attribution of every cost change.
 * Run: `npm run scenario:idle-cost` (options: `tsx bench/scenarios/idle-cost.ts --help`).
 */
import { join } from 'node:path';
import { createFlagReader } from '../flags.js';
import { REPO_ROOT } from '../ingest/server.js';
import { machineLines } from '../machine.js';
import { commandLine, createEventReader, log, notePids, out, runScenario, sleep } from './scenario-kit.js';
import { type ServerApi, until } from './server-api.js';

const SCRIPT = 'bench/scenarios/idle-cost.ts';
const STACK = 'idle-cost';
const WEB = join(REPO_ROOT, 'examples', 'services', 'web.mjs');
const ZONE = 'Europe/Paris';

const flags = createFlagReader(SCRIPT, {
  idle: { env: 'BENCH_IDLE', help: "the IdlePolicy's `for`, seconds (10)" },
  load: { env: 'BENCH_LOAD', help: 'seconds of client load before it stops (12)' },
  rate: { env: 'BENCH_RATE', help: 'client requests per second during the load (20)' },
  'stopped-for': { env: 'BENCH_STOPPED_FOR', help: 'seconds between the scheduled stop and start (15)' },
  'start-timeout': { env: 'BENCH_START_TIMEOUT', help: "seconds to wait for the server's serving line (30)" },
});

interface Options {
  readonly idleSec: number;
  readonly loadSec: number;
  readonly rate: number;
  readonly stoppedForSec: number;
  readonly startTimeoutSec: number;
}

function readOptions(): Options {
  const raw = flags.read(process.argv.slice(2), process.env);
  return Object.freeze({
    idleSec: flags.int(raw, 'idle', 10, 1),
    loadSec: flags.int(raw, 'load', 12, 1),
    rate: flags.num(raw, 'rate', 20, 1),
    stoppedForSec: flags.int(raw, 'stopped-for', 15, 3),
    startTimeoutSec: flags.num(raw, 'start-timeout', 30, 1),
  });
}

const stack = {
  apiVersion: 'homeostat/v1',
  kind: 'Stack',
  metadata: { name: STACK },
  spec: {
    provider: 'local',
    drift: 'alert',
    resources: [
      {
        kind: 'InstanceGroup',
        name: 'web',
        tags: { team: 'web' },
        spec: {
          template: { command: process.execPath, args: [WEB], port: 0 },
          desired: 3,
          min: 1,
          max: 5,
          instanceType: 'local.small',
          healthCheck: { path: '/healthz', interval: '500ms', timeout: '300ms' },
        },
      },
      { kind: 'LoadBalancer', name: 'web-lb', spec: { listen: '127.0.0.1:0', targetGroup: 'web' } },
      { kind: 'SecurityRule', name: 'web-lb-local', spec: { loadBalancer: 'web-lb', allow: ['127.0.0.0/8'] } },
    ],
  },
};

/** A cron expression (seconds first) that fires once, at `at`, read on the wall clock of `zone`. */
export function cronAt(at: number, zone: string): string {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-GB', {
      timeZone: zone,
      hourCycle: 'h23',
      second: 'numeric',
      minute: 'numeric',
      hour: 'numeric',
      day: 'numeric',
      month: 'numeric',
    })
      .formatToParts(new Date(at))
      .map((p) => [p.type, p.value]),
  );
  return [parts.second, parts.minute, parts.hour, parts.day, parts.month, '*'].join(' ').replace(/\b0(\d)/g, '$1');
}

interface CostView {
  ratePerHour: number;
  instances: number;
  window: { since: string; until: string; cost: number };
  changes: { at?: string; text: string }[];
}

interface Snapshot {
  readonly label: string;
  readonly at: number;
  readonly running: number;
  readonly cost: CostView;
}

async function snapshot(api: ServerApi, label: string, since: string): Promise<Snapshot> {
  const running = (await api.instances()).filter((i) => i.status.phase === 'running').length;
  const cost = await api.call<CostView>('GET', `/v1/cost?stack=${STACK}&since=${since}&changes=100`);
  log(`${label}: ${running} running, rate $${cost.ratePerHour.toFixed(4)}/h, to date $${cost.window.cost.toFixed(6)}`);
  return { label, at: Date.now(), running, cost };
}

async function groupAt(api: ServerApi, size: number, what: string, timeoutMs: number): Promise<void> {
  await until(
    async () => {
      await notePids(api);
      const running = (await api.instances()).filter((i) => i.status.phase === 'running');
      return running.length === size && running.every((i) => i.status.healthy) ? true : undefined;
    },
    what,
    timeoutMs,
  );
}

/** Open-loop GETs through the balancer for `seconds`; resolves with the count of 2xx answers. */
async function load(address: string, rate: number, seconds: number): Promise<{ ok: number; failed: number }> {
  const end = Date.now() + seconds * 1000;
  const pending: Promise<void>[] = [];
  const tally = { ok: 0, failed: 0 };
  for (let next = Date.now(); next < end; next += 1000 / rate) {
    await sleep(Math.max(0, next - Date.now()));
    pending.push(
      fetch(`http://${address}/`).then(
        async (r) => {
          await r.arrayBuffer();
          tally[r.ok ? 'ok' : 'failed']++;
        },
        () => {
          tally.failed++;
        },
      ),
    );
  }
  await Promise.all(pending);
  return tally;
}

function report(o: Options, snaps: readonly Snapshot[], timeline: readonly string[], changes: readonly string[]): void {
  for (const line of [
    'Homeostat scenario 4: idle overnight and scheduled stop; cost before and after, with attribution',
    `command:   ${commandLine(SCRIPT)}`,
    ...machineLines(),
    'server:    node bin/homeostat.js up --port 0 --data-dir <fresh tmp dir> --fsync normal (its own process)',
    `setup:     stack '${STACK}' (local provider): group web of 3 × local.small ($0.0208/h each), min 1, behind a balancer`,
    `           IdlePolicy web-idle: data.rps below 1 for ${o.idleSec}s → scale-to-min (production: 30m)`,
    `           Schedule office-hours (${ZONE}): stop, then start ${o.stoppedForSec}s later (production: 19:00 / 08:00)`,
    'NOTE:      windows are shortened to seconds of real time; processes, load, cost accounting are real',
  ])
    out(line);
  out();
  out('timeline:');
  for (const t of timeline) out(`  ${t}`);
  out();
  out('step                                   running  rate ($/h)  cost to date since apply ($)');
  for (const s of snaps)
    out(
      `${s.label.padEnd(38)} ${String(s.running).padStart(7)}  ${s.cost.ratePerHour.toFixed(4).padStart(10)}  ${s.cost.window.cost.toFixed(6).padStart(12)}`,
    );
  const before = snaps[0]!.cost.ratePerHour;
  const idle = snaps[1]!.cost.ratePerHour;
  const stopped = snaps[2]!.cost.ratePerHour;
  out();
  out('what a 13-hour night (19:00-08:00) would cost at the measured rates (arithmetic, not measured):');
  out(`  nothing done (3 instances)      $${(before * 13).toFixed(4)}`);
  out(
    `  IdlePolicy only (scaled to min) $${(idle * 13).toFixed(4)}   saves ${((1 - idle / before) * 100).toFixed(0)} %`,
  );
  out(
    `  Schedule stop                   $${(stopped * 13).toFixed(4)}   saves ${((1 - stopped / before) * 100).toFixed(0)} %`,
  );
  out();
  out('attribution (GET /v1/cost?stack=idle-cost changes, oldest first):');
  for (const c of changes) out(`  ${c}`);
  out();
  out('peers:');
  out('  cron job / AWS Instance Scheduler   stops and starts on a schedule; no idle detection, no cost attribution');
  out(
    '  Kubernetes HPA                      minReplicas >= 1: no idle scale to zero without KEDA; no cost attribution',
  );
  out(
    '  Homeostat (this run)                idle scale-in + scheduled stop/start, each cost change traced to its cause',
  );
}

async function main(): Promise<number> {
  let o: Options;
  try {
    o = readOptions();
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    return 2;
  }
  return runScenario(async (_server, api, stacks) => {
    const t0 = Date.now();
    const since = new Date(t0 - 1000).toISOString();
    const timeline: string[] = [];
    const mark = (what: string) => timeline.push(`+${((Date.now() - t0) / 1000).toFixed(1).padStart(5)} s  ${what}`);
    const snaps: Snapshot[] = [];
    stacks.add(STACK);
    log(`applying stack '${STACK}' and IdlePolicy web-idle (for ${o.idleSec}s)`);
    await api.call('PUT', `/v1/stacks/${STACK}`, stack);
    await api.call('PUT', '/v1/policies/IdlePolicy/web-idle', {
      apiVersion: 'homeostat/v1',
      kind: 'IdlePolicy',
      metadata: { name: 'web-idle' },
      spec: {
        target: 'group/web',
        metric: { field: 'data.rps', below: 1 },
        for: `${o.idleSec}s`,
        action: 'scale-to-min',
      },
    });
    await groupAt(api, 3, 'three instances ready', 30_000);
    mark('stack applied, 3 instances ready, IdlePolicy web-idle watching');
    const address = await api.balancerAddress();
    const served = await load(address, o.rate, o.loadSec);
    const loadEnd = Date.now();
    mark(`load stopped after ${o.loadSec}s at ${o.rate} req/s (${served.ok} ok, ${served.failed} failed)`);
    snaps.push(await snapshot(api, 'busy: 3 instances', since));
    await groupAt(api, 1, 'the IdlePolicy to scale the group to 1', (o.idleSec + 60) * 1000);
    mark(`idle: group scaled to min 1, ${((Date.now() - loadEnd) / 1000).toFixed(1)} s after the load stopped`);
    await sleep(1500);
    snaps.push(await snapshot(api, 'idle: scaled to min by IdlePolicy', since));
    const stopAt = Math.ceil((Date.now() + 5000) / 1000) * 1000;
    const startAt = stopAt + o.stoppedForSec * 1000;
    const schedule = { stop: cronAt(stopAt, ZONE), start: cronAt(startAt, ZONE) };
    await api.call('PUT', '/v1/policies/Schedule/office-hours', {
      apiVersion: 'homeostat/v1',
      kind: 'Schedule',
      metadata: { name: 'office-hours' },
      spec: { target: { stack: STACK }, timezone: ZONE, ...schedule },
    });
    mark(`Schedule office-hours applied: stop "${schedule.stop}", start "${schedule.start}" (${ZONE})`);
    await until(
      async () => ((await api.instances()).every((i) => i.status.phase !== 'running') ? true : undefined),
      'the scheduled stop',
      o.stoppedForSec * 1000 + 30_000,
    );
    mark(`scheduled stop: no instance running (${Date.now() - stopAt} ms after the stop fire time)`);
    await sleep(1500);
    snaps.push(await snapshot(api, 'night: stopped by Schedule', since));
    await groupAt(api, 1, 'the scheduled start', o.stoppedForSec * 1000 + 30_000);
    mark(`scheduled start: 1 instance ready again (${Date.now() - startAt} ms after the start fire time)`);
    await sleep(1500);
    snaps.push(await snapshot(api, 'morning: started by Schedule', since));
    const fired = createEventReader(api, ['schedule.fired', 'homeostat.condition.fired']);
    for (const e of await fired()) mark(`log: ${e.type} ${e.subject} at ${new Date(e.time).toISOString()}`);
    const changes = [...snaps.at(-1)!.cost.changes].reverse().map((c) => c.text);
    report(o, snaps, timeline, changes);
  }, o.startTimeoutSec);
}

process.exitCode = await main();
