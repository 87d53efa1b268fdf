/**
 * @module The contracts between policies, workflows and the infrastructure they act on.
 *
 * - Every automated action (from a policy, a rule target or a workflow step) goes through the
 *   {@link ActionGate}: it checks the safety rails of the policy that asks, then performs the
 *   action, records it as dry-run, or waits for approval. Every outcome, refusals included, is
 *   published as a `homeostat.action.<outcome>` event whose id is the action id and whose
 *   causation is the triggering event, so `why` and cost attribution can follow the chain
 *   trigger → action → infra events.
 * - {@link InfraControl} is what an action may do to resources; the infrastructure service
 *   implements it. Every method takes `cause`, the action id, which the provider's resulting
 *   events carry as their causation.
 */
import type { CloudEvent } from '../../core/event.js';
import type { Resource, ResourceKind } from '../../core/infra/types.js';
import type { ActionDirection, FrozenResource, SafetySpec } from '../../core/safety/types.js';

/** Directions used by flap detection: an action and its opposite (defined in core/safety/types.ts). */
export type { ActionDirection, FrozenResource };

export interface ActionRequest {
  /** Who asks: `ScalingPolicy/web`, `HealingPolicy/web`, `Rule/my-rule`, `Workflow/drain#run-id`. */
  readonly policy: string;
  /** scale, replace, restart, stop, start, patch, revert, hold, release, notify, ... */
  readonly action: string;
  /** The resource acted on, as a ref: `instancegroup/web`, `instance/web-3`, `securityrule/ssh`. */
  readonly resource: string;
  /** The instance group the resource belongs to (blast radius in % of a group). */
  readonly group?: string;
  /** Instances in that group now (the base of the % cap). */
  readonly groupSize?: number;
  /** For flap detection. Default 'none'. */
  readonly direction?: ActionDirection;
  /** Action arguments, e.g. `{ from: 2, to: 6 }`. */
  readonly params: Readonly<Record<string, unknown>>;
  /** Why, in one sentence. */
  readonly reason: string;
  /** The inputs and arithmetic behind the decision (recorded as is). */
  readonly inputs?: Readonly<Record<string, unknown>>;
  /** The id of the event that triggered it (the action event's causationid). */
  readonly cause?: string;
  /** Overrides the policy's mode for this one action (e.g. a policy's `approval: true` remedy). */
  readonly mode?: SafetySpec['mode'];
  /**
   * Idempotency key (e.g. a delivery's key): while the gate remembers a record with this key whose
   * outcome is executed, dry-run, pending-approval or rejected, a second submit returns that record
   * and does nothing. After failed or refused, a second submit is a new attempt.
   */
  readonly key?: string;
}

export type ActionOutcome = 'executed' | 'failed' | 'refused' | 'dry-run' | 'pending-approval' | 'rejected';

export interface ActionRecord extends ActionRequest {
  /** Unique; the id of the `homeostat.action.*` event and the `cause` passed to InfraControl. */
  readonly id: string;
  readonly at: number;
  readonly outcome: ActionOutcome;
  /** refused: which rail and why; rejected: who and why; failed: the error message. */
  readonly why?: string;
  readonly rail?: string;
  /** What `perform` returned (executed). */
  readonly result?: Readonly<Record<string, unknown>>;
  /** Approval id when the outcome is pending-approval. */
  readonly approval?: string;
  readonly durationMs?: number;
  /** Refused by flap or loop detection: the policies this refusal froze on the resource. */
  readonly froze?: readonly string[];
}

/** Filter of {@link ActionGate.recent}. */
export interface ActionFilter {
  readonly policy?: string;
  readonly resource?: string;
  readonly outcome?: ActionOutcome;
  /** Default 100. */
  readonly limit?: number;
}

export interface ActionGate {
  /** Sets (or replaces) the rails of a policy; policies without settings get the defaults. */
  configure(policy: string, safety: SafetySpec): void;
  /** Forgets a deleted policy's settings and freezes. */
  remove(policy: string): void;
  /**
   * Checks the rails and then performs the action (`perform(actionId)`), or records it as
   * refused / dry-run / pending approval. Never rejects for a refusal; resolves with the record.
   * A `perform` that throws gives outcome `failed` with its message. In approval mode the action
   * is performed later, when approved (or recorded `rejected`).
   */
  submit(
    request: ActionRequest,
    perform: (actionId: string) => Promise<Record<string, unknown>>,
  ): Promise<ActionRecord>;
  /**
   * The latest records (newest first), optionally of one policy, resource or outcome. An action
   * that waited for approval appears once, with its final outcome when decided.
   */
  recent(filter?: ActionFilter): ActionRecord[];
  /** Resources a policy froze after flapping (or looping with another policy), with why. */
  frozen(): readonly FrozenResource[];
  /**
   * Lets `policy` act on `resource` again and forgets the reversals counted so far; published as
   * `homeostat.action.unfrozen` (so it survives a restart). E_NOT_FOUND when it is not frozen.
   * The real gate (createActionGate) has it; test doubles of the gate may leave it out.
   */
  unfreeze?(policy: string, resource: string, by?: string): Promise<ActionRecord>;
}

/** The gate as operators use it (API, CLI): `unfreeze` required. */
export interface ActionGateAdmin extends ActionGate {
  unfreeze(policy: string, resource: string, by?: string): Promise<ActionRecord>;
}

/** A group as actions see it. */
export interface GroupView {
  readonly name: string;
  readonly provider: string;
  /** The stack that declares it, if any. */
  readonly stack?: string;
  readonly desired: number;
  readonly min: number;
  readonly max: number;
  readonly instanceType: string;
  readonly pricePerHour: number;
  readonly tags: Readonly<Record<string, string>>;
  readonly instances: readonly Resource<'Instance'>[];
  /** True while replacements are held (crash loop). */
  readonly held: boolean;
}

export interface InfraControl {
  resources(): Promise<Resource[]>;
  group(name: string): Promise<GroupView | undefined>;
  groups(): Promise<GroupView[]>;
  /**
   * Sets a group's desired size (clamped to the group's min/max, which scale-to-zero policies may
   * lower to 0 when the group allows `min: 0`). The stack's declared size stays the initial one:
   * a scaled group is not drift.
   */
  scaleGroup(
    group: string,
    desired: number,
    cause: string,
    options?: {
      /** A stop (Schedule, IdlePolicy `action: stop`): the size may go below the group's min, to 0. */
      readonly allowBelowMin?: boolean;
    },
  ): Promise<{ readonly from: number; readonly to: number }>;
  /** Takes an instance out of rotation and stops it; the reconciler starts a replacement. */
  replaceInstance(name: string, cause: string): Promise<void>;
  restartInstance(name: string, cause: string): Promise<void>;
  /** Stops an instance without replacement by lowering the group's desired size by one. */
  stopInstance(name: string, cause: string): Promise<void>;
  /** Stops replacing failed instances of a group (crash loop) until released. */
  holdGroup(group: string, reason: string, cause: string): Promise<void>;
  releaseGroup(group: string, cause: string): Promise<void>;
  /** Converges one resource back to what its stack declares; false when no stack declares it. */
  revert(kind: ResourceKind, name: string, cause: string): Promise<boolean>;
  /** Changes a resource's spec (merge patch) through its provider, as a Homeostat change. */
  patch(kind: ResourceKind, name: string, patch: Readonly<Record<string, unknown>>, cause: string): Promise<void>;
}

/** Appends events through ingest; resolves when durable. */
export type Publish = (events: readonly CloudEvent[]) => Promise<unknown>;

export type ApprovalStatus = 'pending' | 'approved' | 'rejected' | 'expired';

/** A request for a human decision: a gated action or a workflow's approval step. */
export interface Approval {
  /** Short and unique, e.g. `apr-7k2x9`; what `homeostat approve <id>` takes. */
  readonly id: string;
  /** Who handles the decision: 'action' (the gate) or 'workflow' (the runner). */
  readonly kind: string;
  /** What it is about: an action id, or `<run id>/<step>`. */
  readonly ref: string;
  /** One line for humans: what will happen if approved. */
  readonly summary: string;
  /** Whatever the requester needs to act on the decision (JSON), e.g. the ActionRequest. */
  readonly payload: Readonly<Record<string, unknown>>;
  readonly status: ApprovalStatus;
  readonly requestedAt: number;
  /** Optional deadline (ms since epoch); past it the request is expired (a rejection). */
  readonly expiresAt?: number;
  readonly decidedAt?: number;
  readonly decidedBy?: string;
  readonly comment?: string;
}

/**
 * Durable approval requests (SQLite table `approvals`). Each kind has one handler, registered at
 * start; `decide` stores the decision durably and then calls the kind's handler. Requests decided
 * while their handler was not registered (between a restart and `register`) are handed to the
 * handler when it registers, so no decision is lost.
 */
export interface Approvals {
  register(kind: string, handler: (approval: Approval) => Promise<void>): void;
  request(input: {
    readonly kind: string;
    readonly ref: string;
    readonly summary: string;
    readonly payload: Readonly<Record<string, unknown>>;
    readonly expiresAt?: number;
  }): Promise<Approval>;
  /** E_NOT_FOUND for an unknown id; E_CONFLICT when already decided. */
  decide(
    id: string,
    decision: { readonly approve: boolean; readonly by: string; readonly comment?: string },
  ): Promise<Approval>;
  get(id: string): Promise<Approval | undefined>;
  list(filter?: { readonly status?: ApprovalStatus; readonly kind?: string }): Promise<Approval[]>;
}
