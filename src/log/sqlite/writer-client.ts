/** @module Calls to the ChunkWriter, inline (same thread) or in a worker thread, behind one async interface. */
import { Worker } from 'node:worker_threads';
import { ErrorCode, HomeostatError } from '../../core/errors.js';
import type { FsyncMode, SqliteDatabase } from '../../store/sqlite/database.js';
import {
  type AppendCodes,
  type AppendGroups,
  createChunkWriter,
  type WriterSettings,
  type WriterStats,
} from './writer.js';

export type WriterRequest = { readonly seq: number } & (
  | { readonly kind: 'append'; readonly groups: AppendGroups }
  | {
      readonly kind: 'commitOffset';
      readonly consumer: string;
      readonly offset: number;
      readonly reset: boolean;
      readonly now: number;
    }
  | { readonly kind: 'enforceRetention'; readonly now: number }
  | { readonly kind: 'stats' }
  | { readonly kind: 'close' }
);

export type WriterResponse = { readonly seq: number } & ({ readonly value: unknown } | { readonly error: string });

type Call = WriterRequest extends infer R
  ? R extends { kind: infer K }
    ? Omit<Extract<WriterRequest, { kind: K }>, 'seq'>
    : never
  : never;

export interface WriterClient {
  append(groups: AppendGroups): Promise<AppendCodes>;
  commitOffset(consumer: string, offset: number, reset: boolean, now: number): Promise<void>;
  enforceRetention(now: number): Promise<number>;
  stats(): Promise<WriterStats>;
  /** Why the writer cannot take writes (its thread failed or exited), or undefined when it can. */
  failure(): string | undefined;
  close(): Promise<void>;
}

function backendError(message: string, cause?: unknown): HomeostatError {
  return new HomeostatError(ErrorCode.BACKEND, `event log write failed: ${message}`, { cause });
}

/** The writer on the calling thread (simple; used in tests and where threads are unwanted). */
export function createInlineWriter(db: SqliteDatabase, settings: WriterSettings): WriterClient {
  const writer = createChunkWriter(db, settings);
  const run = async <T>(fn: () => T): Promise<T> => {
    try {
      return fn();
    } catch (err) {
      throw backendError((err as Error).message, err);
    }
  };
  return {
    append: (groups) => run(() => writer.append(groups)),
    commitOffset: (c, o, r, now) => run(() => writer.commitOffset(c, o, r, now)),
    enforceRetention: (now) => run(() => writer.enforceRetention(now)),
    stats: () => run(() => writer.stats()),
    failure: () => undefined,
    close: async () => undefined,
  };
}

export interface ThreadWriterOptions {
  readonly path: string;
  readonly fsync: FsyncMode;
  readonly settings: WriterSettings;
}

/** Starts a thread module beside this file; when running from TypeScript sources (tests) tsx loads it. */
function startWorker(name: string, workerData: unknown): Worker {
  const fromSource = import.meta.url.endsWith('.ts');
  const url = new URL(`./${name}.${fromSource ? 'ts' : 'js'}`, import.meta.url);
  if (!fromSource) return new Worker(url, { workerData });
  const boot = `import('tsx/esm/api').then((m) => { m.register(); return import(${JSON.stringify(url.href)}); })`;
  return new Worker(boot, { eval: true, workerData });
}

function started(worker: Worker, what: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    worker.once('message', () => resolve());
    worker.once('error', (err) => reject(backendError(`the ${what} thread did not start: ${err.message}`, err)));
  });
}

/** How often the checkpoint thread copies the WAL into the database file. */
const CHECKPOINT_INTERVAL_MS = 50;

/** The writer on its own thread, so SQLite work uses another core than HTTP and parsing. */
export async function createThreadWriter(options: ThreadWriterOptions): Promise<WriterClient> {
  const worker = startWorker('writer-thread', options);
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: unknown) => void }>();
  let seq = 0;
  let failure: HomeostatError | undefined;
  const fail = (err: HomeostatError): void => {
    failure ??= err;
    for (const p of pending.values()) p.reject(failure);
    pending.clear();
  };
  await started(worker, 'writer');
  const checkpointer = startWorker('checkpoint-thread', { path: options.path, intervalMs: CHECKPOINT_INTERVAL_MS });
  await started(checkpointer, 'checkpoint');
  checkpointer.unref();
  let checkpointerRunning = true;
  checkpointer.on('exit', () => {
    checkpointerRunning = false;
  });
  // The writer's own auto-checkpoint takes over if this thread fails; it must not crash the process.
  checkpointer.on('error', () => undefined);
  worker.on('message', (res: WriterResponse) => {
    const p = pending.get(res.seq);
    pending.delete(res.seq);
    if ('error' in res) p?.reject(backendError(res.error));
    else p?.resolve(res.value);
  });
  worker.on('error', (err) => fail(backendError(`the writer thread failed: ${err.message}`, err)));
  worker.on('exit', (code) =>
    fail(new HomeostatError(ErrorCode.CLOSED, `the event log writer thread exited (code ${code})`)),
  );

  function call<T>(req: Call): Promise<T> {
    if (failure) return Promise.reject(failure);
    seq += 1;
    const message = { ...req, seq } as WriterRequest;
    return new Promise<T>((resolve, reject) => {
      pending.set(seq, { resolve: resolve as (v: unknown) => void, reject });
      worker.postMessage(message);
    });
  }

  return {
    append: (groups) => call({ kind: 'append', groups }),
    commitOffset: (consumer, offset, reset, now) => call({ kind: 'commitOffset', consumer, offset, reset, now }),
    enforceRetention: (now) => call({ kind: 'enforceRetention', now }),
    stats: () => call({ kind: 'stats' }),
    failure: () => failure?.message,
    async close() {
      // Listen for 'exit' before asking a thread to stop: it can be emitted in the same turn as
      // the reply, before a listener attached after the reply would exist.
      if (checkpointerRunning) {
        const stopped = new Promise((resolve) => checkpointer.once('exit', resolve));
        checkpointer.postMessage('close');
        await stopped;
      }
      if (failure) return;
      const exited = new Promise((resolve) => worker.once('exit', resolve));
      await call({ kind: 'close' });
      await exited;
    },
  };
}
