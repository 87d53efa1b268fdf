/** @module The dispatcher's DeliveryAdmin: dead-letter redrive and purge, trace reads. */
import type { Clock } from '../core/clock.js';
import { partitionKeyOf } from '../core/event.js';
import type { DeadLetter, DeliveryStore } from '../ports/delivery-store.js';
import type { DeadLetterSelector, DeliveryAdmin, PurgeResult, RedriveResult } from './delivery-admin.js';
import { type Dispatcher, targetOfKey } from './dispatcher.js';
import type { StateWriter } from './state-writer.js';

export interface DeliveryAdminOptions {
  readonly store: DeliveryStore;
  readonly writer: StateWriter;
  readonly dispatcher: Dispatcher;
  readonly clock: Clock;
}

const PAGE = 1_000;

async function select(
  store: DeliveryStore,
  selector: DeadLetterSelector,
): Promise<{ letters: DeadLetter[]; missing: number[] }> {
  if ('ids' in selector) {
    const letters: DeadLetter[] = [];
    const missing: number[] = [];
    for (const id of selector.ids) {
      const letter = await store.getDead(id);
      if (letter) letters.push(letter);
      else missing.push(id);
    }
    return { letters, missing };
  }
  const letters: DeadLetter[] = [];
  let after: number | undefined;
  for (;;) {
    const page = await store.listDead({ ...selector.filter, after, limit: PAGE });
    letters.push(...page);
    if (page.length < PAGE) return { letters, missing: [] };
    after = page[page.length - 1]!.id;
  }
}

export function createDeliveryAdmin(o: DeliveryAdminOptions): DeliveryAdmin {
  const { store } = o;
  return {
    listDead: (page) => store.listDead(page),
    getDead: (id) => store.getDead(id),
    countDead: (filter) => store.countDead(filter),
    trace: (id, source) => store.trace(id, source),

    async redrive(selector): Promise<RedriveResult> {
      const { letters, missing } = await select(store, selector);
      const statuses = await store.statusOf(letters.map((l) => l.key));
      let alreadyDelivered = 0;
      const now = o.clock.now();
      for (const [i, letter] of letters.entries()) {
        if (statuses[i] === 'delivered') {
          alreadyDelivered++;
          await o.writer.write([{ kind: 'remove-dead', ids: [letter.id] }]);
          continue;
        }
        const pending = { key: letter.key, offset: letter.offset, attempts: 0, nextAt: now, replayed: false };
        await o.writer.write([
          { kind: 'remove-dead', ids: [letter.id] },
          { kind: 'pending', delivery: pending },
        ]);
        o.dispatcher.submit({
          record: {
            offset: letter.offset,
            partition: 0,
            partitionKey: partitionKeyOf(letter.event),
            appendedAt: now,
            event: letter.event,
          },
          rule: letter.key.rule,
          target: targetOfKey(letter.key.target),
          key: letter.key,
          attempts: 0,
          firstSeenAt: now,
          replayed: targetOfKey(letter.key.target) !== letter.key.target,
          redriven: true,
          checked: true,
        });
      }
      return { redriven: letters.length - alreadyDelivered, alreadyDelivered, missing };
    },

    async purge(selector): Promise<PurgeResult> {
      const { letters, missing } = await select(store, selector);
      if (letters.length > 0) await o.writer.write([{ kind: 'remove-dead', ids: letters.map((l) => l.id) }]);
      return { purged: letters.length, missing };
    },
  };
}
