/**
 * @module The safety rails evaluator: in-memory state over the actions policies took, checked
 * before each new one. Pure: no I/O, time passed in. The action gate (engine/automation/gate.ts)
 * drives it and rebuilds it from the action history after a restart.
 *
 * What counts: every attempted action (executed or failed) counts for cooldown, rate limit and
 * blast radius; only executed ones count for flap and loop detection (a failed action changed
 * nothing to undo). Dry-run actions count only while the asking policy is itself in dry-run, so
 * a dry run shows what the rails would do without holding back real actions later.
 */
import { countReversals, isReversal } from './flap.js';
import * as why from './reasons.js';
import type { ActionDirection, FrozenResource, Rail, RailRequest, SafetySpec, Verdict } from './types.js';

export type RailOutcome = 'executed' | 'failed' | 'dry-run';

/** Directional moves kept per resource for loop detection (across policies). */
export const MAX_MOVES_PER_RESOURCE = 256;
/** Actions kept per policy at most, whatever its windows. */
export const MAX_ENTRIES_PER_POLICY = 100_000;

export interface RailsEntry {
  readonly seq: number;
  readonly policy: string;
  readonly action: string;
  readonly resource: string;
  readonly group?: string;
  readonly direction: ActionDirection;
  readonly at: number;
  readonly kind: RailOutcome;
}

/** JSON form of the state (`snapshot`/`restore`). */
export interface RailsSnapshot {
  readonly version: 1;
  readonly entries: readonly RailsEntry[];
  readonly freezes: readonly FrozenResource[];
  readonly resets: readonly { readonly policy: string; readonly resource: string; readonly seq: number }[];
}

/** Returned by `record`: lets the caller mark the action failed once `perform` threw. */
export interface RecordHandle {
  fail(): void;
}

export interface Rails {
  /**
   * Whether `policy` may take `request` now under `spec`. A flap or loop refusal also freezes the
   * resource for the policies involved (not in dry-run). Does not count the action: call `record`.
   */
  check(policy: string, spec: SafetySpec, request: RailRequest, now: number): Verdict;
  /** Counts an action that passed `check` (call it before awaiting the action, so concurrent checks see it). */
  record(policy: string, request: RailRequest, now: number, outcome: RailOutcome): RecordHandle;
  freeze(policy: string, resource: string, since: number, why: string): void;
  /** Lifts a freeze and forgets the reversals counted so far; false when it was not frozen. */
  unfreeze(policy: string, resource: string): boolean;
  isFrozen(policy: string, resource: string): FrozenResource | undefined;
  /** Every freeze, oldest first. */
  frozen(): FrozenResource[];
  /** Forgets a policy: its actions, freezes and resets. */
  forget(policy: string): void;
  snapshot(): RailsSnapshot;
  restore(snapshot: RailsSnapshot): void;
}

interface Entry extends Omit<RailsEntry, 'kind'> {
  kind: RailOutcome;
}

interface PolicyState {
  /** Time order: rate limit and blast radius. */
  entries: Entry[];
  /** Per resource, time order: cooldown and flap. */
  readonly byResource: Map<string, Entry[]>;
  sweptAt: number;
}

type Refusal = Extract<Verdict, { allow: false }>;
const ALLOW: Verdict = Object.freeze({ allow: true });
const key = (policy: string, resource: string): string => `${policy}\u0000${resource}`;
const groupRef = (group: string): string => `instancegroup/${group}`;

function refuse(rail: Rail, reason: string, retryAt?: number, froze?: readonly string[]): Refusal {
  return {
    allow: false,
    rail,
    reason,
    ...(retryAt === undefined ? {} : { retryAt }),
    ...(froze === undefined ? {} : { froze }),
  };
}

/** Longest window of a spec: older actions no longer matter to it. */
function horizon(spec: SafetySpec): number {
  return Math.max(spec.cooldownMs, spec.rateLimit.perMs, spec.blastRadius.perMs, spec.flap.withinMs);
}

/** Drops entries at or before `cut` from the front of a time-ordered list, keeping at least `keep`. */
function dropBefore(list: Entry[], cut: number, keep = 0): void {
  let i = 0;
  while (i < list.length - keep && list[i]!.at <= cut) i++;
  if (i > 0) list.splice(0, i);
}

export function createRails(): Rails {
  const policies = new Map<string, PolicyState>();
  const moves = new Map<string, Entry[]>();
  const freezes = new Map<string, FrozenResource>();
  const resets = new Map<string, number>();
  let seq = 0;

  const stateOf = (policy: string): PolicyState => {
    let st = policies.get(policy);
    if (st === undefined) {
      st = { entries: [], byResource: new Map(), sweptAt: 0 };
      policies.set(policy, st);
    }
    return st;
  };
  const resetOf = (policy: string, resource: string): number => resets.get(key(policy, resource)) ?? 0;

  function prune(st: PolicyState, resource: string, now: number, spec: SafetySpec): void {
    const h = horizon(spec);
    dropBefore(st.entries, now - h);
    // The last action on a resource is kept past the horizon: the next one may reverse it.
    const list = st.byResource.get(resource);
    if (list) dropBefore(list, now - h, 1);
    if (now - st.sweptAt < h) return;
    st.sweptAt = now;
    for (const [r, l] of st.byResource) {
      dropBefore(l, now - h, 1);
      if (l.length === 1 && l[0]!.at <= now - 2 * h) st.byResource.delete(r);
    }
  }

  function add(e: Entry): void {
    const st = stateOf(e.policy);
    st.entries.push(e);
    if (st.entries.length > MAX_ENTRIES_PER_POLICY) st.entries.shift();
    let list = st.byResource.get(e.resource);
    if (list === undefined) st.byResource.set(e.resource, (list = []));
    list.push(e);
    if (list.length > MAX_ENTRIES_PER_POLICY) list.shift();
    if (e.direction === 'none') return;
    let m = moves.get(e.resource);
    if (m === undefined) moves.set(e.resource, (m = []));
    m.push(e);
    if (m.length > MAX_MOVES_PER_RESOURCE) m.shift();
  }

  function freeze(policy: string, resource: string, since: number, reason: string): void {
    const k = key(policy, resource);
    if (!freezes.has(k)) freezes.set(k, Object.freeze({ policy, resource, since, why: reason }));
  }

  function check(policy: string, spec: SafetySpec, req: RailRequest, now: number): Verdict {
    const frozen = freezes.get(key(policy, req.resource));
    if (frozen) return refuse('frozen', why.frozenReason(policy, req.resource, frozen.since, frozen.why));
    const st = stateOf(policy);
    prune(st, req.resource, now, spec);
    const sim = (req.mode ?? spec.mode) === 'dry-run';
    const counts = (e: Entry): boolean => e.kind !== 'dry-run' || sim;
    return (
      cooldown(policy, spec, req, now, st.byResource.get(req.resource) ?? [], counts) ??
      rateLimit(policy, spec, now, st.entries, counts) ??
      blastRadius(policy, spec, req, now, st.entries, counts) ??
      flapOrLoop(policy, spec, req, now, st, sim) ??
      ALLOW
    );
  }

  function flapOrLoop(
    policy: string,
    spec: SafetySpec,
    req: RailRequest,
    now: number,
    st: PolicyState,
    sim: boolean,
  ): Refusal | undefined {
    const dir = req.direction ?? 'none';
    if (dir === 'none') return undefined;
    const moved = (e: Entry): boolean =>
      e.direction !== 'none' && (e.kind === 'executed' || (sim && e.kind === 'dry-run'));
    const { maxReversals, withinMs } = spec.flap;
    const all = (moves.get(req.resource) ?? []).filter(moved);
    const prev = all[all.length - 1];
    if (prev !== undefined && prev.policy !== policy && isReversal(prev.direction, dir)) {
      const other = prev.policy;
      const after = Math.max(resetOf(policy, req.resource), resetOf(other, req.resource));
      const pair = all.filter((e) => (e.policy === policy || e.policy === other) && e.seq > after);
      const n = countReversals(pair, now - withinMs, (a, b) => a.policy !== b.policy) + 1;
      if (n > maxReversals) {
        const reason = why.loopReason(policy, other, req.resource, n, maxReversals, withinMs, !sim);
        if (sim) return refuse('flap', reason);
        for (const p of [policy, other]) freeze(p, req.resource, now, reason);
        return refuse('flap', reason, undefined, [policy, other]);
      }
    }
    const reset = resetOf(policy, req.resource);
    const own = (st.byResource.get(req.resource) ?? []).filter((e) => moved(e) && e.seq > reset);
    const last = own[own.length - 1];
    if (last === undefined || !isReversal(last.direction, dir)) return undefined;
    const n = countReversals(own, now - withinMs) + 1;
    if (n <= maxReversals) return undefined;
    const reason = why.flapReason(policy, req.resource, last.direction, dir, n, maxReversals, withinMs, !sim);
    if (sim) return refuse('flap', reason);
    freeze(policy, req.resource, now, reason);
    return refuse('flap', reason, undefined, [policy]);
  }

  return {
    check,
    record(policy, req, now, outcome) {
      const e: Entry = {
        seq: ++seq,
        policy,
        action: req.action,
        resource: req.resource,
        ...(req.group === undefined ? {} : { group: req.group }),
        direction: req.direction ?? 'none',
        at: now,
        kind: outcome,
      };
      add(e);
      return {
        fail() {
          e.kind = 'failed';
        },
      };
    },
    freeze,
    unfreeze(policy, resource) {
      const k = key(policy, resource);
      resets.set(k, seq);
      return freezes.delete(k);
    },
    isFrozen: (policy, resource) => freezes.get(key(policy, resource)),
    frozen: () => [...freezes.values()].sort((a, b) => a.since - b.since),
    forget(policy) {
      policies.delete(policy);
      for (const [k, f] of freezes) if (f.policy === policy) freezes.delete(k);
      for (const k of resets.keys()) if (k.startsWith(`${policy}\u0000`)) resets.delete(k);
      for (const [r, m] of moves) {
        const kept = m.filter((e) => e.policy !== policy);
        if (kept.length === 0) moves.delete(r);
        else moves.set(r, kept);
      }
    },
    snapshot() {
      const all = new Set<Entry>();
      for (const st of policies.values()) {
        for (const e of st.entries) all.add(e);
        for (const l of st.byResource.values()) for (const e of l) all.add(e);
      }
      for (const m of moves.values()) for (const e of m) all.add(e);
      const resetList = [...resets].map(([k, s]) => {
        const [policy = '', resource = ''] = k.split('\u0000');
        return { policy, resource, seq: s };
      });
      return {
        version: 1,
        entries: [...all].sort((a, b) => a.seq - b.seq).map((e) => ({ ...e })),
        freezes: [...freezes.values()],
        resets: resetList,
      };
    },
    restore(snapshot) {
      policies.clear();
      moves.clear();
      freezes.clear();
      resets.clear();
      seq = 0;
      for (const e of snapshot.entries) {
        add({ ...e });
        seq = Math.max(seq, e.seq);
      }
      for (const f of snapshot.freezes) freeze(f.policy, f.resource, f.since, f.why);
      for (const r of snapshot.resets) {
        resets.set(key(r.policy, r.resource), r.seq);
        seq = Math.max(seq, r.seq);
      }
    },
  };
}

function cooldown(
  policy: string,
  spec: SafetySpec,
  req: RailRequest,
  now: number,
  list: readonly Entry[],
  counts: (e: Entry) => boolean,
): Refusal | undefined {
  if (spec.cooldownMs <= 0) return undefined;
  const last = list.findLast(counts);
  if (last === undefined || now - last.at >= spec.cooldownMs) return undefined;
  const reason = why.cooldownReason(policy, req.resource, last, spec.cooldownMs, now);
  return refuse('cooldown', reason, last.at + spec.cooldownMs);
}

function rateLimit(
  policy: string,
  spec: SafetySpec,
  now: number,
  entries: readonly Entry[],
  counts: (e: Entry) => boolean,
): Refusal | undefined {
  const { max, perMs } = spec.rateLimit;
  const times = entries.filter((e) => e.at > now - perMs && counts(e)).map((e) => e.at);
  if (times.length < max) return undefined;
  // The window must lose times.length - max + 1 actions before one more fits.
  const retryAt = times[times.length - max]! + perMs;
  return refuse('rate-limit', why.rateReason(policy, times.length, max, perMs, now, retryAt), retryAt);
}

/** For each resource, the time of its latest counted action in the window; `only` narrows the entries. */
function latestByResource(
  entries: readonly Entry[],
  start: number,
  counts: (e: Entry) => boolean,
  only: (e: Entry) => boolean = () => true,
): Map<string, number> {
  const latest = new Map<string, number>();
  for (const e of entries)
    if (e.at > start && counts(e) && only(e)) latest.set(e.resource, Math.max(e.at, latest.get(e.resource) ?? 0));
  return latest;
}

/** When `latest` (resource → last action time) has fewer than `cap` resources again. */
function freesAt(latest: Map<string, number>, cap: number, perMs: number): number {
  const times = [...latest.values()].sort((a, b) => a - b);
  return times[times.length - cap]! + perMs;
}

function blastRadius(
  policy: string,
  spec: SafetySpec,
  req: RailRequest,
  now: number,
  entries: readonly Entry[],
  counts: (e: Entry) => boolean,
): Refusal | undefined {
  const { maxResources, maxPercent, perMs } = spec.blastRadius;
  const start = now - perMs;
  const latest = latestByResource(entries, start, counts);
  if (!latest.has(req.resource) && latest.size >= maxResources) {
    const retryAt = freesAt(latest, maxResources, perMs);
    const reason = why.blastResourcesReason(policy, latest.size, maxResources, perMs, now, retryAt);
    return refuse('blast-radius', reason, retryAt);
  }
  const { group, groupSize } = req;
  if (group === undefined || groupSize === undefined || groupSize <= 0 || req.resource === groupRef(group)) {
    return undefined;
  }
  const cap = Math.max(1, Math.floor((groupSize * maxPercent) / 100));
  const inGroup = latestByResource(entries, start, counts, (e) => e.group === group && e.resource !== groupRef(group));
  if (inGroup.has(req.resource) || inGroup.size < cap) return undefined;
  const retryAt = freesAt(inGroup, cap, perMs);
  const reason = why.blastPercentReason(policy, group, inGroup.size, groupSize, maxPercent, cap, perMs, now, retryAt);
  return refuse('blast-radius', reason, retryAt);
}
