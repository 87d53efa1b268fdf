/** @module Options of the delivery benchmark: `BENCH_*` variables or `--flags`, resolved to a frozen form. */
import { createFlagReader } from '../flags.js';
import { FSYNC_MODES, type FsyncMode } from '../ingest/options.js';

export interface ResolvedDeliverOptions {
  /** Measured seconds per scenario. Default 12. */
  readonly durationSec: number;
  /** Unmeasured warm-up seconds before each scenario. Default 3. */
  readonly warmupSec: number;
  /** Open-loop event rates (events per second), one scenario each. Default 1000,5000. */
  readonly rates: readonly number[];
  /** Events per request in the paced runs. Default 1 (one event per POST). */
  readonly pacedBatch: number;
  /** Keep-alive connections for the paced posts. Default 32. */
  readonly connections: number;
  /** Events per request in the sustained run. Default 100. */
  readonly batchSize: number;
  /** Concurrent batch posters in the sustained run. Default 4. */
  readonly batchConnections: number;
  /** The sustained run holds ingest back while this many acknowledged events await delivery. Default 20,000. */
  readonly maxLag: number;
  /** The http target's `concurrency` (deliveries in flight). Default 64. */
  readonly targetConcurrency: number;
  readonly fsync: FsyncMode;
  /** Node.js options for the server, e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`. */
  readonly serverNodeArgs: readonly string[];
  readonly startTimeoutSec: number;
}

const SPEC: Readonly<Record<string, { env: string; help: string }>> = {
  duration: { env: 'BENCH_DURATION', help: 'measured seconds per scenario (12)' },
  warmup: { env: 'BENCH_WARMUP', help: 'unmeasured warm-up seconds before each scenario (3)' },
  rates: { env: 'BENCH_RATES', help: 'open-loop events/s, comma separated (1000,5000)' },
  'paced-batch': { env: 'BENCH_PACED_BATCH', help: 'events per request in the paced runs (1)' },
  connections: { env: 'BENCH_CONNECTIONS', help: 'keep-alive connections for the paced posts (32)' },
  'batch-size': { env: 'BENCH_BATCH_SIZE', help: 'events per request in the sustained run (100)' },
  'batch-connections': { env: 'BENCH_BATCH_CONNECTIONS', help: 'batch posters in the sustained run (4)' },
  'max-lag': { env: 'BENCH_MAX_LAG', help: 'sustained run: hold ingest while this many await delivery (20000)' },
  'target-concurrency': { env: 'BENCH_TARGET_CONCURRENCY', help: "the http target's concurrency (64)" },
  fsync: { env: 'BENCH_FSYNC', help: 'server fsync mode: normal or always (normal)' },
  'server-node-args': { env: 'BENCH_SERVER_NODE_ARGS', help: 'node options for the server, e.g. "--cpu-prof"' },
  'start-timeout': { env: 'BENCH_START_TIMEOUT', help: "seconds to wait for the server's serving line (30)" },
};

const flags = createFlagReader('bench/deliver.ts', SPEC);

/** Reads `BENCH_*` variables, then `--name value` / `--name=value` arguments; throws with usage on errors. */
export function readDeliverOptions(argv: readonly string[], env: NodeJS.ProcessEnv): ResolvedDeliverOptions {
  const raw = flags.read(argv, env);
  const fsync = raw.fsync || 'normal';
  if (!(FSYNC_MODES as readonly string[]).includes(fsync)) {
    throw new Error(`--fsync (BENCH_FSYNC) must be one of ${FSYNC_MODES.join(', ')}, got '${fsync}'`);
  }
  return Object.freeze({
    durationSec: flags.num(raw, 'duration', 12, 1),
    warmupSec: flags.num(raw, 'warmup', 3, 0),
    rates: Object.freeze((raw.rates || '1000,5000').split(',').map((r) => positive('rates', r.trim()))),
    pacedBatch: flags.int(raw, 'paced-batch', 1),
    connections: flags.int(raw, 'connections', 32),
    batchSize: flags.int(raw, 'batch-size', 100),
    batchConnections: flags.int(raw, 'batch-connections', 4),
    maxLag: flags.int(raw, 'max-lag', 20_000),
    targetConcurrency: flags.int(raw, 'target-concurrency', 64),
    fsync: fsync as FsyncMode,
    serverNodeArgs: Object.freeze((raw['server-node-args'] ?? '').split(/\s+/).filter(Boolean)),
    startTimeoutSec: flags.num(raw, 'start-timeout', 30, 1),
  });
}

function positive(flag: string, text: string): number {
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0) {
    throw new Error(`--${flag} (${SPEC[flag]?.env}) must be positive numbers, got '${text}'`);
  }
  return value;
}
