/**
 * @module Shared view code: `html` (htm bound to Preact), the hooks, and small components every
 * page uses (errors, badges, JSON, times, links to the why view, polling).
 */
/* global setTimeout, clearTimeout */
import { h, render } from 'preact';
import { useCallback, useEffect, useMemo, useRef, useState } from 'preact/hooks';
import htm from 'htm';
import { ago, time } from './format.js';

export const html = htm.bind(h);
export { render, useCallback, useEffect, useMemo, useRef, useState };

/**
 * Calls `load(signal)` now and every `intervalMs` (0: once) until unmounted or `deps` change;
 * never two calls at once. → { data, error, loading, reload }.
 */
export function usePoll(load, deps, intervalMs = 5000) {
  const [state, setState] = useState({ data: undefined, error: undefined, loading: true });
  const tick = useRef(0);
  const [nonce, setNonce] = useState(0);
  useEffect(() => {
    let alive = true;
    let timer;
    const run = async () => {
      const mine = ++tick.current;
      try {
        const data = await load();
        if (alive && mine === tick.current) setState({ data, error: undefined, loading: false });
      } catch (error) {
        if (alive && mine === tick.current) setState((s) => ({ ...s, error, loading: false }));
      }
      if (alive && intervalMs > 0) timer = setTimeout(run, intervalMs);
    };
    void run();
    return () => {
      alive = false;
      clearTimeout(timer);
    };
  }, [...deps, nonce]);
  const reload = useCallback(() => setNonce((n) => n + 1), []);
  return { ...state, reload };
}

export function ErrorBox({ error }) {
  if (!error) return null;
  const code = error.code ? html`<code>${error.code}</code> ` : null;
  return html`<div class="error" data-testid="error">${code}${error.message ?? String(error)}</div>`;
}

const TONES = {
  ok: ['executed', 'succeeded', 'approved', 'delivered', 'running', 'healthy', 'compliant', 'resolved', 'live'],
  warn: ['pending', 'pending-approval', 'dry-run', 'starting', 'waiting', 'compensating', 'open', 'stopping'],
  bad: ['failed', 'refused', 'rejected', 'crashed', 'unhealthy', 'violating', 'expired', 'cancelled', 'error'],
};

export function toneOf(value) {
  for (const [tone, words] of Object.entries(TONES)) if (words.includes(value)) return tone;
  return '';
}

export function Badge({ value, tone, testid }) {
  if (value === undefined || value === null || value === '') return null;
  return html`<span class=${`badge ${tone ?? toneOf(value)}`} data-testid=${testid}>${value}</span>`;
}

export function Json({ value, testid }) {
  return html`<pre class="json" data-testid=${testid}>${JSON.stringify(value, null, 2)}</pre>`;
}

export function Time({ value }) {
  if (!value) return html`<span class="muted">—</span>`;
  return html`<span title=${`${new Date(value).toISOString()} (${ago(value)})`}>${time(value)}</span>`;
}

/** A link that opens the why view of an event or action id. */
export function WhyLink({ id, label, testid = 'why-link' }) {
  if (!id) return null;
  return html`<a href=${`#/why/${encodeURIComponent(id)}`} data-testid=${testid} title="why: the causal tree"
    >${label ?? id}</a
  >`;
}

export function Page({ name, title, children, actions }) {
  return html`<section data-testid=${`page-${name}`}>
    <div class="toolbar">
      <h1>${title}</h1>
      <span class="spacer"></span>
      ${actions}
    </div>
    ${children}
  </section>`;
}

export function Empty({ children }) {
  return html`<div class="muted" data-testid="empty">${children}</div>`;
}
