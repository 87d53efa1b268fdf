/**
 * @module The ScalingPolicy kind: one compiled rule hands the target group's metrics events to the
 * instance, which decides the group's desired size (core/scaling) and carries out each change
 * through the action gate. Every decision's inputs and arithmetic go with the action
 * (`homeostat.action.*` events); `status()` keeps the latest decisions.
 */
import type { CloudEvent } from '../../core/event.js';
import {
  DEFAULT_ACTIVITY_FIELDS,
  EMPTY_SCALING_STATE,
  SCALING_POLICY_KIND,
  type ScalingDecision,
  type ScalingPolicySpec,
  type ScalingState,
  decideScaling,
  isActive,
  parseScalingPolicy,
  readMetric,
  recordScale,
} from '../../core/scaling/index.js';
import type { ActionOutcome, ActionRecord } from '../automation/types.js';
import type { PolicyContext, PolicyInstance, PolicyKind } from './types.js';

/** The hook the compiled rule delivers metrics events to. */
export const SCALING_HOOK = 'metrics';
/** Decisions kept in `status().recent` (changes and holds only). */
export const SCALING_HISTORY = 20;
/** After a refused, failed, rejected or dry-run action, the same direction waits at least this long. */
export const RESUBMIT_MS = 5_000;

const ACTIVITY = DEFAULT_ACTIVITY_FIELDS.map((field) => ({ field, path: field.split('.') }));

/** A decision as `status()` shows it. */
export interface ScalingDecisionView {
  readonly at: string;
  /** The metrics event decided on. */
  readonly event: string;
  readonly current: number;
  readonly desired: number;
  readonly direction: ScalingDecision['direction'];
  readonly reason: string;
  readonly held?: string;
  readonly arithmetic: ScalingDecision['arithmetic'];
  /** What the gate did with the change, or why it was not submitted. */
  readonly outcome?: ActionOutcome | 'not-submitted';
  readonly action?: string;
  readonly why?: string;
}

export const scalingPolicyKind: PolicyKind<ScalingPolicySpec> = {
  kind: SCALING_POLICY_KIND,
  parse: (manifest) => parseScalingPolicy(manifest),
  compile: (spec) => [
    {
      suffix: SCALING_HOOK,
      spec: {
        match: {
          type: [spec.metric.type],
          subject: [spec.target],
          ...(spec.metric.source === undefined ? {} : { source: [spec.metric.source] }),
        },
        targets: [
          {
            name: 'decide',
            action: 'policy',
            with: { policy: `${SCALING_POLICY_KIND}/${spec.name}`, hook: SCALING_HOOK },
            ordered: true,
            // A decision on old metrics is worse than none: retry a failed delivery for 30 s at most.
            retry: { maxAttempts: 3, maxAge: '30s' },
          },
        ],
      },
    },
  ],
  start: (spec, context) => createScalingInstance(spec, context),
};

interface Pending {
  readonly id: string;
  readonly direction: 'up' | 'down';
  readonly to: number;
}

const iso = (ms: number | undefined): string | undefined => (ms === undefined ? undefined : new Date(ms).toISOString());

/** A running ScalingPolicy: decision state, the change awaiting approval, and the latest decisions. */
export function createScalingInstance(spec: ScalingPolicySpec, ctx: PolicyContext): PolicyInstance {
  const ref = `${SCALING_POLICY_KIND}/${spec.name}`;
  const activity = spec.scaleToZero?.activity ?? ACTIVITY;
  let state: ScalingState = EMPTY_SCALING_STATE;
  let last: ScalingDecisionView | undefined;
  const recent: ScalingDecisionView[] = [];
  let pending: Pending | undefined;
  const holdUntil: { up?: number; down?: number } = {};
  const counts = { events: 0, outOfOrder: 0, decisions: 0, submitted: 0, executed: 0, notExecuted: 0 };
  /** The time of the newest event decided on. */
  let latest: number | undefined;
  let closed = false;
  let chain: Promise<unknown> = Promise.resolve();

  function remember(view: ScalingDecisionView): void {
    last = view;
    if (view.direction === 'none' && view.held === undefined) return;
    recent.unshift(view);
    if (recent.length > SCALING_HISTORY) recent.length = SCALING_HISTORY;
  }

  /** An approval decided since the last event: executed starts the cooldown; any end frees the policy. */
  function settlePending(now: number): void {
    if (pending === undefined) return;
    const record = ctx.gate.recent({ policy: ref, resource: spec.target }).find((r) => r.id === pending!.id);
    if (record?.outcome === 'pending-approval') return;
    // In the metrics' time, like every other time the decision compares.
    if (record?.outcome === 'executed') state = recordScale(state, pending.direction, now);
    pending = undefined;
  }

  /** Why a change in `direction` is not submitted now, if it is not. */
  function blocked(direction: 'up' | 'down', now: number): string | undefined {
    if (pending !== undefined) return `awaiting approval of ${pending.id} (${pending.direction} to ${pending.to})`;
    const until = holdUntil[direction];
    if (until !== undefined && now < until)
      return `last ${direction} action was not executed; next try after ${iso(until)}`;
    return undefined;
  }

  function afterOutcome(record: ActionRecord, direction: 'up' | 'down', to: number, now: number): void {
    if (record.outcome === 'executed') {
      counts.executed++;
      state = recordScale(state, direction, now);
      return;
    }
    counts.notExecuted++;
    if (record.outcome === 'pending-approval') {
      pending = { id: record.id, direction, to };
      return;
    }
    // Dry-run repeats at the pace the policy would act; refusals and failures back off.
    if (record.outcome === 'dry-run') state = recordScale(state, direction, now);
    const cooldown = direction === 'up' ? spec.scaleOut.cooldownMs : spec.scaleIn.cooldownMs;
    holdUntil[direction] = now + Math.max(RESUBMIT_MS, cooldown);
  }

  async function handle(event: CloudEvent): Promise<Record<string, unknown>> {
    if (closed) return { skipped: 'policy closed' };
    counts.events++;
    // The decision runs on the metrics' clock (a simulated cloud keeps its own time).
    const sent = event.time === undefined ? Number.NaN : Date.parse(event.time);
    const now = Number.isFinite(sent) ? sent : ctx.clock.now();
    if (latest !== undefined && now < latest) {
      counts.outOfOrder++;
      return { skipped: 'older than metrics already decided on', at: new Date(now).toISOString() };
    }
    latest = now;
    const group = await ctx.infra.group(spec.group);
    if (group === undefined) return { skipped: `no instance group '${spec.group}'` };
    settlePending(now);
    const live = group.instances.filter((i) => i.status?.phase === 'starting' || i.status?.phase === 'running');
    const decision = decideScaling(spec, state, {
      now,
      reading: readMetric(spec.metric, event),
      active: isActive(activity, event),
      current: group.desired,
      groupMin: group.min,
      groupMax: group.max,
      groupInstances: live.length,
    });
    state = decision.state;
    counts.decisions++;
    const base: ScalingDecisionView = {
      at: new Date(now).toISOString(),
      event: event.id,
      current: decision.current,
      desired: decision.desired,
      direction: decision.direction,
      reason: decision.reason,
      ...(decision.held === undefined ? {} : { held: decision.held }),
      arithmetic: decision.arithmetic,
    };
    if (decision.direction === 'none') {
      remember(base);
      return { decision: 'none', desired: decision.desired, reason: decision.reason };
    }
    const direction = decision.direction;
    const why = blocked(direction, now);
    if (why !== undefined) {
      remember({ ...base, outcome: 'not-submitted', why });
      return { decision: direction, submitted: false, why };
    }
    counts.submitted++;
    const to = decision.desired;
    const record = await ctx.gate.submit(
      {
        policy: ref,
        action: 'scale',
        resource: spec.target,
        group: spec.group,
        groupSize: live.length,
        direction,
        params: { from: decision.current, to },
        reason: decision.reason,
        inputs: { ...decision.arithmetic, event: event.id },
        cause: event.id,
        key: `${ref}/${event.id}`,
      },
      async (actionId) => ({ ...(await ctx.infra.scaleGroup(spec.group, to, actionId)) }),
    );
    afterOutcome(record, direction, to, now);
    remember({ ...base, outcome: record.outcome, action: record.id, ...(record.why ? { why: record.why } : {}) });
    ctx.logger.info(
      { policy: ref, action: record.id, outcome: record.outcome, from: decision.current, to },
      decision.reason,
    );
    return { decision: direction, from: decision.current, to, outcome: record.outcome, action: record.id };
  }

  return {
    onEvent(hook, event) {
      if (hook !== SCALING_HOOK) return Promise.resolve({ skipped: `unknown hook '${hook}'` });
      const run = chain.then(() => handle(event));
      chain = run.catch(() => undefined);
      return run;
    },
    status() {
      return {
        policy: ref,
        group: spec.group,
        mode: spec.steps === undefined ? 'target-tracking' : 'step-scaling',
        metric: spec.metric.field,
        ...(spec.metric.target === undefined ? {} : { target: spec.metric.target }),
        ...(last === undefined ? {} : { current: last.current, desired: last.desired, last }),
        recent: [...recent],
        lastScaleOutAt: iso(state.lastScaleOutAt),
        lastScaleInAt: iso(state.lastScaleInAt),
        lastActiveAt: iso(state.lastActiveAt),
        recommendations: state.recommendations.length,
        ...(pending === undefined ? {} : { pendingApproval: { ...pending } }),
        counts: { ...counts },
      };
    },
    async close() {
      closed = true;
      await chain;
    },
  };
}
