/**
 * @module The condition state of one rule: groups of windows (kinds.ts) behind a gate that adds
 * edge triggering, debounce and cooldown, with a JSON snapshot for persistence.
 */
import { invalid } from '../errors.js';
import { compilePath, kindOps, readField, type KindOps, type KindState } from './kinds.js';
import { whenKind, type ConditionState, type Firing, type WhenSpec } from './types.js';

/** Options for {@link createConditionState}. */
export interface ConditionStateOptions {
  /** Most groups kept; past it the least recently seen group is forgotten. Default 10,000. */
  readonly maxGroups?: number;
  /**
   * For an ungrouped `absent`: when the silence starts counting before any event (e.g. the time
   * the rule was enabled). Without it, the first `onTick` or `onEvent` starts it.
   */
  readonly startedAt?: number;
}

/** Default of {@link ConditionStateOptions.maxGroups}. */
export const DEFAULT_MAX_GROUPS = 10_000;

/** Firing gate of one group: when the condition began holding, whether this holding fired. */
interface Gate {
  since?: number;
  fired: boolean;
  firedAt?: number;
}

interface Group {
  gate: Gate;
  window: KindState;
}

interface Snapshot {
  v: 1;
  kind: string;
  now: number | null;
  groups: [string, Group][];
}

/**
 * Creates the state of one rule's `when`. Firing is edge-triggered per group: it fires when the
 * condition has held continuously for `debounce` (and `cooldown` has passed since the group's
 * last firing), then not again until the condition has stopped holding and holds again. An
 * `absent` fires once per silence; a `sequence` once per completed pair. `now` must not go
 * backwards; an earlier `now` is taken as the latest one seen.
 */
export function createConditionState(spec: WhenSpec, options: ConditionStateOptions = {}): ConditionState {
  const ops = kindOps(spec);
  const kind = whenKind(spec);
  const maxGroups = options.maxGroups ?? DEFAULT_MAX_GROUPS;
  const groupPath = spec.groupBy === undefined ? undefined : compilePath(spec.groupBy);
  const implicitGroup = kind === 'absent' && groupPath === undefined;
  let groups = new Map<string, Group>();
  let last: number | undefined = options.startedAt;
  if (implicitGroup && last !== undefined) groups.set('', newGroup(ops, last));

  const clamp = (now: number): number => (last = last === undefined ? now : Math.max(last, now));

  function ensureImplicit(now: number): void {
    if (implicitGroup && !groups.has('')) groups.set('', newGroup(ops, now));
  }

  function groupKey(event: unknown): string | undefined {
    if (groupPath === undefined) return '';
    const v = readField(event, groupPath);
    if (v === undefined) return undefined;
    return typeof v === 'string' ? v : JSON.stringify(v);
  }

  return {
    onEvent(event, at, step) {
      const now = clamp(at);
      ensureImplicit(now);
      const key = groupKey(event);
      if (key === undefined) return [];
      const group = groups.get(key) ?? newGroup(ops, now);
      groups.delete(key);
      groups.set(key, group);
      const out: Firing[] = [];
      // The window may have changed since the last evaluation (expiry): settle the gate first,
      // without firing, so that the firing below sees the event and re-arms correctly.
      evaluate(spec, ops, key, group, now, false);
      ops.apply(group.window, event, now, step);
      pushDefined(out, evaluate(spec, ops, key, group, now, true));
      if (groups.size > maxGroups) groups.delete(groups.keys().next().value!);
      return out;
    },
    onTick(at) {
      const now = clamp(at);
      ensureImplicit(now);
      const out: Firing[] = [];
      for (const [key, group] of groups) {
        pushDefined(out, evaluate(spec, ops, key, group, now, true));
        if (forgettable(spec, ops, group, now)) groups.delete(key);
      }
      return out;
    },
    nextDeadline() {
      const now = last ?? -Infinity;
      let next = Infinity;
      for (const group of groups.values()) next = Math.min(next, deadline(spec, ops, group, now) ?? Infinity);
      return next === Infinity ? undefined : next;
    },
    snapshot(): Snapshot {
      return JSON.parse(JSON.stringify({ v: 1, kind, now: last ?? null, groups: [...groups] })) as Snapshot;
    },
    restore(snapshot) {
      const s = checkSnapshot(snapshot, kind);
      groups = new Map(structuredCloneJson(s.groups));
      last = s.now ?? undefined;
    },
  };
}

function newGroup(ops: KindOps, now: number): Group {
  return { gate: { fired: false }, window: ops.init(now) };
}

function pushDefined(out: Firing[], f: Firing | undefined): void {
  if (f !== undefined) out.push(f);
}

/** Runs the gate for one group at `now`; returns a firing when it fires (never unless `mayFire`). */
function evaluate(
  spec: WhenSpec,
  ops: KindOps,
  key: string,
  group: Group,
  now: number,
  mayFire: boolean,
): Firing | undefined {
  const detail = ops.holds(group.window, now);
  const gate = group.gate;
  if (detail === undefined) {
    delete gate.since;
    gate.fired = false;
    return undefined;
  }
  gate.since ??= now;
  const ready = mayFire && !gate.fired && now - gate.since >= spec.debounce && cooledDown(spec, gate, now);
  if (ready) gate.fired = true;
  if (ready) gate.firedAt = now;
  if (ops.pulse) {
    delete gate.since;
    gate.fired = false;
  }
  if (!ready) return undefined;
  const extra = spec.debounce > 0 ? { heldSince: gate.since ?? now, debounce: spec.debounce } : {};
  return { group: key, at: now, detail: { ...detail, ...extra } };
}

function cooledDown(spec: WhenSpec, gate: Gate, now: number): boolean {
  return gate.firedAt === undefined || now - gate.firedAt >= spec.cooldown;
}

/** The next time this group's evaluation can change: its window, or its debounce or cooldown. */
function deadline(spec: WhenSpec, ops: KindOps, group: Group, now: number): number | undefined {
  const windowChange = ops.nextChange(group.window, now) ?? Infinity;
  const { since, fired, firedAt } = group.gate;
  let gateOpen = Infinity;
  if (since !== undefined && !fired) gateOpen = Math.max(since + spec.debounce, (firedAt ?? -Infinity) + spec.cooldown);
  const next = Math.min(windowChange, gateOpen > now ? gateOpen : Infinity);
  return next === Infinity ? undefined : next;
}

/** A group can be dropped when its window is idle and forgetting it cannot shorten a cooldown. */
function forgettable(spec: WhenSpec, ops: KindOps, group: Group, now: number): boolean {
  const { since, firedAt } = group.gate;
  const cooling = firedAt !== undefined && now - firedAt < spec.cooldown;
  return since === undefined && !cooling && ops.idle(group.window, now);
}

function checkSnapshot(snapshot: unknown, kind: string): Snapshot {
  const s = snapshot as Partial<Snapshot> | null;
  const ok = typeof s === 'object' && s !== null && s.v === 1 && s.kind === kind && Array.isArray(s.groups);
  if (!ok) {
    throw invalid('invalid condition snapshot', [
      { pointer: '', message: `expected a version 1 snapshot of a '${kind}' condition; discard it and start empty` },
    ]);
  }
  return s as Snapshot;
}

function structuredCloneJson<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}
