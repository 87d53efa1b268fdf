/**
 * @module The action gate: every automated action (policy, rule target, workflow step) passes the
 * safety rails of the policy that asks, and is then performed, recorded as dry-run, or sent for
 * approval. Each outcome is published as a `homeostat.action.<outcome>` event (see
 * action-events.ts) so the history survives a restart (`restore`, fed by history.ts).
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { Clock } from '../../core/clock.js';
import { ErrorCode, HomeostatError } from '../../core/errors.js';
import { DEFAULT_SAFETY } from '../../core/safety/parse.js';
import { createRails } from '../../core/safety/rails.js';
import type { EventTracing } from '../../telemetry/event-tracing.js';
import type { SafetySpec } from '../../core/safety/types.js';
import { ACTION_FROZEN_TYPE, ACTION_UNFROZEN_TYPE, actionEvent, UNFREEZE_ACTION } from './action-events.js';
import { createActionMemory } from './memory.js';
import type { ActionGateAdmin, ActionRecord, ActionRequest, Approval, Approvals, Publish } from './types.js';

export type Perform = (actionId: string) => Promise<Record<string, unknown>>;

export interface ActionGateDeps {
  readonly clock: Clock;
  readonly publish: Publish;
  readonly approvals: Approvals;
  readonly logger: Logger;
  /** Action ids; default `act-` and 16 random hex digits. */
  readonly newId?: () => string;
  /**
   * Performs an approved action whose `perform` was lost in a restart (it was requested before,
   * approved after). Without it such an action is recorded `failed`. The runtime passes
   * `(request, id) => performInfraAction(infra, request, id)` (perform.ts).
   */
  readonly performRequest?: (request: ActionRequest, actionId: string) => Promise<Record<string, unknown>>;
  /** Records kept for `recent` (and idempotency keys remembered). Default 1,000. */
  readonly maxRecent?: number;
  /**
   * The action history (loadActionHistory), restored before the gate registers its approval
   * handler, so decisions made while the server was down meet the restored state. Prefer this to
   * calling `restore` after creation.
   */
  readonly history?: readonly ActionRecord[];
  /** An `action <name>` span around each decision, under the trigger's span. */
  readonly tracing?: EventTracing;
  /**
   * Cluster: checked right before an action is performed; a reason (this node no longer holds
   * the leader lease with its fencing token) refuses it on the `leader` rail, so a deposed leader
   * never acts. Default: always allowed.
   */
  readonly fence?: () => Promise<string | undefined>;
}

export interface ManagedActionGate extends ActionGateAdmin {
  /** Rebuilds rails state, freezes, pending approvals and `recent` from the action history (oldest first). */
  restore(records: readonly ActionRecord[]): void;
  /** Refuses new submits and waits for the actions in flight. */
  close(): Promise<void>;
}

/** Outcomes after which a repeated submit with the same key does nothing. */
const SETTLED_FOR_KEY = new Set(['executed', 'dry-run', 'pending-approval', 'rejected']);

const defaultId = (): string => `act-${randomBytes(8).toString('hex')}`;
const pendingKey = (r: ActionRequest): string => `${r.policy}\u0000${r.action}\u0000${r.resource}`;

/** The request part of a record (what an approval's payload carries). */
function requestOf(r: ActionRecord): ActionRequest {
  const {
    id: _id,
    at: _at,
    outcome: _o,
    why: _w,
    rail: _r,
    result: _res,
    approval: _a,
    durationMs: _d,
    froze: _f,
    ...req
  } = r;
  return req;
}

function summary(r: ActionRequest): string {
  const params = Object.keys(r.params).length > 0 ? ` ${JSON.stringify(r.params)}` : '';
  return `${r.policy}: ${r.action} ${r.resource}${params} (${r.reason})`;
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

interface Pending {
  readonly request: ActionRequest;
  readonly record: ActionRecord;
  readonly perform?: Perform;
}

export function createActionGate(deps: ActionGateDeps): ManagedActionGate {
  const { clock, logger } = deps;
  const newId = deps.newId ?? defaultId;
  const rails = createRails();
  const specs = new Map<string, SafetySpec>();
  const memory = createActionMemory(deps.maxRecent ?? 1_000);
  const pending = new Map<string, Pending>();
  const pendingIds = new Map<string, string>();
  const inflight = new Set<Promise<unknown>>();
  let closed = false;

  const specOf = (policy: string): SafetySpec => specs.get(policy) ?? DEFAULT_SAFETY;

  async function publish(records: readonly { record: ActionRecord; type?: string }[]): Promise<void> {
    try {
      const results = await deps.publish(records.map((r) => actionEvent(r.record, r.type)));
      const rejected = Array.isArray(results)
        ? results.filter((x) => (x as { status?: string })?.status === 'rejected')
        : [];
      if (rejected.length > 0) logger.error({ rejected, records }, 'action events were rejected by ingest');
    } catch (err) {
      // The action happened (or was refused) either way; the log misses it, so say so loudly.
      logger.error({ err, records }, 'could not publish action events; the action history misses them');
    }
  }

  async function finish(record: ActionRecord): Promise<ActionRecord> {
    memory.remember(record);
    const p = pending.get(record.id);
    if (p !== undefined && record.outcome !== 'pending-approval') {
      pending.delete(record.id);
      pendingIds.delete(pendingKey(p.request));
    }
    const events: { record: ActionRecord; type?: string }[] = [{ record }];
    if (record.froze !== undefined) events.push({ record, type: ACTION_FROZEN_TYPE });
    await publish(events);
    return record;
  }

  async function execute(id: string, request: ActionRequest, perform: Perform, extra: Partial<ActionRecord>) {
    const fenced = deps.fence
      ? await deps.fence().catch((err: unknown) => `the fence check failed: ${messageOf(err)}`)
      : undefined;
    if (fenced !== undefined) return finish(refusedRecord(id, request, { rail: 'leader', reason: fenced }, extra));
    const at = clock.now();
    // Counted before `perform` is awaited, so concurrent submits see it.
    const handle = rails.record(request.policy, request, at, 'executed');
    const base = { ...request, ...extra, id, at };
    try {
      const result = await perform(id);
      return finish({ ...base, outcome: 'executed', result, durationMs: clock.now() - at });
    } catch (err) {
      handle.fail();
      return finish({ ...base, outcome: 'failed', why: messageOf(err), durationMs: clock.now() - at });
    }
  }

  function refusedRecord(
    id: string,
    request: ActionRequest,
    verdict: { rail: string; reason: string; froze?: readonly string[] },
    extra: Partial<ActionRecord> = {},
  ): ActionRecord {
    return {
      ...request,
      ...extra,
      id,
      at: clock.now(),
      outcome: 'refused',
      why: verdict.reason,
      rail: verdict.rail,
      ...(verdict.froze === undefined ? {} : { froze: verdict.froze }),
    };
  }

  async function askApproval(id: string, request: ActionRequest, perform: Perform): Promise<ActionRecord> {
    let approval: Approval;
    try {
      approval = await deps.approvals.request({
        kind: 'action',
        ref: id,
        summary: summary(request),
        payload: { request },
      });
    } catch (err) {
      const why = `could not ask for approval: ${messageOf(err)}`;
      return finish({ ...request, id, at: clock.now(), outcome: 'failed', why });
    }
    const record: ActionRecord = {
      ...request,
      id,
      at: clock.now(),
      outcome: 'pending-approval',
      approval: approval.id,
    };
    pending.set(id, { request, record, perform });
    pendingIds.set(pendingKey(request), id);
    return finish(record);
  }

  async function submit(request: ActionRequest, perform: Perform): Promise<ActionRecord> {
    const tracing = deps.tracing;
    if (tracing === undefined || !tracing.enabled) return decide(request, perform);
    const attributes = {
      'homeostat.policy': request.policy,
      'homeostat.action': request.action,
      'homeostat.resource': request.resource,
    };
    return tracing.inSpan(`action ${request.action}`, tracing.parentFor(request.cause), attributes, async (span) => {
      const record = await decide(request, perform);
      span.setAttributes({ 'homeostat.action_id': record.id, 'homeostat.outcome': record.outcome });
      if (record.rail !== undefined) span.setAttribute('homeostat.rail', record.rail);
      return record;
    });
  }

  async function decide(request: ActionRequest, perform: Perform): Promise<ActionRecord> {
    if (closed) throw new HomeostatError(ErrorCode.CLOSED, 'the action gate is closed (shutting down)');
    if (request.key !== undefined) {
      const seen = memory.byKey(request.key);
      if (seen !== undefined && SETTLED_FOR_KEY.has(seen.outcome)) return seen;
    }
    const waiting = pendingIds.get(pendingKey(request));
    if (waiting !== undefined) return pending.get(waiting)!.record;
    const id = newId();
    const spec = specOf(request.policy);
    const mode = request.mode ?? spec.mode;
    const now = clock.now();
    const verdict = rails.check(request.policy, spec, request, now);
    if (!verdict.allow) return finish(refusedRecord(id, request, verdict));
    if (mode === 'dry-run') {
      rails.record(request.policy, request, now, 'dry-run');
      return finish({ ...request, id, at: now, outcome: 'dry-run' });
    }
    if (mode === 'approval') return askApproval(id, request, perform);
    return execute(id, request, perform, {});
  }

  async function decided(approval: Approval): Promise<void> {
    const id = approval.ref;
    const known = memory.get(id)?.outcome;
    // Already settled (a decision handed over again after a restart): do not act twice.
    if (known !== undefined && known !== 'pending-approval') return;
    const p = pending.get(id);
    const request = p?.request ?? (approval.payload.request as ActionRequest | undefined);
    if (request === undefined || typeof request.policy !== 'string') {
      logger.warn({ approval }, 'an action approval without its request; nothing to do');
      return;
    }
    const extra = { approval: approval.id };
    if (approval.status !== 'approved') {
      const by =
        approval.status === 'expired' ? `the approval expired` : `rejected by ${approval.decidedBy ?? 'someone'}`;
      const why = approval.comment ? `${by}: ${approval.comment}` : by;
      await finish({ ...request, ...extra, id, at: clock.now(), outcome: 'rejected', why });
      return;
    }
    const verdict = rails.check(request.policy, specOf(request.policy), { ...request, mode: 'enforce' }, clock.now());
    if (!verdict.allow) {
      await finish(refusedRecord(id, request, verdict, extra));
      return;
    }
    const perform: Perform | undefined =
      p?.perform ?? (deps.performRequest ? (actionId) => deps.performRequest!(request, actionId) : undefined);
    if (perform === undefined) {
      const why = 'approved after a restart, and this server cannot perform it without its requester; trigger it again';
      await finish({ ...request, ...extra, id, at: clock.now(), outcome: 'failed', why });
      return;
    }
    await execute(id, request, perform, extra);
  }

  function track<T>(p: Promise<T>): Promise<T> {
    inflight.add(p);
    void p.finally(() => inflight.delete(p)).catch(() => undefined);
    return p;
  }

  if (deps.history !== undefined) restore(deps.history);
  deps.approvals.register('action', (approval) => track(decided(approval)));

  return {
    configure(policy, safety) {
      specs.set(policy, safety);
    },
    remove(policy) {
      specs.delete(policy);
      rails.forget(policy);
    },
    submit: (request, perform) => track(submit(request, perform)),
    recent: (filter) => memory.recent(filter),
    frozen: () => rails.frozen(),
    async unfreeze(policy, resource, by = 'api') {
      if (!rails.unfreeze(policy, resource)) {
        throw new HomeostatError(
          ErrorCode.NOT_FOUND,
          `${policy} is not frozen on ${resource}; list freezes with GET /v1/actions/frozen or \`homeostat actions frozen\``,
          { details: { policy, resource } },
        );
      }
      const record: ActionRecord = {
        id: newId(),
        at: clock.now(),
        policy,
        action: UNFREEZE_ACTION,
        resource,
        direction: 'none',
        params: { by },
        reason: `unfrozen by ${by}`,
        outcome: 'executed',
      };
      memory.remember(record);
      await publish([{ record, type: ACTION_UNFROZEN_TYPE }]);
      return record;
    },
    restore,
    async close() {
      closed = true;
      while (inflight.size > 0) await Promise.allSettled([...inflight]);
    },
  };

  function restore(records: readonly ActionRecord[]): void {
    const sorted = [...records].sort((a, b) => a.at - b.at);
    for (const r of sorted) {
      replay(r);
      memory.remember(r);
    }
  }

  function replay(r: ActionRecord): void {
    if (r.action === UNFREEZE_ACTION && r.outcome === 'executed') {
      rails.unfreeze(r.policy, r.resource);
      return;
    }
    if (r.outcome === 'executed' || r.outcome === 'failed' || r.outcome === 'dry-run') {
      rails.record(r.policy, r, r.at, r.outcome);
    }
    if (r.outcome === 'refused' && r.froze !== undefined) {
      for (const p of r.froze) rails.freeze(p, r.resource, r.at, r.why ?? 'frozen');
    }
    if (r.outcome === 'pending-approval') {
      const request = requestOf(r);
      pending.set(r.id, { request, record: r });
      pendingIds.set(pendingKey(request), r.id);
    } else if (pending.has(r.id)) {
      pendingIds.delete(pendingKey(pending.get(r.id)!.request));
      pending.delete(r.id);
    }
  }
}
