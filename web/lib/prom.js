/**
 * @module Reads the Prometheus text format of GET /metrics, enough for the dashboard: the samples
 * of one metric by label set, and per-minute rates between two scrapes of a counter.
 */

/** Parses the labels inside `{...}`: `rule="a",x="b\"c"` → { rule: 'a', x: 'b"c' }. */
function parseLabels(text) {
  const labels = {};
  const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;
  let m;
  while ((m = re.exec(text)) !== null) labels[m[1]] = m[2].replace(/\\n/g, '\n').replace(/\\(.)/g, '$1');
  return labels;
}

/** Every sample of `name` (exact metric name): [{ labels, value }]. */
export function samplesOf(text, name) {
  const out = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith(name) || line.startsWith('#')) continue;
    const rest = line.slice(name.length);
    if (rest[0] !== '{' && rest[0] !== ' ') continue;
    let labels = {};
    let valuePart = rest;
    if (rest[0] === '{') {
      const end = rest.lastIndexOf('}');
      labels = parseLabels(rest.slice(1, end));
      valuePart = rest.slice(end + 1);
    }
    const value = Number(valuePart.trim().split(/\s+/)[0]);
    if (Number.isFinite(value)) out.push({ labels, value });
  }
  return out;
}

/** Values of `name` by the value of `label`. */
export function byLabel(text, name, label) {
  const map = new Map();
  for (const s of samplesOf(text, name)) if (label in s.labels) map.set(s.labels[label], s.value);
  return map;
}

/**
 * Per-minute rates of a counter between two scrapes `{ at, values: Map }`; a key missing in either
 * scrape, or a counter that went down (a restart), has no rate.
 */
export function ratesPerMinute(previous, current) {
  const rates = new Map();
  if (!previous || !current || current.at <= previous.at) return rates;
  const minutes = (current.at - previous.at) / 60_000;
  for (const [key, value] of current.values) {
    const before = previous.values.get(key);
    if (before === undefined || value < before) continue;
    rates.set(key, (value - before) / minutes);
  }
  return rates;
}
