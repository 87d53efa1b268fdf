/** @module Live tail over any EventLog that signals appends on an emitter: history first, then new records. */
import type { EventEmitter } from 'node:events';
import type { EventLog, FollowOptions, LogRecord } from '../../ports/event-log.js';

function waitForAppend(appended: EventEmitter, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      appended.off('appended', done);
      appended.off('closed', done);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    appended.once('appended', done);
    appended.once('closed', done);
    signal?.addEventListener('abort', done, { once: true });
  });
}

export function followLog(
  log: EventLog,
  appended: EventEmitter,
  isClosed: () => boolean,
  firstOffset: () => number,
  nextOffset: number,
  opts: FollowOptions,
): AsyncIterable<LogRecord> {
  return {
    async *[Symbol.asyncIterator]() {
      let cursor = opts.from ?? nextOffset;
      const { partitions, ...filter } = opts;
      const only = partitions !== undefined && partitions.length > 0 ? new Set(partitions) : undefined;
      while (!isClosed() && !opts.signal?.aborted) {
        const batch = await log.query({ ...filter, after: cursor - 1, order: 'asc', limit: 500 });
        for (const rec of batch) {
          cursor = rec.offset + 1;
          if (only === undefined || only.has(rec.partition)) yield rec;
        }
        if (batch.length === 0) {
          cursor = Math.max(cursor, firstOffset());
          await waitForAppend(appended, opts.signal);
        }
      }
    },
  };
}
