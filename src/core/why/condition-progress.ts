/**
 * @module How far a rule's `when` condition is from firing, in words: "count 3 of atLeast 5 within
 * 1m", "sustained for 12s of the required 1m", plus the gate (debounce, cooldown, already fired).
 * Reads one group of a condition snapshot (core/conditions/state.ts); used by why-not. Pure.
 */
import { aggregate, compare } from '../conditions/aggregate.js';
import {
  type AggregateWhen,
  type AbsentWhen,
  type CountWhen,
  type SequenceWhen,
  type SustainedWhen,
  type WhenSpec,
  whenKind,
} from '../conditions/types.js';
import { formatDuration } from './format.js';

/** One group of a condition snapshot: the firing gate and the kind's window (JSON). */
export interface ConditionGroupState {
  readonly gate?: { readonly since?: number; readonly fired?: boolean; readonly firedAt?: number };
  readonly window?: Readonly<Record<string, unknown>>;
}

export interface ConditionProgress {
  /** Whether the window condition holds at `now` (the gate may still keep it from firing). */
  readonly holds: boolean;
  /** One or two sentences. */
  readonly text: string;
  /** The figures behind the text. */
  readonly detail: Readonly<Record<string, unknown>>;
}

const iso = (ms: number): string => new Date(ms).toISOString();
const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

interface WindowProgress {
  readonly holds: boolean;
  readonly text: string;
  readonly detail: Record<string, unknown>;
}

function sustained(spec: SustainedWhen, w: Readonly<Record<string, unknown>>, now: number): WindowProgress {
  const start = num(w.start);
  const last = num(w.last);
  const need = formatDuration(spec.for);
  if (start === undefined || last === undefined || now - last > spec.maxGap) {
    return {
      holds: false,
      text: `no streak: sustained needs matching events for ${need} without a gap over ${formatDuration(spec.maxGap)}`,
      detail: { for: spec.for, maxGap: spec.maxGap },
    };
  }
  const held = now - start;
  return {
    holds: held >= spec.for,
    text: `sustained for ${formatDuration(held)} of the required ${need} (${num(w.events) ?? 0} events since ${iso(start)})`,
    detail: { heldMs: held, for: spec.for, maxGap: spec.maxGap, since: start, events: num(w.events) ?? 0 },
  };
}

function count(spec: CountWhen, w: Readonly<Record<string, unknown>>, now: number): WindowProgress {
  const { atLeast, within } = spec.count;
  const times = Array.isArray(w.times) ? w.times.filter((t): t is number => typeof t === 'number') : [];
  const inWindow = times.filter((t) => now - t <= within);
  const first = inWindow[0];
  const since = first === undefined ? '' : ` (the oldest counted at ${iso(first)})`;
  return {
    holds: inWindow.length >= atLeast,
    text: `count ${inWindow.length} of atLeast ${atLeast} within ${formatDuration(within)}${since}`,
    detail: { count: inWindow.length, atLeast, within },
  };
}

function absent(spec: AbsentWhen, w: Readonly<Record<string, unknown>>, now: number): WindowProgress {
  const last = num(w.last);
  const silent = last === undefined ? 0 : now - last;
  return {
    holds: last !== undefined && silent >= spec.absent,
    text: `an absence condition fires after ${formatDuration(spec.absent)} without a matching event, never on an event; a matching event starts the silence again (silent for ${formatDuration(silent)} at this time)`,
    detail: { absent: spec.absent, silentMs: silent, ...(last === undefined ? {} : { lastSeenAt: last }) },
  };
}

function sequence(spec: SequenceWhen, w: Readonly<Record<string, unknown>>, now: number): WindowProgress {
  const within = spec.sequence.within;
  const firstAt = num(w.firstAt);
  if (firstAt !== undefined && now - firstAt <= within) {
    return {
      holds: false,
      text: `step 'first' was seen at ${iso(firstAt)}; waiting for step 'then' within ${formatDuration(within)} of it`,
      detail: { firstAt, within },
    };
  }
  return {
    holds: false,
    text: `no step 'first' within ${formatDuration(within)} before this time: a sequence fires on 'then' after 'first'`,
    detail: { within },
  };
}

function aggregateOf(spec: AggregateWhen, w: Readonly<Record<string, unknown>>, now: number): WindowProgress {
  const a = spec.aggregate;
  const samples = (Array.isArray(w.samples) ? w.samples : [])
    .filter((s): s is [number, number] => Array.isArray(s) && typeof s[0] === 'number' && typeof s[1] === 'number')
    .filter(([t]) => now - t <= a.within);
  const needs = `needs ${a.fn}(${a.field}) ${a.op} ${a.value}`;
  if (samples.length === 0) {
    return {
      holds: false,
      text: `no samples of ${a.field} within ${formatDuration(a.within)}; ${needs}`,
      detail: { samples: 0, within: a.within },
    };
  }
  const r = aggregate(
    a.fn,
    samples.map(([, v]) => v),
  );
  return {
    holds: compare(r.value, a.op, a.value),
    text: `${a.fn}(${a.field}) = ${Math.round(r.value * 1000) / 1000} over ${samples.length} samples in the last ${formatDuration(a.within)} (${r.arithmetic}); ${needs}`,
    detail: { value: r.value, samples: samples.length, within: a.within, arithmetic: r.arithmetic },
  };
}

function windowProgress(spec: WhenSpec, w: Readonly<Record<string, unknown>>, now: number): WindowProgress {
  switch (whenKind(spec)) {
    case 'sustained':
      return sustained(spec as SustainedWhen, w, now);
    case 'count':
      return count(spec as CountWhen, w, now);
    case 'absent':
      return absent(spec as AbsentWhen, w, now);
    case 'sequence':
      return sequence(spec as SequenceWhen, w, now);
    case 'aggregate':
      return aggregateOf(spec as AggregateWhen, w, now);
  }
}

/** Why a holding condition still does not fire at `now`: already fired, debounce, cooldown. */
function gateText(spec: WhenSpec, gate: ConditionGroupState['gate'], now: number): string | undefined {
  const firedAt = gate?.firedAt;
  if (gate?.fired === true && firedAt !== undefined) {
    return `it already fired at ${iso(firedAt)} while the condition kept holding; it fires again only after the condition stops holding`;
  }
  if (firedAt !== undefined && now - firedAt < spec.cooldown) {
    return `it is cooling down until ${iso(firedAt + spec.cooldown)} (cooldown ${formatDuration(spec.cooldown)} after the firing at ${iso(firedAt)})`;
  }
  const since = gate?.since;
  if (since !== undefined && now - since < spec.debounce) {
    return `it has held for ${formatDuration(now - since)} of the ${formatDuration(spec.debounce)} debounce`;
  }
  return undefined;
}

/**
 * The progress of one group of a condition at `now` (the group's state after the event was fed).
 * Without a group (the event had no value at `groupBy`, or nothing was fed) the window is empty.
 */
export function conditionProgress(
  spec: WhenSpec,
  group: ConditionGroupState | undefined,
  now: number,
): ConditionProgress {
  const w = windowProgress(spec, group?.window ?? {}, now);
  const gate = w.holds ? gateText(spec, group?.gate, now) : undefined;
  const text = gate === undefined ? w.text : `${w.text}; ${gate}`;
  return { holds: w.holds, text, detail: { kind: whenKind(spec), ...w.detail } };
}

/** The account of a firing (a fired event's `data.detail`) in words: "count 5 of atLeast 5 within 1m". */
export function describeFiring(detail: Readonly<Record<string, unknown>>): string {
  const d = detail;
  const dur = (v: unknown): string => (typeof v === 'number' ? formatDuration(v) : '?');
  switch (d.kind) {
    case 'count':
      return `count ${String(d.count)} of atLeast ${String(d.atLeast)} within ${dur(d.within)}`;
    case 'sustained': {
      const held =
        num(d.lastEventAt) !== undefined && num(d.since) !== undefined ? dur(num(d.lastEventAt)! - num(d.since)!) : '?';
      return `sustained for ${held} (${String(d.events ?? '?')} events; required ${dur(d.for)})`;
    }
    case 'absent':
      return `no matching event for ${dur(d.silentMs)} (absent ${dur(d.absent)})`;
    case 'sequence':
      return `'${String(d.first)}' then '${String(d.then)}' ${dur(d.gapMs)} apart (within ${dur(d.within)})`;
    case 'aggregate':
      return typeof d.arithmetic === 'string'
        ? `${String(d.fn)}(${String(d.field)}): ${d.arithmetic}`
        : `${String(d.fn)}(${String(d.field)}) ${String(d.op)} ${String(d.threshold)}`;
    default:
      return 'condition held';
  }
}
