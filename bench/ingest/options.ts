/** @module Options of the ingest benchmark: raw env/argv input resolved to a frozen, defaulted form. */

export const FSYNC_MODES = ['normal', 'always'] as const;
export type FsyncMode = (typeof FSYNC_MODES)[number];

export const PEERS = ['nats', 'redis'] as const;
export type Peer = (typeof PEERS)[number];

/** Raw input, as strings from `BENCH_*` environment variables or `--flag value` arguments. */
export type BenchOptions = Readonly<Record<string, string | undefined>>;

export interface ResolvedBenchOptions {
  /** Measured seconds per scenario. Default 10 (`BENCH_DURATION`, `--duration`). */
  readonly durationSec: number;
  /** Unmeasured warm-up seconds before each scenario. Default 2 (`BENCH_WARMUP`, `--warmup`). */
  readonly warmupSec: number;
  /** Concurrent keep-alive connections (and NATS/Redis clients) for single-event runs. Default 32. */
  readonly connections: number;
  /** Concurrent connections (and publishers) for batched runs. Default 8. */
  readonly batchConnections: number;
  /** Events per batch request (and per NATS ack window / Redis pipeline). Default 100. */
  readonly batchSize: number;
  /** Server fsync modes to run, each on a fresh data dir. Default `normal,always`. */
  readonly fsync: readonly FsyncMode[];
  /** Peers to run. Default `nats,redis`; `none` for none. */
  readonly peers: readonly Peer[];
  readonly natsUrl: string;
  readonly redisUrl: string;
  /** Pre-generated events allow at most this single-event rate before a run ends early. Default 100,000/s. */
  readonly maxSingleRate: number;
  /** Pre-generated events allow at most this batched rate before a run ends early. Default 300,000/s. */
  readonly maxBatchRate: number;
  /** Extra server arguments (whitespace separated), e.g. `--config x.yaml`. Default none. */
  readonly serverArgs: readonly string[];
  /** Node.js options for the server process, e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`. Default none. */
  readonly serverNodeArgs: readonly string[];
  /** Seconds to wait for the server's `serving` line. Default 30. */
  readonly startTimeoutSec: number;
}

const NAMES: Readonly<Record<string, string>> = {
  duration: 'BENCH_DURATION',
  warmup: 'BENCH_WARMUP',
  connections: 'BENCH_CONNECTIONS',
  'batch-connections': 'BENCH_BATCH_CONNECTIONS',
  'batch-size': 'BENCH_BATCH_SIZE',
  fsync: 'BENCH_FSYNC',
  peers: 'BENCH_PEERS',
  'nats-url': 'BENCH_NATS_URL',
  'redis-url': 'BENCH_REDIS_URL',
  'max-single-rate': 'BENCH_MAX_SINGLE_RATE',
  'max-batch-rate': 'BENCH_MAX_BATCH_RATE',
  'server-args': 'BENCH_SERVER_ARGS',
  'server-node-args': 'BENCH_SERVER_NODE_ARGS',
  'start-timeout': 'BENCH_START_TIMEOUT',
};

/** Reads `BENCH_*` variables, then lets `--name value` / `--name=value` arguments override them. */
export function readRawOptions(argv: readonly string[], env: NodeJS.ProcessEnv): BenchOptions {
  const raw: Record<string, string | undefined> = {};
  for (const [flag, envName] of Object.entries(NAMES)) raw[flag] = env[envName];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (arg === '--help' || arg === '-h') throw new Error(usage());
    const match = /^--([a-z-]+)(?:=(.*))?$/.exec(arg);
    const flag = match?.[1];
    if (!match || flag === undefined || !(flag in NAMES)) throw new Error(`unknown argument ${arg}\n${usage()}`);
    raw[flag] = match[2] ?? argv[++i];
  }
  return raw;
}

const HELP: Readonly<Record<string, string>> = {
  duration: 'measured seconds per scenario (10)',
  warmup: 'unmeasured warm-up seconds before each scenario (2)',
  connections: 'keep-alive connections / NATS publishers / Redis clients for single events (32)',
  'batch-connections': 'connections / publishers / clients for batches (32)',
  'batch-size': 'events per batch request, NATS ack window, Redis pipeline (100)',
  fsync: 'server fsync modes, each on a fresh data dir (normal,always)',
  peers: 'nats,redis or none (nats,redis)',
  'nats-url': 'NATS server (127.0.0.1:4222)',
  'redis-url': 'Redis server (redis://127.0.0.1:6379)',
  'max-single-rate': 'pre-generate enough events for this single-event rate (100000)',
  'max-batch-rate': 'pre-generate enough events for this batched rate (300000)',
  'server-args': 'extra `homeostat up` arguments, e.g. "--config x.yaml"',
  'server-node-args': 'node options for the server, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof"',
  'start-timeout': "seconds to wait for the server's serving line (30)",
};

export function usage(): string {
  const lines = Object.entries(NAMES).map(
    ([flag, envName]) => `  --${flag.padEnd(18)} ${envName.padEnd(24)} ${HELP[flag] ?? ''}`,
  );
  return `usage: tsx bench/ingest.ts [--flag value | --flag=value]... (or the environment variables)\n${lines.join('\n')}`;
}

export function resolveBenchOptions(raw: BenchOptions): ResolvedBenchOptions {
  return Object.freeze({
    durationSec: num(raw, 'duration', 10, 0.5),
    warmupSec: num(raw, 'warmup', 2, 0),
    connections: int(raw, 'connections', 32),
    batchConnections: int(raw, 'batch-connections', 32),
    batchSize: int(raw, 'batch-size', 100),
    fsync: Object.freeze(list(raw, 'fsync', FSYNC_MODES, ['normal', 'always'])),
    peers: Object.freeze(list(raw, 'peers', PEERS, ['nats', 'redis'])),
    natsUrl: raw['nats-url'] ?? '127.0.0.1:4222',
    redisUrl: raw['redis-url'] ?? 'redis://127.0.0.1:6379',
    maxSingleRate: int(raw, 'max-single-rate', 100_000),
    maxBatchRate: int(raw, 'max-batch-rate', 300_000),
    serverArgs: words(raw['server-args']),
    serverNodeArgs: words(raw['server-node-args']),
    startTimeoutSec: num(raw, 'start-timeout', 30, 1),
  });
}

function num(raw: BenchOptions, flag: string, fallback: number, min: number): number {
  const text = raw[flag];
  if (text === undefined || text === '') return fallback;
  const value = Number(text);
  if (!Number.isFinite(value) || value < min) {
    throw new Error(`--${flag} (${NAMES[flag]}) must be a number >= ${min}, got '${text}'`);
  }
  return value;
}

function int(raw: BenchOptions, flag: string, fallback: number): number {
  const value = num(raw, flag, fallback, 1);
  if (!Number.isInteger(value)) throw new Error(`--${flag} (${NAMES[flag]}) must be an integer, got '${raw[flag]}'`);
  return value;
}

function list<T extends string>(raw: BenchOptions, flag: string, allowed: readonly T[], fallback: T[]): T[] {
  const text = raw[flag];
  if (text === undefined || text === '') return fallback;
  if (text === 'none') return [];
  const items = text.split(',').map((s) => s.trim());
  for (const item of items) {
    if (!(allowed as readonly string[]).includes(item)) {
      throw new Error(`--${flag} (${NAMES[flag]}) allows ${allowed.join(', ')} or none, got '${item}'`);
    }
  }
  return items as T[];
}

function words(text: string | undefined): readonly string[] {
  return Object.freeze((text ?? '').split(/\s+/).filter(Boolean));
}
