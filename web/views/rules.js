/**
 * @module Rules: every rule with its state, owner (a policy's managed rules) and match rate per
 * minute, computed here from scrapes of `homeostat_rule_matches_total{rule}` on GET /metrics every
 * 5 s, over the last minute ("—" until two scrapes are in, or when the server does not export it).
 */
import { get } from '../lib/api.js';
import { byLabel, ratesPerMinute } from '../lib/prom.js';
import { num } from '../lib/format.js';
import { Badge, ErrorBox, html, Page, Time, usePoll, useRef, useState } from '../lib/ui.js';

const METRIC = 'homeostat_rule_matches_total';
const SCRAPE_MS = 5_000;
const WINDOW_MS = 60_000;

export function Rules() {
  const [q, setQ] = useState('');
  const scrapes = useRef([]);
  const rules = usePoll(() => get('/v1/rules'), [], 10_000);
  const rates = usePoll(
    async () => {
      const text = await get('/metrics', { text: true });
      const now = Date.now();
      // The rate over the last minute of scrapes (over less until a minute has passed).
      const kept = scrapes.current.filter((x) => x.at >= now - WINDOW_MS);
      scrapes.current = [...kept, { at: now, values: byLabel(text, METRIC, 'rule') }];
      return ratesPerMinute(scrapes.current[0], scrapes.current[scrapes.current.length - 1]);
    },
    [],
    SCRAPE_MS,
  );
  const list = (rules.data?.rules ?? []).filter((r) => r.name.toLowerCase().includes(q.toLowerCase()));
  const rate = (name) => {
    const v = rates.data?.get(name);
    return v === undefined ? '—' : num(v, 1);
  };
  const actions = html`<input placeholder="filter by name" value=${q} onInput=${(e) => setQ(e.currentTarget.value)} />`;
  return html`<${Page} name="rules" title="Rules" actions=${actions}>
    <${ErrorBox} error=${rules.error} />
    <div class="panel" style="padding:0">
      <table data-testid="rules-table">
        <thead>
          <tr>
            <th>name</th><th>enabled</th><th>managed by</th><th>targets</th>
            <th title="matches per minute over the last minute of /metrics scrapes">matches/min</th>
            <th>generation</th><th>updated</th>
          </tr>
        </thead>
        <tbody>
          ${list.map(
            (r) =>
              html`<tr data-testid="rule-row" data-rule=${r.name}>
                <td><b>${r.name}</b>${r.description ? html`<div class="muted">${r.description}</div>` : null}</td>
                <td><${Badge} value=${r.enabled ? 'enabled' : 'disabled'} tone=${r.enabled ? 'ok' : 'warn'} /></td>
                <td>${r.managedBy ?? html`<span class="muted">—</span>`}</td>
                <td>${r.targets}</td>
                <td data-testid="rule-rate">${rate(r.name)}</td>
                <td>${r.generation}</td>
                <td><${Time} value=${r.updatedAt} /></td>
              </tr>`,
          )}
        </tbody>
      </table>
    </div>
  </${Page}>`;
}
