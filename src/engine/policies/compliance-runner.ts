/**
 * @module One running CompliancePolicy: evaluates changed resources (batched: one read of the
 * resources serves every change queued meanwhile) and periodic scans, one step at a time; opens a
 * violation (`compliance.violation.opened`), applies the remedy through the action gate, and
 * closes the violation (`compliance.violation.resolved`, with the time to remediate) once the
 * resource is seen compliant, deleted or out of scope.
 *
 * Loops: a remedy is applied when a violation opens; while it stays open, it is retried only by a
 * periodic scan (at most once per scan, at least half a period after the previous attempt), never
 * by the change events the remedy itself causes. Pending approvals, dry runs and rejected
 * remedies are not retried.
 */
import { evaluateCompliance, selects } from '../../core/compliance/evaluate.js';
import type { Remedy } from '../../core/compliance/types.js';
import type { CloudEvent } from '../../core/event.js';
import { type Resource, ResourceKind, resourceRef } from '../../core/infra/types.js';
import { performInfraAction } from '../automation/perform.js';
import type { ActionRecord, ActionRequest } from '../automation/types.js';
import type { ClosedViolation, PolicyState, Resolution, Violation } from './compliance-report.js';
import type { PolicyContext } from './types.js';

export interface ComplianceRunnerOptions {
  readonly state: PolicyState;
  readonly context: PolicyContext;
  /** Closed violations kept for the report. */
  readonly history: number;
  /** A new violation id, unique across restarts. */
  readonly newId: () => string;
}

export type RunnerResult = Readonly<Record<string, unknown>>;

export interface ComplianceRunner {
  /** A change event of a resource (subject `<kind>/<name>`): evaluates that resource. */
  onChange(event: CloudEvent): Promise<RunnerResult>;
  /** Evaluates every resource the policy selects, retries due remedies, closes what is gone. */
  scan(cause?: string): Promise<RunnerResult>;
  /** Resolves when the work queued so far is done. */
  idle(): Promise<void>;
  close(): Promise<void>;
}

interface Waiter {
  readonly resolve: (r: RunnerResult) => void;
  readonly reject: (err: unknown) => void;
}

const KIND_BY_REF = new Map(Object.values(ResourceKind).map((k) => [k.toLowerCase(), k]));
/** Outcomes a scan does not retry: a human or the policy's mode decides. */
const NO_RETRY = new Set(['pending-approval', 'rejected']);

function parseRef(subject: string | undefined): { kind: ResourceKind; name: string } | undefined {
  const slash = subject?.indexOf('/') ?? -1;
  const kind = slash > 0 ? KIND_BY_REF.get(subject!.slice(0, slash)) : undefined;
  return kind === undefined ? undefined : { kind, name: subject!.slice(slash + 1) };
}

const refOf = (r: Resource) => resourceRef(r.kind, r.name);

export function createComplianceRunner(o: ComplianceRunnerOptions): ComplianceRunner {
  const { state, context } = o;
  const spec = state.spec;
  const policy = `${spec.kind}/${spec.name}`;
  const source = `homeostat/policy/${policy}`;
  const pending = new Map<string, { event: CloudEvent; waiters: Waiter[] }>();
  let chain: Promise<unknown> = Promise.resolve();
  let scheduled = false;
  let closed = false;

  const serial = <T>(fn: () => Promise<T>): Promise<T> => {
    const run = chain.then(fn);
    chain = run.catch(() => undefined);
    return run;
  };

  async function processBatch(): Promise<void> {
    scheduled = false;
    const batch = [...pending.entries()];
    pending.clear();
    let resources: Resource[];
    try {
      resources = await context.infra.resources();
    } catch (err) {
      for (const [, item] of batch) for (const w of item.waiters) w.reject(err);
      return;
    }
    for (const [ref, item] of batch) {
      try {
        const result = await evaluateRef(ref, resources, item.event);
        for (const w of item.waiters) w.resolve(result);
      } catch (err) {
        for (const w of item.waiters) w.reject(err);
      }
    }
  }

  async function evaluateRef(
    ref: string,
    resources: readonly Resource[],
    event: CloudEvent | undefined,
    scanStart?: number,
  ): Promise<RunnerResult> {
    const resource = resources.find((r) => refOf(r) === ref);
    const open = state.open.get(ref);
    if (resource === undefined || !selects(spec.resources, resource)) {
      state.resources.delete(ref);
      const resolution: Resolution = resource === undefined ? 'deleted' : 'out-of-scope';
      if (open) await resolve(open, resolution, event?.id ?? open.attempts.at(-1)?.id);
      return { resource: ref, state: resolution, ...(open ? { resolved: open.id } : {}) };
    }
    const now = context.clock.now();
    const verdict = evaluateCompliance(spec, resource, now);
    const message = verdict.state === 'error' ? verdict.message : undefined;
    state.resources.set(ref, { state: verdict.state, at: now, ...(message === undefined ? {} : { message }) });
    if (verdict.state === 'error') {
      context.logger.warn({ policy, resource: ref }, message);
      return { resource: ref, state: 'error', message };
    }
    if (verdict.state === 'compliant') {
      if (open) await resolve(open, 'compliant', event?.id ?? open.attempts.at(-1)?.id);
      return { resource: ref, state: 'compliant', ...(open ? { resolved: open.id } : {}) };
    }
    const violation = open ?? (await openViolation(resource, resources, event));
    if (open && scanStart !== undefined && retryDue(open, scanStart)) {
      await remedy(open, resource, resources, open.openedEvent);
    }
    const last = violation.attempts.at(-1);
    return {
      resource: ref,
      state: 'violating',
      violation: violation.id,
      ...(last === undefined ? {} : { action: last.id, outcome: last.outcome }),
    };
  }

  function retryDue(v: Violation, scanStart: number): boolean {
    if (spec.remedy === 'alert') return false;
    const last = v.attempts.at(-1);
    if (last === undefined) return true;
    if (NO_RETRY.has(last.outcome) || (last.outcome === 'dry-run' && spec.safety.mode === 'dry-run')) return false;
    return last.at <= scanStart - spec.everyMs / 2;
  }

  async function openViolation(
    resource: Resource,
    resources: readonly Resource[],
    event: CloudEvent | undefined,
  ): Promise<Violation> {
    const id = o.newId();
    const occurredAt = event?.time === undefined ? undefined : Date.parse(event.time);
    const v: Violation = {
      id,
      resource: refOf(resource),
      provider: resource.provider,
      ...(occurredAt === undefined || Number.isNaN(occurredAt) ? {} : { occurredAt }),
      detectedAt: context.clock.now(),
      ...(event === undefined ? {} : { trigger: event.id }),
      openedEvent: `${id}.opened`,
      remedy: spec.remedy,
      attempts: [],
    };
    state.open.set(v.resource, v);
    const data = {
      policy,
      violation: id,
      resource: v.resource,
      kind: resource.kind,
      name: resource.name,
      provider: resource.provider,
      ...(spec.description === undefined ? {} : { description: spec.description }),
      expression: spec.violation.source,
      remedy: spec.remedy,
      approval: spec.approval,
      ...(v.trigger === undefined ? {} : { trigger: v.trigger }),
      detectedAt: new Date(v.detectedAt).toISOString(),
      spec: resource.spec,
      tags: resource.tags,
    };
    // The event and the remedy go together: the remedy does not wait for the event to be durable.
    await Promise.all([
      emit(v.openedEvent, 'compliance.violation.opened', v.resource, data, event?.id),
      remedy(v, resource, resources, event?.id ?? v.openedEvent),
    ]);
    return v;
  }

  async function remedy(v: Violation, resource: Resource, resources: readonly Resource[], cause: string) {
    if (spec.remedy === 'alert') return;
    const request = remedyRequest(spec.remedy, resource, resources, cause, v.attempts.length);
    let record: ActionRecord;
    try {
      record = await context.gate.submit(request, (id) => performInfraAction(context.infra, request, id));
    } catch (err) {
      context.logger.error({ err, policy, resource: v.resource }, 'the action gate failed');
      return;
    }
    v.attempts.push({
      id: record.id,
      outcome: record.outcome,
      at: record.at,
      ...(record.why === undefined ? {} : { why: record.why }),
      ...(record.approval === undefined ? {} : { approval: record.approval }),
    });
    if (record.outcome === 'executed') await recheck(v, record.id);
  }

  /** Right after an executed remedy: the provider has applied it, so look now rather than wait for its event. */
  async function recheck(v: Violation, actionId: string): Promise<void> {
    const after = (await context.infra.resources()).find((r) => refOf(r) === v.resource);
    if (after === undefined || !selects(spec.resources, after)) {
      await resolve(v, after === undefined ? 'deleted' : 'out-of-scope', actionId);
      return;
    }
    const now = context.clock.now();
    const verdict = evaluateCompliance(spec, after, now);
    if (verdict.state === 'compliant') {
      state.resources.set(v.resource, { state: 'compliant', at: now });
      await resolve(v, 'compliant', actionId);
    } else if (verdict.state === 'violating') {
      v.note = `the ${spec.remedy} remedy ran but ${v.resource} still violates the policy; a scan retries it`;
    }
  }

  /** The gate request of a remedy; `performInfraAction` (automation/perform.ts) carries it out. */
  function remedyRequest(
    kind: Exclude<Remedy, 'alert'>,
    resource: Resource,
    resources: readonly Resource[],
    cause: string,
    attempt: number,
  ): ActionRequest {
    const ref = refOf(resource);
    const approval = spec.approval && spec.safety.mode !== 'dry-run';
    const base = {
      policy,
      resource: ref,
      reason: `${ref} violates ${policy}${spec.description ? ` (${spec.description})` : ''}: ${spec.violation.source}`,
      inputs: { violation: spec.violation.source, spec: resource.spec, tags: resource.tags },
      cause,
      // A redelivered trigger does not remedy twice; a later attempt is a new action.
      key: `${policy}:${cause}:${attempt}`,
      ...(approval ? { mode: 'approval' as const } : {}),
    };
    if (kind === 'revert') {
      return { ...base, action: 'revert', direction: 'revert', params: { kind: resource.kind, name: resource.name } };
    }
    if (kind === 'patch') return { ...base, action: 'patch', direction: 'change', params: { patch: spec.patch ?? {} } };
    if (resource.kind === 'InstanceGroup') {
      return { ...base, action: 'scale', direction: 'down', group: resource.name, params: { to: 0 } };
    }
    const group = (resource as Resource<'Instance'>).status?.group;
    const groupSize = resources.filter(
      (r) =>
        r.kind === 'Instance' &&
        (r as Resource<'Instance'>).status?.group === group &&
        ['starting', 'running'].includes((r as Resource<'Instance'>).status?.phase ?? ''),
    ).length;
    return {
      ...base,
      action: 'stop',
      direction: 'stop',
      ...(group === undefined ? {} : { group, groupSize }),
      params: { instance: resource.name },
    };
  }

  async function resolve(v: Violation, resolution: Resolution, resolvedBy: string | undefined): Promise<void> {
    if (state.open.get(v.resource) !== v) return;
    state.open.delete(v.resource);
    const resolvedAt = context.clock.now();
    const closedV: ClosedViolation = {
      ...v,
      attempts: [...v.attempts],
      resolvedAt,
      resolution,
      ...(resolvedBy === undefined ? {} : { resolvedBy }),
      timeToRemediateMs: Math.max(0, resolvedAt - v.detectedAt),
    };
    state.closed.push(closedV);
    if (state.closed.length > o.history) state.closed.splice(0, state.closed.length - o.history);
    // Leaving a policy's scope is not a remediation: it does not count in the times.
    if (resolution !== 'out-of-scope') {
      state.ttr.count++;
      state.ttr.sumMs += closedV.timeToRemediateMs;
      state.ttr.maxMs = Math.max(state.ttr.maxMs, closedV.timeToRemediateMs);
    }
    const data = {
      policy,
      violation: v.id,
      resource: v.resource,
      resolution,
      detectedAt: new Date(v.detectedAt).toISOString(),
      resolvedAt: new Date(resolvedAt).toISOString(),
      timeToRemediateMs: closedV.timeToRemediateMs,
      ...(v.trigger === undefined ? {} : { trigger: v.trigger }),
      actions: v.attempts.map((a) => a.id),
      ...(resolvedBy === undefined ? {} : { resolvedBy }),
    };
    await emit(`${v.id}.resolved`, 'compliance.violation.resolved', v.resource, data, resolvedBy);
  }

  async function emit(id: string, type: string, subject: string, data: Record<string, unknown>, cause?: string) {
    const event: CloudEvent = {
      specversion: '1.0',
      id,
      source,
      type,
      subject,
      time: new Date(context.clock.now()).toISOString(),
      datacontenttype: 'application/json',
      partitionkey: subject,
      ...(cause === undefined ? {} : { causationid: cause }),
      data,
    };
    try {
      await context.publish([event]);
    } catch (err) {
      context.logger.warn({ err, policy, event: id }, 'could not publish a compliance event');
    }
    if (spec.notify !== undefined) {
      try {
        await context.notify(spec.notify, { type, ...data }, id);
      } catch (err) {
        context.logger.warn({ err, policy, event: id }, 'could not notify the compliance webhook');
      }
    }
  }

  /** Approvals decided since the last look: the gate's record of the same action id tells. */
  function refreshApprovals(): void {
    for (const v of state.open.values()) {
      const last = v.attempts.at(-1);
      if (last?.outcome !== 'pending-approval') continue;
      const now = context.gate.recent({ policy, resource: v.resource, limit: 20 }).find((r) => r.id === last.id);
      if (now !== undefined && now.outcome !== last.outcome) {
        v.attempts[v.attempts.length - 1] = { ...last, outcome: now.outcome, ...(now.why ? { why: now.why } : {}) };
      }
    }
  }

  async function idle(): Promise<void> {
    let seen: Promise<unknown> | undefined;
    while (seen !== chain) {
      seen = chain;
      await chain;
    }
  }

  return {
    onChange(event) {
      const target = parseRef(event.subject);
      if (closed) return Promise.resolve({ skipped: `${policy} is stopping` });
      if (target === undefined || !spec.resources.kinds.includes(target.kind)) {
        return Promise.resolve({
          skipped: `subject ${event.subject ?? '(none)'} is not a resource this policy checks`,
        });
      }
      const ref = resourceRef(target.kind, target.name);
      return new Promise<RunnerResult>((resolveResult, reject) => {
        const item = pending.get(ref);
        const waiter = { resolve: resolveResult, reject };
        if (item) {
          // Changes of one resource queued together are evaluated once. The trigger is the latest
          // out-of-band change (no causation) among them, else the latest: the root cause.
          if (event.causationid === undefined || item.event.causationid !== undefined) item.event = event;
          item.waiters.push(waiter);
        } else pending.set(ref, { event, waiters: [waiter] });
        if (!scheduled) {
          scheduled = true;
          void serial(processBatch);
        }
      });
    },
    scan(cause) {
      if (closed) return Promise.resolve({ skipped: `${policy} is stopping` });
      return serial(async () => {
        const scanStart = context.clock.now();
        refreshApprovals();
        const resources = await context.infra.resources();
        const refs = new Set(resources.filter((r) => selects(spec.resources, r)).map(refOf));
        for (const ref of [...state.resources.keys(), ...state.open.keys()]) refs.add(ref);
        for (const ref of refs) await evaluateRef(ref, resources, undefined, scanStart);
        state.lastScanAt = scanStart;
        return {
          scan: cause ?? 'periodic',
          evaluated: state.resources.size,
          violating: [...state.resources.values()].filter((r) => r.state === 'violating').length,
          open: state.open.size,
        };
      });
    },
    idle,
    async close() {
      closed = true;
      await idle();
    },
  };
}
