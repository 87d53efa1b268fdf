/**
 * @module Re-evaluates a rule's `when` condition read-only at one event: feeds a fresh condition
 * (condition-rule.ts, the code the engine runs) the events the rule's `match` matched over the
 * condition's window before the event, then reads the event's group from the state. The stored
 * condition state is not used: it is the state now, not at the event's time. Bounded: at most
 * `maxEvents` events are read (newest first from the event), and the result says when that cut
 * the window short.
 */
import { compilePath, readField } from '../../core/conditions/kinds.js';
import { type WhenSpec, whenKind } from '../../core/conditions/types.js';
import { matchPattern } from '../../core/pattern/index.js';
import { CONDITION_FIRED_TYPE, conditionSource, type RuleSpec } from '../../core/rules/types.js';
import { type ConditionGroupState, conditionProgress } from '../../core/why/condition-progress.js';
import type { EventLog, LogRecord } from '../../ports/event-log.js';
import { createRuleCondition, firedRuleOf } from '../condition-rule.js';

export interface ConditionReplay {
  readonly kind: string;
  /** The event's group (`''` without `groupBy`); undefined when the event has no value there. */
  readonly group: string | undefined;
  /** Whether the window condition holds at the event's time. */
  readonly holds: boolean;
  /** Whether the re-evaluation fires on this event. */
  readonly wouldFire: boolean;
  /** The progress in words ("count 3 of atLeast 5 within 1m"). */
  readonly progress: string;
  readonly detail: Readonly<Record<string, unknown>>;
  /** The last firing of the rule for this group before the event, if the log has one in the window. */
  readonly lastFiredAt?: number;
  /** Matching events fed (the event included). */
  readonly fed: number;
  /** Events read. */
  readonly scanned: number;
  /** The window start (append time) the re-evaluation began at. */
  readonly since: number;
  /** True when `maxEvents` stopped the read before the window start: older events were not fed. */
  readonly truncated: boolean;
}

const PAGE = 1_000;

/** How far back the condition can look: its window plus debounce and cooldown. */
export function lookbackOf(when: WhenSpec): number {
  let window: number;
  switch (whenKind(when)) {
    case 'sustained': {
      const s = when as { for: number; maxGap: number };
      window = s.for + s.maxGap;
      break;
    }
    case 'count':
      window = (when as { count: { within: number } }).count.within;
      break;
    case 'absent':
      window = (when as { absent: number }).absent;
      break;
    case 'sequence':
      window = (when as { sequence: { within: number } }).sequence.within;
      break;
    case 'aggregate':
      window = (when as { aggregate: { within: number } }).aggregate.within;
      break;
  }
  return window + when.debounce + when.cooldown;
}

/** The exact `type` values of a pattern, when it names them: lets the log skip other types. */
function typesOf(spec: RuleSpec): string[] | undefined {
  const t = (spec.match.source as { type?: unknown } | undefined)?.type;
  return Array.isArray(t) && t.length > 0 && t.every((v) => typeof v === 'string') ? (t as string[]) : undefined;
}

function groupKey(when: WhenSpec, event: unknown): string | undefined {
  if (when.groupBy === undefined) return '';
  const v = readField(event, compilePath(when.groupBy));
  if (v === undefined) return undefined;
  return typeof v === 'string' ? v : JSON.stringify(v);
}

export async function replayCondition(
  log: EventLog,
  spec: RuleSpec,
  target: LogRecord,
  o: { readonly maxEvents: number; readonly notBefore?: number },
): Promise<ConditionReplay> {
  const when = spec.when!;
  const lookback = lookbackOf(when);
  const since = Math.max(target.appendedAt - lookback, o.notBefore ?? -Infinity);
  const types = typesOf(spec);
  // Newest first from the event back to the window start, keeping only what the rule matches.
  const matched: LogRecord[] = [target];
  let scanned = 0;
  let after = target.offset;
  let truncated = false;
  for (;;) {
    const limit = Math.min(PAGE, o.maxEvents - scanned);
    if (limit <= 0) {
      truncated = true;
      break;
    }
    const page = await log.query({ order: 'desc', after, since, limit, ...(types ? { types } : {}) });
    scanned += page.length;
    for (const r of page) {
      if (firedRuleOf(r.event) === spec.name) continue;
      if (matchPattern(spec.match, r.event)) matched.push(r);
    }
    if (page.length < limit) break;
    after = page[page.length - 1]!.offset;
  }
  matched.reverse();

  const condition = createRuleCondition(spec, 1, { startedAt: since });
  let wouldFire = false;
  const key = groupKey(when, target.event);
  for (const r of matched) {
    const firings = condition.feed(r);
    if (r === target) wouldFire = firings.some((f) => (f.event.data as { group?: string }).group === key);
  }
  const snapshot = condition.state.snapshot() as { groups?: [string, ConditionGroupState][] };
  const group = key === undefined ? undefined : snapshot.groups?.find(([k]) => k === key)?.[1];
  const progress = conditionProgress(when, group, target.appendedAt);

  // The last firing for this group, from the log (edge triggering and cooldown depend on it).
  let lastFiredAt: number | undefined;
  if (key !== undefined) {
    const fired = await log.query({
      order: 'desc',
      types: [CONDITION_FIRED_TYPE],
      sources: [conditionSource(spec.name)],
      since: target.appendedAt - lookback - when.cooldown,
      until: target.appendedAt + 1,
      limit: 100,
    });
    lastFiredAt = fired.find((r) => (r.event.data as { group?: unknown } | undefined)?.group === key)?.appendedAt;
  }
  return {
    kind: whenKind(when),
    group: key,
    holds: progress.holds,
    wouldFire,
    progress: progress.text,
    detail: progress.detail,
    ...(lastFiredAt === undefined ? {} : { lastFiredAt }),
    fed: matched.length,
    scanned,
    since,
    truncated,
  };
}
