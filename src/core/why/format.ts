/** @module Durations and relative times as `why` prints them: `275ms`, `1.2s`, `1m30s`, `+275ms`. Pure. */

/** A duration for humans: `0ms`, `275ms`, `1.2s`, `12s`, `1m`, `1m30s`, `2h`, `2h05m`, `3d`. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return String(ms);
  const abs = Math.abs(Math.round(ms));
  const sign = ms < 0 ? '-' : '';
  if (abs < 1_000) return `${sign}${abs}ms`;
  if (abs < 10_000 && abs % 1_000 !== 0) return `${sign}${(abs / 1_000).toFixed(1).replace(/\.0$/, '')}s`;
  if (abs < 60_000) return `${sign}${Math.round(abs / 1_000)}s`;
  if (abs < 3_600_000) {
    const m = Math.floor(abs / 60_000);
    const s = Math.round((abs % 60_000) / 1_000);
    return `${sign}${m}m${s === 0 ? '' : `${String(s).padStart(2, '0')}s`}`;
  }
  if (abs < 86_400_000) {
    const h = Math.floor(abs / 3_600_000);
    const m = Math.round((abs % 3_600_000) / 60_000);
    return `${sign}${h}h${m === 0 ? '' : `${String(m).padStart(2, '0')}m`}`;
  }
  const d = Math.floor(abs / 86_400_000);
  const h = Math.round((abs % 86_400_000) / 3_600_000);
  return `${sign}${d}d${h === 0 ? '' : `${h}h`}`;
}

/** A time relative to the root: `+0ms`, `+275ms`, `+1.2s`, `-40ms` (appended before the root). */
export function formatRelative(ms: number): string {
  return ms < 0 ? formatDuration(ms) : `+${formatDuration(ms)}`;
}
