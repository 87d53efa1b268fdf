/** @module The resolved model of a rule's stateful condition (`when`) and what it reports when it fires. */

/** Aggregate functions over a window of numeric samples. */
export const AggregateFn = { avg: 'avg', max: 'max', min: 'min', sum: 'sum', p95: 'p95', p99: 'p99' } as const;
export type AggregateFn = (typeof AggregateFn)[keyof typeof AggregateFn];

/** Comparison operators for aggregates. */
export const CompareOp = { gt: '>', ge: '>=', lt: '<', le: '<=' } as const;
export type CompareOp = (typeof CompareOp)[keyof typeof CompareOp];

/** Fields every kind of condition has (all durations in milliseconds). */
export interface WhenCommon {
  /** A field path (`subject`, `data.instance`); state is kept per value of it. Absent: one group `''`. */
  readonly groupBy?: string;
  /** The condition must hold continuously this long before it fires. Default 0. */
  readonly debounce: number;
  /** After a firing, the same group does not fire again for this long. Default 0. */
  readonly cooldown: number;
}

/** Sustained: matching events kept arriving (no gap over `maxGap`) for at least `for`. */
export interface SustainedWhen extends WhenCommon {
  readonly for: number;
  /** The longest silence that does not break the streak. Default: `for`. */
  readonly maxGap: number;
}

/** At least `atLeast` matching events within the last `within`. */
export interface CountWhen extends WhenCommon {
  readonly count: { readonly atLeast: number; readonly within: number };
}

/** No matching event for `absent` (a missing heartbeat); fires from `onTick`, once per silence. */
export interface AbsentWhen extends WhenCommon {
  readonly absent: number;
}

/** An event of step `first` followed by one of step `then` within `within`. */
export interface SequenceWhen extends WhenCommon {
  readonly sequence: { readonly first: string; readonly then: string; readonly within: number };
}

/** An aggregate of a numeric field over the last `within` compared with `value`. */
export interface AggregateWhen extends WhenCommon {
  readonly aggregate: {
    readonly fn: AggregateFn;
    /** A field path such as `data.cpu`; events without a finite number there are skipped. */
    readonly field: string;
    readonly op: CompareOp;
    readonly value: number;
    readonly within: number;
  };
}

/** A resolved `when` (defaults applied, durations in ms, frozen). */
export type WhenSpec = SustainedWhen | CountWhen | AbsentWhen | SequenceWhen | AggregateWhen;

/** The kind names, for messages and details. */
export type WhenKind = 'sustained' | 'count' | 'absent' | 'sequence' | 'aggregate';

/** One firing of the condition for one group. */
export interface Firing {
  /** The group key (`''` without `groupBy`). */
  readonly group: string;
  /** When it fired (ms since epoch, the `now` passed in). */
  readonly at: number;
  /** Why: the kind, the counts, the aggregate value and its arithmetic. */
  readonly detail: Readonly<Record<string, unknown>>;
}

/** Condition state for one rule: feed it matching events and timer ticks, persist its snapshot. */
export interface ConditionState {
  /**
   * A matching event at `now`. `step` names the sequence step the event matched (`first`/`then`
   * ids); other kinds ignore it. Returns the firings it causes (at most one per group).
   */
  onEvent(event: unknown, now: number, step?: string): Firing[];
  /** Time passes: absence, debounce and cooldown expiry, windows emptying. */
  onTick(now: number): Firing[];
  /** When `onTick` should next run; undefined when nothing can change without an event. */
  nextDeadline(): number | undefined;
  /** The whole state as a JSON-serializable value. */
  snapshot(): unknown;
  /** Replaces the state with a snapshot taken from a state of the same spec. */
  restore(snapshot: unknown): void;
}

/** Returns which kind a spec is. */
export function whenKind(spec: WhenSpec): WhenKind {
  if ('for' in spec) return 'sustained';
  if ('count' in spec) return 'count';
  if ('absent' in spec) return 'absent';
  if ('sequence' in spec) return 'sequence';
  return 'aggregate';
}
