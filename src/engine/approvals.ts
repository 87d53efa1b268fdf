/**
 * @module Approvals: durable requests for a human decision (the `Approvals` contract of
 * engine/automation/types.ts) over an ApprovalStore.
 *
 * - `request` stores a pending request with a short id (`apr-7k2x9`).
 * - `decide` stores the decision (E_NOT_FOUND for an unknown id, E_CONFLICT when it was already
 *   decided or has expired) and then hands it to the kind's handler; the decision stays recorded
 *   as not handled until the handler resolves, so a crash in between, or a decision taken while
 *   no handler was registered, is handed over when the kind's handler registers (after a
 *   restart). Handlers must therefore be idempotent. A handler that throws is reported through
 *   `onError` and gets the decision again at the next registration.
 * - Requests past their `expiresAt` are expired (a rejection, `decidedBy: homeostat`) by a timer
 *   and handed to their handler the same way.
 */
import { randomInt } from 'node:crypto';
import type { Clock } from '../core/clock.js';
import { ErrorCode, HomeostatError } from '../core/errors.js';
import type { ApprovalStore, StoredApproval } from '../ports/workflow-store.js';
import type { Approval, Approvals } from './automation/types.js';

export interface ApprovalsOptions {
  readonly store: ApprovalStore;
  readonly clock: Clock;
  /** A handler failed, or the expiry timer could not read the store. */
  readonly onError?: (err: unknown) => void;
  /** How often pending requests are checked against their `expiresAt`. Default 1,000 ms. */
  readonly expiryIntervalMs?: number;
}

/** Approvals plus the expiry sweep (also run by a timer) and `close`, which stops the timer. */
export interface ApprovalService extends Approvals {
  /** Expires every pending request past its deadline now; resolves with how many. */
  expireDue(): Promise<number>;
  close(): void;
}

/** Who decides expiries. */
export const SYSTEM_DECIDER = 'homeostat';
const MAX_SUMMARY = 1000;
const ID_ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';

function newId(): string {
  let id = 'apr-';
  for (let i = 0; i < 5; i++) id += ID_ALPHABET[randomInt(ID_ALPHABET.length)];
  return id;
}

function toApproval(s: StoredApproval): Approval {
  const { handled: _handled, ...approval } = s;
  return approval;
}

export function approvalNotFound(id: string): HomeostatError {
  return new HomeostatError(
    ErrorCode.NOT_FOUND,
    `no approval '${id}'; list the pending ones with \`homeostat approvals\` or GET /v1/approvals`,
    { details: { id } },
  );
}

function checkRequest(input: Parameters<Approvals['request']>[0]): void {
  const problems = [];
  if (!input.kind)
    problems.push({ pointer: '/kind', message: "required: who handles the decision ('action', 'workflow')" });
  if (!input.ref) problems.push({ pointer: '/ref', message: 'required: what the request is about' });
  if (!input.summary || input.summary.length > MAX_SUMMARY) {
    problems.push({ pointer: '/summary', message: `required: one line of at most ${MAX_SUMMARY} characters` });
  }
  if (problems.length > 0) {
    throw new HomeostatError(
      ErrorCode.INVALID,
      `invalid approval request: ${problems.map((p) => p.message).join('; ')}`,
      {
        problems,
      },
    );
  }
}

export function createApprovals(o: ApprovalsOptions): ApprovalService {
  const { store, clock } = o;
  const onError = o.onError ?? (() => undefined);
  const handlers = new Map<string, (approval: Approval) => Promise<void>>();
  /** Ids being handed to their handler now, so a decision is not handed over twice at once. */
  const delivering = new Set<string>();
  let sweeping = false;

  async function deliver(approval: StoredApproval): Promise<void> {
    const handler = handlers.get(approval.kind);
    if (!handler || delivering.has(approval.id)) return;
    delivering.add(approval.id);
    try {
      await handler(toApproval(approval));
      await store.markHandled(approval.id);
    } catch (err) {
      onError(err);
    } finally {
      delivering.delete(approval.id);
    }
  }

  async function handOver(kind: string): Promise<void> {
    for (const approval of await store.unhandled(kind)) await deliver(approval);
  }

  async function expire(approval: StoredApproval, now: number): Promise<boolean> {
    const comment = `expired: nobody decided before ${new Date(approval.expiresAt ?? now).toISOString()}`;
    const ok = await store.decide(approval.id, { status: 'expired', at: now, by: SYSTEM_DECIDER, comment });
    const after = ok ? await store.get(approval.id) : undefined;
    if (after) await deliver(after);
    return ok;
  }

  async function expireDue(): Promise<number> {
    if (sweeping) return 0;
    sweeping = true;
    try {
      const now = clock.now();
      let n = 0;
      for (const approval of await store.expired(now)) if (await expire(approval, now)) n++;
      return n;
    } finally {
      sweeping = false;
    }
  }

  const timer = setInterval(() => void expireDue().catch(onError), o.expiryIntervalMs ?? 1000);
  timer.unref();

  async function alreadyDecided(id: string): Promise<HomeostatError> {
    const a = await store.get(id);
    if (!a) return approvalNotFound(id);
    const when = a.decidedAt === undefined ? '' : ` at ${new Date(a.decidedAt).toISOString()}`;
    return new HomeostatError(ErrorCode.CONFLICT, `approval ${id} is already ${a.status} (by ${a.decidedBy}${when})`, {
      details: { id, status: a.status },
    });
  }

  return {
    register(kind, handler) {
      handlers.set(kind, handler);
      void handOver(kind).catch(onError);
    },

    async request(input) {
      checkRequest(input);
      for (let tries = 0; ; tries++) {
        const approval: StoredApproval = {
          id: newId(),
          kind: input.kind,
          ref: input.ref,
          summary: input.summary,
          payload: input.payload,
          status: 'pending',
          requestedAt: clock.now(),
          ...(input.expiresAt === undefined ? {} : { expiresAt: input.expiresAt }),
          handled: false,
        };
        if (await store.insert(approval)) return toApproval(approval);
        if (tries >= 20) throw new HomeostatError(ErrorCode.INTERNAL, 'could not find a free approval id');
      }
    },

    async decide(id, decision) {
      const current = await store.get(id);
      if (!current) throw approvalNotFound(id);
      const now = clock.now();
      if (current.status === 'pending' && current.expiresAt !== undefined && current.expiresAt <= now) {
        await expire(current, now);
        throw await alreadyDecided(id);
      }
      const status = decision.approve ? ('approved' as const) : ('rejected' as const);
      const by = decision.by || 'unknown';
      const comment = decision.comment;
      const ok = await store.decide(id, { status, at: now, by, ...(comment ? { comment } : {}) });
      if (!ok) throw await alreadyDecided(id);
      const decided = (await store.get(id))!;
      await deliver(decided);
      return toApproval(decided);
    },

    async get(id) {
      const a = await store.get(id);
      return a && toApproval(a);
    },

    async list(filter = {}) {
      return (await store.list(filter)).map(toApproval);
    },

    expireDue,

    close() {
      clearInterval(timer);
    },
  };
}
