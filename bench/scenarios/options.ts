/** @module Options of the crash scenario: `BENCH_*` variables or `--flags`, resolved to a frozen form. */

export interface ResolvedScenarioOptions {
  /** Repetitions of each case (kill -9, hang). Default 5. */
  readonly runs: number;
  /** Client requests per second through the balancer, open loop. Default 200. */
  readonly rate: number;
  /** Instances in the group. Default 3. */
  readonly instances: number;
  /** Health check interval, ms. Default 250. */
  readonly intervalMs: number;
  /** Health check timeout, ms (at most the interval). Default 200. */
  readonly timeoutMs: number;
  /** Failed checks in a row that make an instance unhealthy. Default 2. */
  readonly unhealthyThreshold: number;
  /** CPU each request burns in the example service, ms. Default 2. */
  readonly workMs: number;
  /** The client gives up on a request after this long, ms (counted as a timeout). Default 10,000. */
  readonly clientTimeoutMs: number;
  /** Steady load before each fault, after the stack is back to full strength, ms. Default 1,500. */
  readonly settleMs: number;
  /** How long one fault may take to be detected and replaced before the run fails, ms. Default 20,000. */
  readonly faultTimeoutMs: number;
  readonly startTimeoutSec: number;
}

const SPEC: Readonly<Record<string, { env: string; help: string }>> = {
  runs: { env: 'BENCH_RUNS', help: 'repetitions of each case, kill -9 and hang (5)' },
  rate: { env: 'BENCH_RATE', help: 'client requests/s through the balancer, open loop (200)' },
  instances: { env: 'BENCH_INSTANCES', help: 'instances in the group (3)' },
  interval: { env: 'BENCH_INTERVAL', help: 'health check interval in ms (250)' },
  timeout: { env: 'BENCH_TIMEOUT', help: 'health check timeout in ms, at most the interval (200)' },
  'unhealthy-threshold': { env: 'BENCH_UNHEALTHY_THRESHOLD', help: 'failed checks that mark unhealthy (2)' },
  'work-ms': { env: 'BENCH_WORK_MS', help: 'CPU ms each request burns in the service (2)' },
  'client-timeout': { env: 'BENCH_CLIENT_TIMEOUT', help: 'client gives up on a request after ms (10000)' },
  settle: { env: 'BENCH_SETTLE', help: 'ms of steady load at full strength before each fault (1500)' },
  'fault-timeout': { env: 'BENCH_FAULT_TIMEOUT', help: 'ms a fault may take to be replaced (20000)' },
  'start-timeout': { env: 'BENCH_START_TIMEOUT', help: "seconds to wait for the server's serving line (30)" },
};

export function usage(): string {
  const lines = Object.entries(SPEC).map(([flag, s]) => `  --${flag.padEnd(20)} ${s.env.padEnd(26)} ${s.help}`);
  return `usage: tsx bench/scenarios/crash.ts [--flag value | --flag=value]... (or the environment variables)\n${lines.join('\n')}`;
}

/** Reads `BENCH_*` variables, then `--name value` / `--name=value` arguments; throws with usage on errors. */
export function readScenarioOptions(argv: readonly string[], env: NodeJS.ProcessEnv): ResolvedScenarioOptions {
  const raw: Record<string, string | undefined> = {};
  for (const [flag, s] of Object.entries(SPEC)) raw[flag] = env[s.env];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (arg === '--help' || arg === '-h') throw new Error(usage());
    const m = /^--([a-z-]+)(?:=(.*))?$/.exec(arg);
    if (!m?.[1] || !(m[1] in SPEC)) throw new Error(`unknown argument ${arg}\n${usage()}`);
    raw[m[1]] = m[2] ?? argv[++i];
  }
  const intervalMs = int(raw, 'interval', 250, 50);
  const timeoutMs = int(raw, 'timeout', Math.min(200, intervalMs), 10);
  if (timeoutMs > intervalMs) {
    throw new Error(`--timeout (BENCH_TIMEOUT) must be at most --interval (${intervalMs} ms), got ${timeoutMs}`);
  }
  return Object.freeze({
    runs: int(raw, 'runs', 5, 1),
    rate: num(raw, 'rate', 200, 1),
    instances: int(raw, 'instances', 3, 2),
    intervalMs,
    timeoutMs,
    unhealthyThreshold: int(raw, 'unhealthy-threshold', 2, 1),
    workMs: num(raw, 'work-ms', 2, 0),
    clientTimeoutMs: int(raw, 'client-timeout', 10_000, 100),
    settleMs: int(raw, 'settle', 1_500, 0),
    faultTimeoutMs: int(raw, 'fault-timeout', 20_000, 1_000),
    startTimeoutSec: num(raw, 'start-timeout', 30, 1),
  });
}

function num(raw: Record<string, string | undefined>, flag: string, fallback: number, min: number): number {
  const text = raw[flag];
  if (text === undefined || text === '') return fallback;
  const value = Number(text);
  if (!Number.isFinite(value) || value < min) {
    throw new Error(`--${flag} (${SPEC[flag]?.env}) must be a number >= ${min}, got '${text}'`);
  }
  return value;
}

function int(raw: Record<string, string | undefined>, flag: string, fallback: number, min: number): number {
  const value = num(raw, flag, fallback, min);
  if (!Number.isInteger(value))
    throw new Error(`--${flag} (${SPEC[flag]?.env}) must be an integer, got '${raw[flag]}'`);
  return value;
}
