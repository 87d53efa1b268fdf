/** @module Formatting for the dashboard: times, ages, numbers, money. */

export function time(value) {
  if (value === undefined || value === null || value === '') return '';
  const d = new Date(value);
  if (Number.isNaN(d.getTime())) return String(value);
  const today = new Date().toDateString() === d.toDateString();
  return today ? d.toLocaleTimeString() : d.toLocaleString();
}

export function ago(value) {
  const t = new Date(value).getTime();
  if (!Number.isFinite(t)) return '';
  const s = Math.round((Date.now() - t) / 1000);
  if (s < 60) return `${Math.max(0, s)}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}m ago`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ago`;
  return `${Math.floor(s / 86400)}d ago`;
}

export function duration(ms) {
  if (ms === undefined || ms === null || !Number.isFinite(ms)) return '';
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  if (ms < 3_600_000) return `${Math.floor(ms / 60_000)}m ${Math.round((ms % 60_000) / 1000)}s`;
  return `${Math.floor(ms / 3_600_000)}h ${Math.round((ms % 3_600_000) / 60_000)}m`;
}

export function num(v, digits = 1) {
  if (v === undefined || v === null || !Number.isFinite(v)) return '—';
  return Number.isInteger(v) ? v.toLocaleString() : v.toFixed(digits);
}

export function money(v) {
  if (v === undefined || v === null || !Number.isFinite(v)) return '—';
  return `$${v < 10 ? v.toFixed(4) : v.toFixed(2)}`;
}

export function percent(v) {
  if (v === undefined || v === null || !Number.isFinite(v)) return '—';
  return `${(v * 100).toFixed(v < 0.01 && v > 0 ? 2 : 1)}%`;
}
