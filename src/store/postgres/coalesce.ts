/**
 * @module Lookups made in one turn of the event loop go to the database together.
 *
 * Every job a dispatcher starts asks for its key's delivery status, and a node runs one dispatcher
 * per partition it owns. On a remote database one query per job costs a round trip each; here the
 * keys asked for during one turn (from every caller) are queued and sent at the end of the turn
 * (`setImmediate`) in queries of at most `maxKeys` keys, and each caller gets its own answers back.
 * A caller waits at most until the end of the turn it asked in.
 */

interface Waiting<K, V> {
  readonly keys: readonly K[];
  readonly resolve: (values: V[]) => void;
  readonly reject: (err: unknown) => void;
}

/**
 * Wraps `query` (answers in the order of its keys) so that the calls of one turn share queries.
 * A call with more than `maxKeys` keys gets a query of its own; calls are never split.
 */
export function coalescePerTurn<K, V>(
  query: (keys: readonly K[]) => Promise<readonly V[]>,
  maxKeys = 1000,
): (keys: readonly K[]) => Promise<V[]> {
  let waiting: Waiting<K, V>[] = [];

  const send = (group: readonly Waiting<K, V>[]): void => {
    const keys = group.length === 1 ? group[0]!.keys : group.flatMap((w) => w.keys);
    let answer: Promise<readonly V[]>;
    try {
      answer = query(keys);
    } catch (err) {
      answer = Promise.reject(err);
    }
    answer.then(
      (values) => {
        let at = 0;
        for (const w of group) {
          w.resolve(values.slice(at, at + w.keys.length));
          at += w.keys.length;
        }
      },
      (err: unknown) => {
        for (const w of group) w.reject(err);
      },
    );
  };

  const flush = (): void => {
    const all = waiting;
    waiting = [];
    let group: Waiting<K, V>[] = [];
    let size = 0;
    for (const w of all) {
      if (size > 0 && size + w.keys.length > maxKeys) {
        send(group);
        group = [];
        size = 0;
      }
      group.push(w);
      size += w.keys.length;
    }
    if (group.length > 0) send(group);
  };

  return (keys) => {
    if (keys.length === 0) return Promise.resolve([]);
    return new Promise<V[]>((resolve, reject) => {
      if (waiting.length === 0) setImmediate(flush);
      waiting.push({ keys, resolve, reject });
    });
  };
}
