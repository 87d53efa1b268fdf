/** @module The writer thread: owns the SQLite write connection and serves ChunkWriter calls by message. */
import { parentPort, workerData } from 'node:worker_threads';
import { type FsyncMode, openDatabase } from '../../store/sqlite/database.js';
import { CHUNK_MIGRATIONS } from './chunks.js';
import { createChunkWriter, type WriterSettings } from './writer.js';
import type { WriterRequest, WriterResponse } from './writer-client.js';

const { path, fsync, settings } = workerData as { path: string; fsync: FsyncMode; settings: WriterSettings };
const db = openDatabase({ path, fsync, migrations: CHUNK_MIGRATIONS, what: 'event log' });
// The checkpoint thread keeps the WAL short; this large auto-checkpoint is only a backstop (64 MiB).
db.pragma('wal_autocheckpoint = 16384');
const writer = createChunkWriter(db, settings);
const port = parentPort!;

function handle(req: WriterRequest): unknown {
  switch (req.kind) {
    case 'append':
      return writer.append(req.groups);
    case 'commitOffset':
      return writer.commitOffset(req.consumer, req.offset, req.reset, req.now);
    case 'enforceRetention':
      return writer.enforceRetention(req.now);
    case 'stats':
      return writer.stats();
    case 'close':
      db.close();
      return undefined;
  }
}

port.on('message', (req: WriterRequest) => {
  let res: WriterResponse;
  try {
    res = { seq: req.seq, value: handle(req) };
  } catch (err) {
    res = { seq: req.seq, error: (err as Error).message };
  }
  port.postMessage(res);
  if (req.kind === 'close') port.close();
});
port.postMessage({ seq: 0, value: 'ready' } satisfies WriterResponse);
