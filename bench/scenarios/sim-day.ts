/**
 * @module Scenario 6: a simulated day of a 10,000-instance fleet on the `sim` provider, every
 * policy kind running at once in the real embedded engine, driven in lockstep on a shared virtual
 * clock. Prints capacity tracking, cost, actions and failures, beside HPA and AWS peer models.
 * Run: `npm run scenario:sim-day` (env: SIMDAY_GROUPS, SIMDAY_PEAK, SIMDAY_HOURS, SIMDAY_METRICS_S,
 * SIMDAY_STEP_S, SIMDAY_QUIET_MS, SIMDAY_SEED, SIMDAY_CRASH, SIMDAY_HANG).
 */
import { machineLines } from '../machine.js';
import { reportLines } from './sim-day/report.js';
import { runSimDay } from './sim-day/run.js';
import type { SimDayOptions } from './sim-day/setup.js';

const env = (name: string, fallback: number) => {
  const raw = process.env[`SIMDAY_${name}`];
  const n = raw === undefined ? fallback : Number(raw);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`SIMDAY_${name}=${raw}: expected a positive number`);
  return n;
};

const options: SimDayOptions = {
  groups: env('GROUPS', 10),
  peakInstances: env('PEAK', 10_000),
  hours: env('HOURS', 24),
  metricsIntervalMs: env('METRICS_S', 15) * 1000,
  stepMs: env('STEP_S', 5) * 1000,
  quietMs: env('QUIET_MS', 10),
  seed: env('SEED', 1),
  crashPerHour: env('CRASH', 0.002),
  hangPerHour: env('HANG', 0.0005),
  targetRps: 70,
  idleGroup: true,
};

const command = [
  ...Object.entries(process.env)
    .filter(([k]) => k.startsWith('SIMDAY_'))
    .map(([k, v]) => `${k}=${v}`),
  'tsx bench/scenarios/sim-day.ts',
].join(' ');
const header = [...machineLines(), `command:   ${command}`];
const result = await runSimDay(options, (line) => process.stderr.write(`[sim-day] ${line}\n`));
process.stdout.write([...header, ...reportLines(result), ''].join('\n'));
