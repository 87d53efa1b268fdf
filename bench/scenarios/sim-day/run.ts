/**
 * @module Runs the sim-day scenario: the real embedded engine (log, router, policies, action gate,
 * reconciler) on a sim provider that shares its VirtualClock, driven in lockstep (see
 * lockstep.ts), with measurements taken from the appended events and the peer models computed
 * from the same demand and failures.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { createVirtualClock } from '../../../src/providers/sim/clock.js';
import { resolveDemandCurve } from '../../../src/providers/sim/demand.js';
import { createSimProvider } from '../../../src/providers/sim/provider.js';
import { loadConfig } from '../../../src/runtime/config.js';
import { startEmbedded } from '../../../src/runtime/embedded.js';
import { createLockstep, driveLockstep } from './lockstep.js';
import { createMeasurements, type GroupInfo, type Measurements, measure } from './measure.js';
import { type PeerKind, type PeerState, runPeer } from './peers.js';
import { type GroupPlan, INSTANCE_TYPE, planGroups, type SimDayOptions, writeManifests } from './setup.js';

export interface SimDayResult {
  readonly options: SimDayOptions;
  readonly groups: readonly GroupPlan[];
  readonly infos: ReadonlyMap<string, GroupInfo>;
  readonly m: Measurements;
  readonly peers: Readonly<Record<PeerKind, ReadonlyMap<string, (t: number) => PeerState>>>;
  readonly wallMs: number;
  readonly steps: number;
  readonly unsettled: number;
  readonly events: number;
  readonly faultsFired: Readonly<Record<string, number>>;
  /** GET /v1/cost at the end (the engine's own cost tracking). */
  readonly costReport: unknown;
  /** GET /v1/compliance and /v1/incidents at the end. */
  readonly compliance: unknown;
  readonly incidents: unknown;
}

export async function runSimDay(o: SimDayOptions, progress: (line: string) => void = () => {}): Promise<SimDayResult> {
  const dir = mkdtempSync(join(tmpdir(), 'homeostat-simday-'));
  const groups = planGroups(o);
  const clock = createVirtualClock();
  const sim = createSimProvider({
    seed: o.seed,
    clock,
    metricsInterval: o.metricsIntervalMs,
    maxInstances: Math.ceil(o.peakInstances * 1.5) + 100,
    groups: Object.fromEntries(groups.map((g) => [g.name, { demand: g.demand }])),
    faults: [
      { kind: 'crash', probabilityPerHour: o.crashPerHour },
      { kind: 'hang', probabilityPerHour: o.hangPerHour },
    ],
  });
  const infos = new Map<string, GroupInfo>(
    groups.map((g) => {
      const curve = resolveDemandCurve(g.demand);
      return [
        g.name,
        { demandAt: (t: number) => curve.rpsAt(t), targetRps: o.targetRps, pricePerHour: INSTANCE_TYPE.pricePerHour },
      ];
    }),
  );
  const m = createMeasurements();
  const lockstep = createLockstep(measure(m, infos, sim.simStart));
  const config = loadConfig({
    overrides: {
      server: { port: 0 },
      dataDir: join(dir, 'data'),
      logging: { level: 'silent' },
      log: { fsync: 'normal' },
      manifests: writeManifests(dir, o, groups),
    },
  });
  const started = performance.now();
  const hs = await startEmbedded(config, {
    logger: pino({ level: 'silent' }),
    clock,
    sim,
    decorateLog: (log) => lockstep.decorate(log),
    stopInfraOnClose: true,
  });
  try {
    const endAt = sim.simStart + o.hours * 3_600_000;
    let nextReport = sim.simStart;
    const { steps, unsettled } = await driveLockstep(clock, lockstep, {
      stepMs: o.stepMs,
      endAt,
      quietMs: o.quietMs,
      onStep: (now) => {
        if (now < nextReport) return;
        nextReport += 3_600_000;
        const c = sim.counts();
        progress(
          `sim ${new Date(now).toISOString().slice(11, 16)}: ${c.healthy} healthy, ${c.starting} starting, ` +
            `${lockstep.appended} events, ${((performance.now() - started) / 1000).toFixed(0)} s wall`,
        );
      },
    });
    const wallMs = performance.now() - started;
    const get = async (path: string) => (await fetch(`${hs.url}${path}`)).json() as Promise<unknown>;
    const [costReport, compliance, incidents] = await Promise.all([
      get('/v1/cost'),
      get('/v1/compliance'),
      get('/v1/incidents?all=true'),
    ]);
    const faultsFired: Record<string, number> = {};
    for (const f of sim.faultLog()) faultsFired[f.kind] = (faultsFired[f.kind] ?? 0) + 1;
    const endMs = o.hours * 3_600_000;
    const peer = (kind: PeerKind) =>
      new Map(
        groups.map((g) => [
          g.name,
          runPeer(
            kind,
            {
              demandAt: infos.get(g.name)!.demandAt,
              targetRps: o.targetRps,
              min: g.min,
              max: g.max,
              initial: g.initial,
              bootMs: INSTANCE_TYPE.bootMs,
              failures: m.failureTimes.filter((f) => f.group === g.name).map((f) => f.t),
            },
            endMs,
          ),
        ]),
      );
    return {
      options: o,
      groups,
      infos,
      m,
      peers: { hpa: peer('hpa'), aws: peer('aws') },
      wallMs,
      steps,
      unsettled,
      events: lockstep.appended,
      faultsFired,
      costReport,
      compliance,
      incidents,
    };
  } finally {
    await hs.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
