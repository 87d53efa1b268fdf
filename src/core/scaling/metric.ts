/** @module Reads a ScalingPolicy's metric from an event: the value, per instance when derived, and whether there is traffic. */
import { formatJsonPath, resolveJsonPath } from '../delivery/json-path.js';
import type { MetricReading, MetricSpec, ScaleToZeroSpec } from './types.js';

const PER_INSTANCE = 'PerInstance';

/** The fields that count as traffic for scale to zero when `scaleToZero.activity` is not given. */
export const DEFAULT_ACTIVITY_FIELDS: readonly string[] = Object.freeze(['data.rps', 'data.requests', 'data.inFlight']);

type Path = readonly (string | number)[];

function numberAt(root: unknown, path: Path): { value?: number; why?: string } {
  const r = resolveJsonPath(root, path);
  if (!r.found) return { why: r.why };
  if (typeof r.value !== 'number' || !Number.isFinite(r.value)) {
    return { why: `${formatJsonPath(path)} is ${JSON.stringify(r.value)}, not a finite number` };
  }
  return { value: r.value };
}

/** `data.rpsPerInstance` → `['data', 'rps']`; undefined when the last segment does not end in PerInstance. */
function totalPathOf(path: Path): Path | undefined {
  const last = path[path.length - 1];
  if (typeof last !== 'string' || !last.endsWith(PER_INSTANCE) || last.length === PER_INSTANCE.length) return undefined;
  return [...path.slice(0, -1), last.slice(0, -PER_INSTANCE.length)];
}

/** A path as a manifest writes it: `data.rps` (no leading `$.`). */
export function fieldText(path: Path): string {
  const text = formatJsonPath(path);
  return text.startsWith('$.') ? text.slice(2) : text;
}

function perInstance(
  total: number,
  totalField: string,
  metric: MetricSpec,
  instances: number | undefined,
): MetricReading {
  if (instances === undefined) {
    return {
      ok: false,
      total,
      why: `${metric.instancesField} is missing, so ${totalField} cannot be divided per instance`,
    };
  }
  if (instances === 0)
    return {
      ok: false,
      total,
      instances,
      why: `${metric.instancesField} is 0: no instances to divide ${totalField} by`,
    };
  return {
    ok: true,
    value: total / instances,
    instances,
    total,
    derived: `${totalField} / ${metric.instancesField}`,
  };
}

/**
 * The metric's value in `event` (a CloudEvent or any JSON object; paths start at its root).
 * `perInstance` divides the field by the instances field; a `...PerInstance` field the event
 * lacks is derived the same way from the field without the suffix.
 */
export function readMetric(metric: MetricSpec, event: unknown): MetricReading {
  const count = numberAt(event, metric.instancesPath).value;
  const instances = count !== undefined && count >= 0 ? count : undefined;
  const direct = numberAt(event, metric.path);
  if (direct.value !== undefined) {
    if (metric.perInstance) return perInstance(direct.value, metric.field, metric, instances);
    return { ok: true, value: direct.value, ...(instances === undefined ? {} : { instances }) };
  }
  const totalPath = metric.perInstance ? undefined : totalPathOf(metric.path);
  const total = totalPath === undefined ? undefined : numberAt(event, totalPath).value;
  if (totalPath !== undefined && total !== undefined) {
    return perInstance(total, fieldText(totalPath), metric, instances);
  }
  return {
    ok: false,
    why: direct.why ?? `${metric.field} is missing`,
    ...(instances === undefined ? {} : { instances }),
  };
}

/** Whether `event` shows traffic: any activity field is a positive number. */
export function isActive(activity: ScaleToZeroSpec['activity'], event: unknown): boolean {
  return activity.some((a) => (numberAt(event, a.path).value ?? 0) > 0);
}
