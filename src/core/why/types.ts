/**
 * @module The wire model of `why` and `why-not` (GET /v1/why/{id}, GET /v1/why-not): a causal tree
 * of nodes and a verdict with reasons. Shared by the engine (which builds them) and the CLI (which
 * prints them); docs/WHY.md describes every field.
 */

/** What a node of the causal tree stands for. */
export const WhyNodeKind = {
  /** An event on the log (the root, an emitted event, anything without a more specific kind). */
  event: 'event',
  /** A rule that matched an event (from the delivery trace). */
  rule: 'rule',
  /** A rule's `when` condition that fired (a `homeostat.condition.fired` event). */
  condition: 'condition',
  /** A safety-rail decision and what became of the action (a `homeostat.action.*` event). */
  action: 'action',
  /** One delivery attempt of a rule's target (from the delivery trace). */
  attempt: 'attempt',
  /** A workflow run (from the workflow store and its `homeostat.workflow.*` events). */
  workflow: 'workflow',
  /** One step of a workflow run. */
  step: 'step',
  /** A change of infrastructure (an `infra.*` event). */
  resource: 'resource',
  /** A change of cost (`cost.*` and `budget.*` events). */
  cost: 'cost',
  /** An incident event (`homeostat.incident.*`). */
  incident: 'incident',
} as const;
export type WhyNodeKind = (typeof WhyNodeKind)[keyof typeof WhyNodeKind];

/** One node of the causal tree. */
export interface WhyNode {
  readonly kind: WhyNodeKind;
  /**
   * Event nodes: the event id (an action's id for action nodes). Rule nodes: the rule name.
   * Attempts: `<rule>/<target>#<n>`. Workflows: the run id. Steps: `<run id>/<step path>`.
   */
  readonly id: string;
  /** When it happened (RFC 3339): the append time for events, the record time otherwise. */
  readonly at: string;
  /** Milliseconds since the root's time (negative for what was appended before it). */
  readonly t: number;
  /** One line for humans, starting with what it is (`action scale instancegroup/web 2→4 executed (...)`). */
  readonly summary: string;
  /** Kind-specific facts (the event's type, source, offset and data; the action record; ...). */
  readonly detail?: Readonly<Record<string, unknown>>;
  /** Set on the node the question was about. */
  readonly focus?: true;
  readonly children: readonly WhyNode[];
}

/** How the id asked about was understood. */
export type WhyResolvedKind = 'event' | 'action' | 'workflow' | 'incident';

/** How much of the log was read, and whether the search stopped early. */
export interface WhyScan {
  /** The first and last offsets read looking for descendants (inclusive). */
  readonly fromOffset: number;
  readonly toOffset: number;
  /** Events read looking for descendants. */
  readonly scanned: number;
  /** Events read to find the asked id and walk up to the root. */
  readonly located: number;
  /** True when the scan stopped before the end of the log: descendants may be missing. */
  readonly truncated: boolean;
  /** Why it stopped early: `max-events` or `window`. */
  readonly reason?: 'max-events' | 'window';
  readonly maxEvents: number;
  readonly windowMs: number;
  /** Nodes in the tree; `nodesTruncated` when `maxNodes` cut it. */
  readonly nodes: number;
  readonly nodesTruncated: boolean;
}

/** Figures over the whole tree. */
export interface WhyTotals {
  readonly events: number;
  /** Actions by outcome (`executed`, `refused`, ...). */
  readonly actions: Readonly<Record<string, number>>;
  /** `infra.*` events. */
  readonly resourceChanges: number;
  /** Sum of `cost.changed` deltas ($ per hour). */
  readonly costDeltaPerHour: number;
  readonly costChanges: number;
}

/** GET /v1/why/{id}. */
export interface WhyTree {
  /** The id asked about. */
  readonly id: string;
  readonly resolved: {
    readonly kind: WhyResolvedKind;
    /** The event of the tree it stands for (an action's event, a run's `started` event, ...). */
    readonly event: string;
  };
  readonly root: WhyNode;
  /** Node ids from the root down to the focus node. */
  readonly path: readonly string[];
  readonly totals: WhyTotals;
  readonly scan: WhyScan;
  /** What could not be followed (a cause no longer in the log, a run no longer stored, ...). */
  readonly notes: readonly string[];
}

/** The answer of why-not, from most to least fundamental. */
export const WhyNotVerdict = {
  /** The rule matched, its condition (if any) fired, and every target delivered and acted. */
  fired: 'fired',
  /** The rule's pattern does not match the event. */
  notMatched: 'not-matched',
  /** The rule is disabled. */
  ruleDisabled: 'rule-disabled',
  /** The event was appended before the rule existed. */
  ruleNewer: 'rule-newer',
  /** The rule changed after the event; the version then may have differed. */
  ruleChanged: 'rule-changed',
  /** The router has not routed the event yet. */
  notRouted: 'not-routed',
  /** The pattern matches and the rule existed, but the trace holds no match (pruned, or disabled then). */
  noTrace: 'no-trace',
  /** The rule matched but its `when` condition did not fire on this event. */
  conditionNotMet: 'condition-not-met',
  /** A delivery is still waiting for its first attempt or a retry. */
  deliveryPending: 'delivery-pending',
  /** A delivery was dead-lettered. */
  deliveryFailed: 'delivery-failed',
  /** The target was delivered but chose not to act (a policy deciding no change, a skipped replay). */
  targetDeclined: 'target-declined',
  /** A safety rail refused the action, or it failed, was rejected, is waiting for approval or was a dry run. */
  actionNotExecuted: 'action-not-executed',
} as const;
export type WhyNotVerdict = (typeof WhyNotVerdict)[keyof typeof WhyNotVerdict];

/** One reason of a why-not answer. */
export interface WhyNotReason {
  /** `rule`, `pattern`, `condition`, `delivery`, `action`, `timing`, `trace`. */
  readonly kind: string;
  readonly message: string;
  readonly detail?: Readonly<Record<string, unknown>>;
}

/** GET /v1/why-not. */
export interface WhyNotResult {
  readonly rule: string;
  readonly event: {
    readonly id: string;
    readonly source: string;
    readonly type: string;
    readonly subject?: string;
    readonly offset: number;
    readonly at: string;
  };
  /** True when the rule matched the event (and its condition fired): its targets got it. */
  readonly fired: boolean;
  readonly verdict: WhyNotVerdict;
  /** One sentence. */
  readonly summary: string;
  readonly reasons: readonly WhyNotReason[];
  /** Where the pattern failed (present when the rule is known). */
  readonly pattern?: {
    readonly matched: boolean;
    readonly failures: readonly { readonly pointer: string; readonly path: string; readonly reason: string }[];
  };
  /** For a rule with `when`: the condition re-evaluated from the log at the event's time. */
  readonly condition?: Readonly<Record<string, unknown>>;
  /** Per target: what became of the delivery (from the trace). */
  readonly deliveries?: readonly Readonly<Record<string, unknown>>[];
  /** Actions the event (or the condition's firing) caused, with their rail decisions. */
  readonly actions?: readonly Readonly<Record<string, unknown>>[];
  /** What to run next, e.g. `homeostat why <id>`. */
  readonly hint?: string;
}
