/** @module Options of the flash-sale scenario: `BENCH_*` variables or `--flags`, resolved to a frozen form. */
import { createFlagReader } from '../flags.js';

export interface ResolvedFlashSaleOptions {
  /** Rises measured, one after the other on the same server. Default 3. */
  readonly runs: number;
  /** Client requests per second before and after the sale, open loop. Default 30. */
  readonly baseRate: number;
  /** Client requests per second at the peak. Default 300 (10×). */
  readonly peakRate: number;
  /** Duration of the rise from base to peak (linear; 0 is a step), ms. Default 0. */
  readonly riseMs: number;
  /** Steady base load before each rise, once the group is at its base size, ms. Default 4,000. */
  readonly baseMs: number;
  /** Peak load duration, ms. Default 10,000. */
  readonly peakMs: number;
  /** Group size at the start (and the policy's min). Default 2. */
  readonly minInstances: number;
  /** The policy's and the group's max. Default 10. */
  readonly maxInstances: number;
  /** ScalingPolicy target of data.rpsPerInstance. Default 50. */
  readonly target: number;
  /** providers.local.metricsInterval, ms. Default 250. */
  readonly metricsIntervalMs: number;
  /** Group health check interval, ms (timeout is 80% of it). Default 250. */
  readonly healthIntervalMs: number;
  /** scaleOut.cooldown, ms. Default 1,000. */
  readonly scaleOutCooldownMs: number;
  /** scaleIn.stabilization, ms. Default 20,000. */
  readonly scaleInStabilizationMs: number;
  /** CPU each request burns in the example service, ms. Default 2. */
  readonly workMs: number;
  /** The client gives up on a request after this long, ms. Default 10,000. */
  readonly clientTimeoutMs: number;
  /** How long a run may wait for the scale-in (and the return to base size) after the drop, ms. Default 60,000. */
  readonly scaleInTimeoutMs: number;
  readonly startTimeoutSec: number;
}

const SPEC: Readonly<Record<string, { env: string; help: string }>> = {
  runs: { env: 'BENCH_RUNS', help: 'rises measured, one after the other (3)' },
  'base-rate': { env: 'BENCH_BASE_RATE', help: 'client requests/s before and after the sale, open loop (30)' },
  'peak-rate': { env: 'BENCH_PEAK_RATE', help: 'client requests/s at the peak (300)' },
  rise: { env: 'BENCH_RISE', help: 'ms from base to peak, linear; 0 is a step (0)' },
  base: { env: 'BENCH_BASE', help: 'ms of base load before each rise, at base size (4000)' },
  peak: { env: 'BENCH_PEAK', help: 'ms of peak load (10000)' },
  min: { env: 'BENCH_MIN', help: 'instances at the start, the policy min (2)' },
  max: { env: 'BENCH_MAX', help: 'the policy and group max (10)' },
  target: { env: 'BENCH_TARGET', help: 'target of data.rpsPerInstance (50)' },
  'metrics-interval': { env: 'BENCH_METRICS_INTERVAL', help: 'providers.local.metricsInterval in ms (250)' },
  'health-interval': { env: 'BENCH_HEALTH_INTERVAL', help: 'group health check interval in ms (250)' },
  'scale-out-cooldown': { env: 'BENCH_SCALE_OUT_COOLDOWN', help: 'scaleOut.cooldown in ms (1000)' },
  'scale-in-stabilization': { env: 'BENCH_SCALE_IN_STABILIZATION', help: 'scaleIn.stabilization in ms (20000)' },
  'work-ms': { env: 'BENCH_WORK_MS', help: 'CPU ms each request burns in the service (2)' },
  'client-timeout': { env: 'BENCH_CLIENT_TIMEOUT', help: 'client gives up on a request after ms (10000)' },
  'scale-in-timeout': { env: 'BENCH_SCALE_IN_TIMEOUT', help: 'ms a run may wait for scale-in after the drop (60000)' },
  'start-timeout': { env: 'BENCH_START_TIMEOUT', help: "seconds to wait for the server's serving line (30)" },
};

const flags = createFlagReader('bench/scenarios/flash-sale.ts', SPEC);

/** Reads `BENCH_*` variables, then `--name value` / `--name=value` arguments; throws with usage on errors. */
export function readFlashSaleOptions(argv: readonly string[], env: NodeJS.ProcessEnv): ResolvedFlashSaleOptions {
  const raw = flags.read(argv, env);
  const minInstances = flags.int(raw, 'min', 2, 1);
  const maxInstances = flags.int(raw, 'max', 10, 1);
  if (maxInstances <= minInstances) {
    throw new Error(`--max (BENCH_MAX) must be above --min (${minInstances}), got ${maxInstances}`);
  }
  const baseRate = flags.num(raw, 'base-rate', 30, 1);
  const peakRate = flags.num(raw, 'peak-rate', 300, 1);
  if (peakRate <= baseRate) throw new Error(`--peak-rate must be above --base-rate (${baseRate}), got ${peakRate}`);
  const scaleInStabilizationMs = flags.int(raw, 'scale-in-stabilization', 20_000, 0);
  return Object.freeze({
    runs: flags.int(raw, 'runs', 3, 1),
    baseRate,
    peakRate,
    riseMs: flags.int(raw, 'rise', 0, 0),
    baseMs: flags.int(raw, 'base', 4_000, 500),
    peakMs: flags.int(raw, 'peak', 10_000, 1_000),
    minInstances,
    maxInstances,
    target: flags.num(raw, 'target', 50, 1),
    metricsIntervalMs: flags.int(raw, 'metrics-interval', 250, 10),
    healthIntervalMs: flags.int(raw, 'health-interval', 250, 50),
    scaleOutCooldownMs: flags.int(raw, 'scale-out-cooldown', 1_000, 0),
    scaleInStabilizationMs,
    workMs: flags.num(raw, 'work-ms', 2, 0),
    clientTimeoutMs: flags.int(raw, 'client-timeout', 10_000, 100),
    scaleInTimeoutMs: flags.int(raw, 'scale-in-timeout', Math.max(60_000, scaleInStabilizationMs + 30_000), 1_000),
    startTimeoutSec: flags.num(raw, 'start-timeout', 30, 1),
  });
}
