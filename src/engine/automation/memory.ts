/**
 * @module The gate's bounded memory of action records: the latest record per action id (an action
 * that waited for approval is replaced by its final outcome), newest last, and an index by
 * idempotency key.
 */
import type { ActionFilter, ActionRecord } from './types.js';

export interface ActionMemory {
  remember(record: ActionRecord): void;
  get(id: string): ActionRecord | undefined;
  /** The latest record submitted with this idempotency key. */
  byKey(key: string): ActionRecord | undefined;
  /** Newest first. */
  recent(filter?: ActionFilter): ActionRecord[];
}

/** Keeps at most `max` records (and as many keys), dropping the oldest. */
export function createActionMemory(max: number): ActionMemory {
  const records = new Map<string, ActionRecord>();
  const keys = new Map<string, ActionRecord>();

  const trim = <V>(map: Map<string, V>): void => {
    while (map.size > max) {
      const oldest = map.keys().next();
      if (oldest.done === true) return;
      map.delete(oldest.value);
    }
  };

  return {
    remember(record) {
      // Re-inserted so the map stays in the order records were last updated.
      records.delete(record.id);
      records.set(record.id, record);
      trim(records);
      if (record.key !== undefined) {
        keys.delete(record.key);
        keys.set(record.key, record);
        trim(keys);
      }
    },
    get: (id) => records.get(id),
    byKey: (key) => keys.get(key),
    recent(filter = {}) {
      const limit = filter.limit ?? 100;
      const out: ActionRecord[] = [];
      const all = [...records.values()];
      for (let i = all.length - 1; i >= 0 && out.length < limit; i--) {
        const r = all[i]!;
        if (filter.policy !== undefined && r.policy !== filter.policy) continue;
        if (filter.resource !== undefined && r.resource !== filter.resource) continue;
        if (filter.outcome !== undefined && r.outcome !== filter.outcome) continue;
        out.push(r);
      }
      return out;
    },
  };
}
