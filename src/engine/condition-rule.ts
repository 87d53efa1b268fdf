/**
 * @module One rule's stateful condition as the engine runs it: the condition state of
 * core/conditions fed in log time (each event at its append time, every deadline up to that time
 * ticked first), a sequence's step patterns, and firings turned into `homeostat.condition.fired`
 * events with deterministic ids. Used by the condition runner (conditions.ts) and by backtests.
 */
import { createConditionState } from '../core/conditions/state.js';
import { type ConditionState, type Firing, whenKind, type WhenSpec } from '../core/conditions/types.js';
import { sha256Hex } from '../core/delivery/sha256.js';
import type { CloudEvent } from '../core/event.js';
import { createMatcher } from '../core/pattern/index.js';
import { CONDITION_FIRED_TYPE, CONDITION_SOURCE_PREFIX, conditionSource, type RuleSpec } from '../core/rules/types.js';
import type { LogRecord } from '../ports/event-log.js';

/** Prefix of fired event ids; bump the number if the derivation ever changes. */
export const FIRING_ID_PREFIX = 'hsc1-';

/** Deadlines one `advance` runs at most (a guard; each tick moves time strictly forward). */
const MAX_TICKS_PER_ADVANCE = 100_000;

/** What a `homeostat.condition.fired` event carries in `data`. */
export interface FiredData {
  readonly rule: string;
  /** The condition's generation: it starts again at a new one when `match` or `when` changes. */
  readonly generation: number;
  /** The group key (`''` without `groupBy`). */
  readonly group: string;
  readonly kind: string;
  /** When it fired (RFC 3339): the trigger's append time, or the deadline that a tick ran. */
  readonly at: string;
  /** The evaluator's account: counts, times, the aggregate's arithmetic. */
  readonly detail: Readonly<Record<string, unknown>>;
  /** The event that made it fire; absent for time-driven firings (absence, debounce, expiry). */
  readonly trigger?: CloudEvent;
}

/** A firing as an event to append, with the event that caused it (if any). */
export interface FiredEvent {
  readonly event: CloudEvent;
  readonly trigger?: LogRecord;
}

/** One rule's condition; not safe to feed from two places at once. */
export interface RuleCondition {
  readonly rule: string;
  readonly fingerprint: string;
  readonly generation: number;
  readonly state: ConditionState;
  /** Deadlines run so far (a change means the state may have changed without an event). */
  readonly ticks: number;
  /** Feeds a record the rule's `match` matched, at its append time; returns the firings. */
  feed(record: LogRecord): FiredEvent[];
  /** Runs every deadline up to and including `time`; returns the firings. */
  advance(time: number): FiredEvent[];
}

/**
 * What makes two versions of a rule the same condition: its match, when and step patterns. A
 * replaced rule with another fingerprint starts from an empty state (targets may change freely).
 */
export function conditionFingerprint(spec: RuleSpec): string {
  const steps = spec.steps && { first: spec.steps.first.source, then: spec.steps.then.source };
  return sha256Hex(canonicalJson({ match: spec.match.source, when: spec.when, steps })).slice(0, 32);
}

/** JSON text with object keys sorted, so that reordering a manifest's keys changes nothing. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (typeof value !== 'object' || value === null) return JSON.stringify(value) ?? 'null';
  const entries = Object.entries(value).filter(([, v]) => v !== undefined);
  entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

/** The rule a fired event belongs to (its source names it), or undefined for any other event. */
export function firedRuleOf(event: CloudEvent): string | undefined {
  if (event.type !== CONDITION_FIRED_TYPE || !event.source.startsWith(CONDITION_SOURCE_PREFIX)) return undefined;
  return event.source.slice(CONDITION_SOURCE_PREFIX.length);
}

/** The deterministic id of a firing: the same (rule, generation, group, time, trigger) gives the same id. */
export function firingId(rule: string, generation: number, firing: Firing, trigger?: CloudEvent): string {
  let input = '';
  const fields = [rule, String(generation), firing.group, String(firing.at), trigger?.source ?? '', trigger?.id ?? ''];
  for (const field of fields) input += `${field.length}:${field}`;
  return FIRING_ID_PREFIX + sha256Hex(input).slice(0, 32);
}

/** Builds the `homeostat.condition.fired` event of a firing. */
export function firedEvent(
  rule: string,
  generation: number,
  spec: WhenSpec,
  firing: Firing,
  trigger?: CloudEvent,
): CloudEvent {
  const subject = firing.group !== '' ? firing.group : trigger?.subject;
  const at = new Date(firing.at).toISOString();
  const data: FiredData = {
    rule,
    generation,
    group: firing.group,
    kind: whenKind(spec),
    at,
    detail: firing.detail,
    ...(trigger === undefined ? {} : { trigger }),
  };
  return {
    specversion: '1.0',
    id: firingId(rule, generation, firing, trigger),
    source: conditionSource(rule),
    type: CONDITION_FIRED_TYPE,
    time: at,
    ...(subject === undefined ? {} : { subject }),
    datacontenttype: 'application/json',
    partitionkey: rule,
    ...(trigger === undefined ? {} : { causationid: trigger.id }),
    ...(typeof trigger?.correlationid === 'string' ? { correlationid: trigger.correlationid } : {}),
    ...(typeof trigger?.traceparent === 'string' ? { traceparent: trigger.traceparent } : {}),
    data,
  };
}

type Step = 'first' | 'then';

/**
 * Creates the condition of a rule with `when`. `startedAt` starts the silence of an ungrouped
 * `absent` (when the rule began to watch; other kinds ignore it); `snapshot` restores a state
 * saved from the same fingerprint (an invalid one throws E_INVALID).
 */
export function createRuleCondition(
  spec: RuleSpec,
  generation: number,
  options: { startedAt?: number; snapshot?: unknown } = {},
): RuleCondition {
  const when = spec.when;
  if (when === undefined) throw new Error(`rule ${spec.name} has no when`);
  // Only an ungrouped absence needs a start; for other kinds it would clamp the times of events
  // appended earlier but fed later (after a restart) and so change their firings' ids.
  const startsSilence = 'absent' in when && when.groupBy === undefined && options.startedAt !== undefined;
  const state = createConditionState(when, startsSilence ? { startedAt: options.startedAt } : {});
  if (options.snapshot !== undefined) state.restore(options.snapshot);
  const steps = spec.steps && createMatcher<Step>();
  if (spec.steps && steps) {
    steps.set('first', spec.steps.first);
    steps.set('then', spec.steps.then);
  }
  let checkedAt = -Infinity;
  let ticks = 0;
  const rule = spec.name;
  const toEvent = (firing: Firing, trigger?: LogRecord): FiredEvent => ({
    event: firedEvent(rule, generation, when, firing, trigger?.event),
    ...(trigger === undefined ? {} : { trigger }),
  });

  function advance(time: number): FiredEvent[] {
    const out: FiredEvent[] = [];
    for (let i = 0; i < MAX_TICKS_PER_ADVANCE; i++) {
      const deadline = state.nextDeadline();
      if (deadline === undefined || deadline > time) break;
      ticks++;
      for (const f of state.onTick(deadline)) out.push(toEvent(f));
    }
    checkedAt = Math.max(checkedAt, time);
    return out;
  }

  return {
    rule,
    fingerprint: conditionFingerprint(spec),
    generation,
    state,
    get ticks() {
      return ticks;
    },
    advance,
    feed(record) {
      const at = record.appendedAt;
      // Deadlines up to the event's time come first, as they would have in real time.
      const out = at > checkedAt ? advance(at) : [];
      // An event matching both steps completes a waiting sequence, then starts the next one.
      const matched = steps ? steps.match(record.event) : [undefined];
      const order = matched.length > 1 ? (['then', 'first'] as const) : matched;
      for (const step of order) {
        for (const f of state.onEvent(record.event, at, step)) out.push(toEvent(f, record));
      }
      return out;
    },
  };
}
