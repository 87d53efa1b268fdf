/**
 * @module The sim-day fleet: groups with demand curves, the stack and one policy of each kind, as
 * manifests written to a temporary directory for the embedded runtime to apply at start.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type DemandCurveInput, resolveDemandCurve } from '../../../src/providers/sim/demand.js';

export interface SimDayOptions {
  readonly groups: number;
  /** Instances' worth of demand at the fleet's peak (at the target per instance). */
  readonly peakInstances: number;
  readonly hours: number;
  readonly metricsIntervalMs: number;
  readonly stepMs: number;
  readonly quietMs: number;
  readonly seed: number;
  /** Per instance and hour. */
  readonly crashPerHour: number;
  readonly hangPerHour: number;
  /** Requests per second per instance the ScalingPolicies keep (capacity is 100, sim.medium). */
  readonly targetRps: number;
  /** The last group is a batch group, idle at night, with an IdlePolicy and no owner tag. */
  readonly idleGroup: boolean;
  /** Hour of the demand day the simulation starts at (demand curves are shifted). Default 0. */
  readonly startHour?: number;
}

export const INSTANCE_TYPE = { name: 'sim.medium', capacityRps: 100, pricePerHour: 0.042, bootMs: 25_000 };
export const STACK = 'simday';

export interface GroupPlan {
  readonly name: string;
  readonly demand: DemandCurveInput;
  readonly initial: number;
  readonly min: number;
  readonly max: number;
  readonly idle: boolean;
}

const H = 3_600_000;

/** Groups g01..gNN; peaks staggered from 12:00 to 16:00 (UTC, the simulation starts at midnight). */
export function planGroups(o: SimDayOptions): GroupPlan[] {
  const perGroup = o.peakInstances / o.groups;
  const peakRps = perGroup * o.targetRps;
  const shift = (o.startHour ?? 0) * H;
  const at = (ms: number) => ms - shift;
  return Array.from({ length: o.groups }, (_, i) => {
    const idle = o.idleGroup && i === o.groups - 1 && o.groups > 1;
    const peakAt = ((12 + (4 * i) / Math.max(1, o.groups - 1)) * H - shift + 24 * H) % (24 * H);
    const demand: DemandCurveInput = idle
      ? {
          kind: 'points',
          points: [
            { at: 0, rps: 0 },
            { at: 6 * H, rps: 0 },
            { at: 6 * H + 1, rps: 0.1 * peakRps },
            { at: 12 * H, rps: peakRps },
            { at: 20 * H, rps: 0.1 * peakRps },
            { at: 20 * H + 1, rps: 0 },
          ]
            .map((p) => ({ at: at(p.at), rps: p.rps }))
            .filter((p) => p.at >= 0),
          noise: 0.02,
        }
      : { kind: 'diurnal', min: 0.12 * peakRps, max: peakRps, peakAt, noise: 0.02 };
    return {
      name: `g${String(i + 1).padStart(2, '0')}`,
      demand,
      initial: Math.max(2, Math.ceil(resolveDemandCurve(demand).rpsAt(0) / o.targetRps)),
      min: 2,
      max: Math.ceil(perGroup * 1.3),
      idle,
    };
  });
}

/** Writes the stack and the policies; returns the file paths, stack first. */
export function writeManifests(dir: string, o: SimDayOptions, groups: readonly GroupPlan[]): string[] {
  const docs: Record<string, unknown>[] = [
    manifest('Stack', STACK, {
      provider: 'sim',
      resources: groups.map((g) => ({
        kind: 'InstanceGroup',
        name: g.name,
        ...(g.idle ? {} : { tags: { owner: `team-${g.name}` } }),
        spec: {
          template: { command: 'app', args: [], port: 8080 },
          desired: g.initial,
          min: g.min,
          max: g.max,
          instanceType: INSTANCE_TYPE.name,
          healthCheck: { interval: '5s', timeout: '2s', unhealthyThreshold: 2 },
        },
      })),
    }),
    ...groups.map((g) =>
      manifest('ScalingPolicy', g.name, {
        target: `group/${g.name}`,
        metric: { field: 'data.rpsPerInstance', target: o.targetRps },
      }),
    ),
    ...groups.map((g) =>
      manifest('HealingPolicy', g.name, {
        target: `group/${g.name}`,
        verify: { timeout: '90s' },
      }),
    ),
    manifest('CompliancePolicy', 'require-owner-tag', {
      resources: { kind: 'InstanceGroup' },
      violation: "!('owner' in resource.tags)",
      remedy: 'alert',
      every: '1h',
    }),
    manifest('Budget', 'simday-daily', {
      scope: { stack: STACK },
      amount: budgetAmount(o),
      period: 'day',
      thresholds: [{ actual: '50%' }, { forecast: '100%' }],
    }),
  ];
  const idle = groups.find((g) => g.idle);
  if (idle) {
    docs.push(
      manifest('IdlePolicy', `${idle.name}-idle`, {
        target: `group/${idle.name}`,
        metric: { field: 'data.rps', below: 1 },
        for: '30m',
        action: 'scale-to-min',
      }),
    );
  }
  return docs.map((doc, i) => {
    const file = join(dir, `${String(i).padStart(3, '0')}-${String(doc.kind).toLowerCase()}.json`);
    writeFileSync(file, JSON.stringify(doc));
    return file;
  });
}

/** A daily budget of 70 % of what a static fleet sized for the peak would cost. */
export function budgetAmount(o: SimDayOptions): number {
  return Math.round(0.7 * o.peakInstances * INSTANCE_TYPE.pricePerHour * 24);
}

function manifest(kind: string, name: string, spec: Record<string, unknown>): Record<string, unknown> {
  return { apiVersion: 'homeostat/v1', kind, metadata: { name }, spec };
}
