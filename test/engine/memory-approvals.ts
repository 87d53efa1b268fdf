/**
 * @module A small in-memory Approvals for tests of the gate and the actions (the durable one is
 * engine/approvals.ts). Decisions call the kind's handler; a decision made while no handler is
 * registered is handed over when one registers, as the contract says.
 */
import { ErrorCode, HomeostatError } from '../../src/core/errors.js';
import type { Approval, Approvals } from '../../src/engine/automation/types.js';

export interface TestApprovals extends Approvals {
  /** Handler calls in flight, to await in tests. */
  settled(): Promise<void>;
  /** As after a process restart: no handlers; decided requests not yet handled are handed over on register. */
  restart(): void;
}

export function createTestApprovals(now: () => number): TestApprovals {
  const items = new Map<string, Approval>();
  const handlers = new Map<string, (a: Approval) => Promise<void>>();
  const handed = new Set<string>();
  const running: Promise<void>[] = [];
  let n = 0;

  const hand = (a: Approval): void => {
    const h = handlers.get(a.kind);
    if (h === undefined || handed.has(a.id)) return;
    handed.add(a.id);
    running.push(h(a));
  };

  return {
    register(kind, handler) {
      handlers.set(kind, handler);
      for (const a of items.values()) if (a.kind === kind && a.status !== 'pending') hand(a);
    },
    async request(input) {
      n += 1;
      const a: Approval = { ...input, id: `apr-${n}`, status: 'pending', requestedAt: now() };
      items.set(a.id, a);
      return a;
    },
    async decide(id, d) {
      const a = items.get(id);
      if (a === undefined) throw new HomeostatError(ErrorCode.NOT_FOUND, `no approval ${id}`);
      if (a.status !== 'pending') throw new HomeostatError(ErrorCode.CONFLICT, `approval ${id} is already ${a.status}`);
      const decided: Approval = {
        ...a,
        status: d.approve ? 'approved' : 'rejected',
        decidedAt: now(),
        decidedBy: d.by,
        ...(d.comment === undefined ? {} : { comment: d.comment }),
      };
      items.set(id, decided);
      hand(decided);
      await Promise.all(running);
      return decided;
    },
    get: async (id) => items.get(id),
    list: async (filter = {}) =>
      [...items.values()].filter(
        (a) =>
          (filter.status === undefined || a.status === filter.status) &&
          (filter.kind === undefined || a.kind === filter.kind),
      ),
    async settled() {
      await Promise.all(running);
    },
    restart() {
      handlers.clear();
      for (const a of items.values()) if (a.status === 'pending') handed.delete(a.id);
    },
  };
}
