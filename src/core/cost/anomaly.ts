/**
 * @module Cost anomalies: a cost rate that jumps well above its recent baseline. The baseline is
 * a time-weighted exponential moving average of the rate (a step function between changes), so it
 * forgets with a half-life rather than per sample. A jump is an anomaly when the new rate is at
 * least `factor` times the baseline *and* at least `floorPerHour` above it (so that 0 → 1 small
 * instance is not one). One anomaly per episode: the detector re-arms once the rate falls back
 * under `factor` × baseline. Pure; the state is JSON.
 */
export interface AnomalyOptions {
  /** How fast the baseline follows the rate. Default 6 h. */
  readonly halfLifeMs: number;
  /** New rate ÷ baseline that counts as a jump. Default 2. */
  readonly factor: number;
  /** Smallest jump (new rate − baseline, per hour) that counts. Default 0.5. */
  readonly floorPerHour: number;
  /** No anomalies until the scope has been watched this long. Default 0. */
  readonly warmupMs: number;
}

export const DEFAULT_ANOMALY_OPTIONS: AnomalyOptions = Object.freeze({
  halfLifeMs: 6 * 3_600_000,
  factor: 2,
  floorPerHour: 0.5,
  warmupMs: 0,
});

/** Per-scope detector state (JSON). */
export interface BaselineState {
  /** The baseline as of `at`. */
  readonly baseline: number;
  /** The rate in force since `at`. */
  readonly rate: number;
  readonly at: number;
  /** First observation. */
  readonly since: number;
  /** An anomaly fired and the rate has not come back under the threshold yet. */
  readonly active: boolean;
}

export interface Anomaly {
  readonly ratePerHour: number;
  readonly baselinePerHour: number;
  /** rate ÷ baseline (Infinity when the baseline is 0). */
  readonly factor: number;
  readonly jumpPerHour: number;
}

/** The baseline at `now`: the old baseline moved toward the rate in force, by the time passed. */
export function baselineAt(state: BaselineState, now: number, halfLifeMs: number): number {
  const dt = Math.max(0, now - state.at);
  const keep = halfLifeMs > 0 ? 2 ** (-dt / halfLifeMs) : 0;
  return state.rate + (state.baseline - state.rate) * keep;
}

/**
 * Feeds the rate that holds from `now` on. Returns the new state and, when this change is a jump
 * against the baseline, the anomaly.
 */
export function observeRate(
  state: BaselineState | undefined,
  rate: number,
  now: number,
  options: AnomalyOptions = DEFAULT_ANOMALY_OPTIONS,
): { state: BaselineState; anomaly?: Anomaly } {
  if (state === undefined) return { state: { baseline: rate, rate, at: now, since: now, active: false } };
  const baseline = baselineAt(state, now, options.halfLifeMs);
  const jump = rate - baseline;
  const isJump = rate >= baseline * options.factor && jump >= options.floorPerHour;
  const warm = now - state.since >= options.warmupMs;
  const next = { baseline, rate, at: now, since: state.since };
  if (state.active) return { state: { ...next, active: rate >= baseline * options.factor } };
  if (!isJump || !warm) return { state: { ...next, active: false } };
  const factor = baseline > 0 ? rate / baseline : Number.POSITIVE_INFINITY;
  return {
    state: { ...next, active: true },
    anomaly: { ratePerHour: rate, baselinePerHour: baseline, factor, jumpPerHour: jump },
  };
}
