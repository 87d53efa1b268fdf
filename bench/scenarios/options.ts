/** @module Options of the crash scenario: `BENCH_*` variables or `--flags`, resolved to a frozen form. */
import { createFlagReader } from '../flags.js';

/** Who heals: a HealingPolicy on the group (`heal`), or the plain reconciler (`none`). */
export type HealingMode = 'heal' | 'none';
const MODES: readonly HealingMode[] = ['heal', 'none'];

export interface ResolvedScenarioOptions {
  /** The healing modes run, in order (`--policy heal|none|both`, `--compare` = both). Default ['heal']. */
  readonly modes: readonly HealingMode[];
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
  policy: {
    env: 'BENCH_POLICY',
    help: 'heal: a HealingPolicy replaces failures; none: the reconciler; both (= --compare): one after the other (heal)',
  },
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

const flags = createFlagReader('bench/scenarios/crash.ts', SPEC);

/** Reads `BENCH_*` variables, then `--name value` / `--name=value` arguments; throws with usage on errors. */
export function readScenarioOptions(argv: readonly string[], env: NodeJS.ProcessEnv): ResolvedScenarioOptions {
  const raw = flags.read(
    argv.map((a) => (a === '--compare' ? '--policy=both' : a)),
    env,
  );
  const policy = raw.policy === undefined || raw.policy === '' ? 'heal' : raw.policy;
  if (policy !== 'both' && !MODES.includes(policy as HealingMode)) {
    throw new Error(`--policy (BENCH_POLICY) must be heal, none or both, got '${policy}'`);
  }
  const intervalMs = flags.int(raw, 'interval', 250, 50);
  const timeoutMs = flags.int(raw, 'timeout', Math.min(200, intervalMs), 10);
  if (timeoutMs > intervalMs) {
    throw new Error(`--timeout (BENCH_TIMEOUT) must be at most --interval (${intervalMs} ms), got ${timeoutMs}`);
  }
  return Object.freeze({
    modes: policy === 'both' ? MODES : [policy as HealingMode],
    runs: flags.int(raw, 'runs', 5, 1),
    rate: flags.num(raw, 'rate', 200, 1),
    instances: flags.int(raw, 'instances', 3, 2),
    intervalMs,
    timeoutMs,
    unhealthyThreshold: flags.int(raw, 'unhealthy-threshold', 2, 1),
    workMs: flags.num(raw, 'work-ms', 2, 0),
    clientTimeoutMs: flags.int(raw, 'client-timeout', 10_000, 100),
    settleMs: flags.int(raw, 'settle', 1_500, 0),
    faultTimeoutMs: flags.int(raw, 'fault-timeout', 20_000, 1_000),
    startTimeoutSec: flags.num(raw, 'start-timeout', 30, 1),
  });
}
