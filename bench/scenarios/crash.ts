/**
 * @module Crash scenario: a stack of real processes behind the load balancer under steady client
 * load; kill -9 one instance, then hang one, N times each; measures from the log's events the time
 * to detection, to the replace action and to the replacement being ready, the incident's opening
 * and resolution, and counts the client's failed requests. Healing by a HealingPolicy (default),
 * by the plain reconciler (`--policy none`), or both one after the other (`--compare`).
 * Run: `npm run scenario:crash` (options: `tsx bench/scenarios/crash.ts --help`).
 */
import { figures, overall } from './analyze.js';
import { createCleanup } from './cleanup.js';
import { FaultKind, type FaultTimeline, fullStrength, injectFault } from './fault.js';
import { type Load, startLoad } from './load.js';
import { type HealingMode, type ResolvedScenarioOptions, readScenarioOptions } from './options.js';
import { headerLines, incidentLines, runLines, summaryLines } from './report.js';
import { createServerApi, HEAL_POLICY, healingPolicy, scenarioStack, type ServerApi, STACK } from './server-api.js';
import { type ServerProcess, startServer } from '../ingest/server.js';

const log = (line: string) => process.stderr.write(`[scenario ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
const out = (line = '') => process.stdout.write(`${line}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function commandLine(): string {
  const env = Object.entries(process.env)
    .filter(([k]) => k.startsWith('BENCH_'))
    .map(([k, v]) => `${k}=${v}`);
  return [...env, 'tsx', 'bench/scenarios/crash.ts', ...process.argv.slice(2)].join(' ');
}

const cleanup = createCleanup(log);

/** Logs instances started by something other than a measured fault's decision (expected: none after the first three). */
async function reportExtraStarts(api: ServerApi, timelines: readonly FaultTimeline[]): Promise<void> {
  const events = await api.events();
  const byId = new Map(events.map((e) => [e.id, e]));
  const measured = new Set(timelines.map((t) => t.started.id));
  const first = timelines[0]?.faultAt ?? 0;
  for (const e of events) {
    if (e.type !== 'infra.instance.started' || measured.has(e.id) || e.time < first) continue;
    const cause = e.causationid === undefined ? undefined : byId.get(e.causationid);
    log(
      `note: ${e.subject} started outside a measured chain, caused by ${e.causationid ?? 'nothing'} ${cause ? `${cause.type} ${JSON.stringify(cause.data).slice(0, 300)}` : ''}`,
    );
  }
}

const POLICY_PATH = `/v1/policies/HealingPolicy/${HEAL_POLICY}`;

async function faults(api: ServerApi, o: ResolvedScenarioOptions, mode: HealingMode): Promise<FaultTimeline[]> {
  const timelines: FaultTimeline[] = [];
  if (mode === 'heal') {
    // Every fault of the run is a crash or a hang on purpose: the crash-loop guard must not count
    // them, and the blast radius (100 % of the group per window) must allow one replacement per
    // fault: faults are more than `settle` apart, so a window of `settle` holds at most two.
    const blastPer = `${Math.max(1_000, o.settleMs)}ms`;
    await api.call('PUT', POLICY_PATH, healingPolicy({ crashes: 2 * o.runs + 1, within: '1m', blastPer }));
    log(`applied HealingPolicy/${HEAL_POLICY}: the policy replaces failed instances`);
  } else log('no HealingPolicy: the reconciler replaces failed instances');
  try {
    for (const kind of Object.values(FaultKind)) {
      for (let run = 1; run <= o.runs; run++) {
        const live = await fullStrength(api, o);
        for (const i of live) cleanup.note(i.status.pid);
        await sleep(o.settleMs);
        const victim = live[run % live.length]!;
        let t: FaultTimeline;
        try {
          t = await injectFault(api, kind, run, victim, o, mode);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
          // The victim exited between the health check and the kill: something else stopped it.
          log(`${mode}: ${kind} ${run}: ${victim.name} (pid ${victim.status.pid}) was already gone; run again`);
          run--;
          continue;
        }
        const incident =
          t.incident === undefined ? '' : `, incident resolved after ${t.incident.resolved.time - t.faultAt} ms`;
        log(
          `${mode}: ${kind} ${run}/${o.runs}: ${victim.name} ${t.detection.type.slice(6)} after ${t.detection.time - t.faultAt} ms, ` +
            `${t.started.subject.slice(9)} ready after ${t.ready.time - t.faultAt} ms${incident}`,
        );
        timelines.push(t);
      }
    }
  } finally {
    if (mode === 'heal') await api.call('DELETE', POLICY_PATH).catch(() => undefined);
  }
  await reportExtraStarts(api, timelines);
  return timelines;
}

async function scenario(server: ServerProcess, api: ServerApi, o: ResolvedScenarioOptions): Promise<void> {
  let load: Load | undefined;
  try {
    log(`applying stack '${STACK}': ${o.instances} instances behind a balancer`);
    await api.call('PUT', `/v1/stacks/${STACK}`, scenarioStack(o));
    await fullStrength(api, o);
    const address = await api.balancerAddress();
    log(`load: ${o.rate} req/s to http://${address}/`);
    load = startLoad({ address, rate: o.rate, timeoutMs: o.clientTimeoutMs });
    const timelines: FaultTimeline[] = [];
    for (const mode of o.modes) timelines.push(...(await faults(api, o, mode)));
    await fullStrength(api, o);
    await sleep(o.settleMs);
    await load.stop();
    const rows = timelines.map((t) => figures(t, load!.records));
    const header = headerLines(o, commandLine(), server.command.replace(server.dataDir, '<fresh tmp dir>'));
    for (const line of header) out(line);
    out();
    for (const line of runLines(rows)) out(line);
    const incidents = incidentLines(rows);
    if (incidents.length > 0) {
      out();
      out("incidents' own figures (ms from the failure event's time, GET /v1/incidents/{id} details):");
      for (const line of incidents) out(line);
    }
    out();
    for (const line of summaryLines(rows, overall(load.records, timelines))) out(line);
  } finally {
    await load?.stop();
    await cleanup.remove(api, [`/v1/stacks/${STACK}?prune=true`]);
  }
}

async function main(): Promise<number> {
  let o: ResolvedScenarioOptions;
  try {
    o = readScenarioOptions(process.argv.slice(2), process.env);
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
  const interrupted = () => {
    log('interrupted: removing the stack and stopping the server');
    void cleanup
      .remove(api, [`/v1/stacks/${STACK}?prune=true`])
      .then(() => cleanup.killLeftovers())
      .then(() => server.stop())
      .finally(() => process.exit(130));
  };
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);
  try {
    await scenario(server, api, o);
    return 0;
  } catch (err) {
    process.stderr.write(`scenario failed: ${(err as Error).stack ?? String(err)}\n`);
    return 1;
  } finally {
    cleanup.killLeftovers();
    await server.stop();
  }
}

process.exitCode = await main();
