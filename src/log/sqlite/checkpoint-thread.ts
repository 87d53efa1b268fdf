/**
 * @module The checkpoint thread: copies the WAL into the database file (PASSIVE checkpoints, which
 * never block the writer) on its own connection, so commits never wait for a checkpoint's fsyncs.
 */
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';

const { path, intervalMs } = workerData as { path: string; intervalMs: number };
const db = new Database(path);
db.pragma('busy_timeout = 1000');
const port = parentPort!;

const timer = setInterval(() => {
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
  } catch {
    // A busy database is retried on the next tick; the writer's own auto-checkpoint is the backstop.
  }
}, intervalMs);

port.on('message', (msg: string) => {
  if (msg !== 'close') return;
  clearInterval(timer);
  db.close();
  port.close();
});
port.postMessage('ready');
