/**
 * @module What the sim-day scenario measures, from the events the engine appends to its log (seen
 * through the lockstep tap): per metrics sample and group the serving capacity against the
 * instances the demand needs, instance-seconds (cost), instance failures, and every action record
 * the gate published (outcome, rail).
 */
import type { CloudEvent } from '../../../src/core/event.js';

/** One group's metrics sample next to the demand it was offered. */
export interface Sample {
  readonly group: string;
  /** ms since the simulation start. */
  readonly t: number;
  /** Requests per second offered (the demand curve at t, without noise). */
  readonly demandRps: number;
  /** Instances the demand needs at the policy's target per instance: ceil(demand / target). */
  readonly needed: number;
  /** Running and healthy instances (what the balancer routes to). */
  readonly serving: number;
  /** Starting or running instances (what is paid for). */
  readonly instances: number;
  readonly capacityRps: number;
  readonly errorRate: number;
}

export interface GroupInfo {
  readonly demandAt: (t: number) => number;
  readonly targetRps: number;
  readonly pricePerHour: number;
}

export interface ActionCount {
  readonly policyKind: string;
  readonly action: string;
  readonly outcome: string;
  readonly rail: string;
  count: number;
}

export interface Measurements {
  readonly samples: Sample[];
  readonly actions: Map<string, ActionCount>;
  /** Failure events by type (crashed not asked for, unhealthy). */
  readonly failures: Map<string, number>;
  /** Each failure: its group and time (ms since the simulation start). */
  readonly failureTimes: { readonly group: string; readonly t: number }[];
  /** Instances started with a cause (by an action) vs without. */
  started: number;
  stoppedAsked: number;
  readonly other: Map<string, number>;
  /** Instance-seconds per group, integrated over the metrics samples (instances × interval). */
  readonly instanceSeconds: Map<string, number>;
}

const GROUP_SUBJECT = 'instancegroup/';

export function createMeasurements(): Measurements {
  return {
    samples: [],
    actions: new Map(),
    failures: new Map(),
    failureTimes: [],
    started: 0,
    stoppedAsked: 0,
    other: new Map(),
    instanceSeconds: new Map(),
  };
}

const bump = (m: Map<string, number>, key: string, by = 1) => m.set(key, (m.get(key) ?? 0) + by);

/** Returns the tap that fills `m`; `simStart` is the virtual time the simulation started at. */
export function measure(m: Measurements, groups: ReadonlyMap<string, GroupInfo>, simStart: number) {
  return (event: CloudEvent): void => {
    const data = (event as { data?: Record<string, unknown> }).data ?? {};
    const type = event.type;
    if (type === 'infra.metrics' && event.subject?.startsWith(GROUP_SUBJECT)) {
      const group = event.subject.slice(GROUP_SUBJECT.length);
      const info = groups.get(group);
      if (info === undefined) return;
      const t = Date.parse(event.time!) - simStart;
      const demandRps = info.demandAt(t);
      m.samples.push({
        group,
        t,
        demandRps,
        needed: Math.ceil(demandRps / info.targetRps),
        serving: Number(data.healthyInstances),
        instances: Number(data.instances),
        capacityRps: Number(data.capacityRps),
        errorRate: Number(data.errorRate),
      });
      bump(m.instanceSeconds, group, (Number(data.instances) * Number(data.intervalMs)) / 1000);
    } else if (type.startsWith('homeostat.action.')) {
      const rec = data as { policy?: string; action?: string; outcome?: string; rail?: string };
      const policyKind = String(rec.policy ?? '?').split('/')[0]!;
      const key = `${policyKind}|${rec.action}|${type.slice('homeostat.action.'.length)}|${rec.rail ?? ''}`;
      const entry = m.actions.get(key) ?? {
        policyKind,
        action: String(rec.action),
        outcome: type.slice('homeostat.action.'.length),
        rail: rec.rail ?? '',
        count: 0,
      };
      entry.count++;
      m.actions.set(key, entry);
    } else if (type === 'infra.instance.crashed' || type === 'infra.instance.unhealthy') {
      bump(m.failures, type.slice('infra.instance.'.length));
      m.failureTimes.push({ group: String(data.group), t: Date.parse(event.time!) - simStart });
    } else if (type === 'infra.instance.started') {
      m.started++;
    } else if (
      type.startsWith('incident.') ||
      type.startsWith('budget.') ||
      type.startsWith('compliance.') ||
      type.startsWith('cost.') ||
      type === 'infra.group.scaled'
    ) {
      bump(m.other, type);
    }
  };
}
