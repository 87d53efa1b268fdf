/**
 * @module Cost (GET /v1/cost): the cost rate, month to date and forecast, by stack and by tag
 * (one tag key, or every key=value pair), budgets, and the latest cost changes with their cause.
 */
import { get, qs } from '../lib/api.js';
import { money } from '../lib/format.js';
import { Badge, Empty, ErrorBox, html, Page, Time, usePoll, useState, WhyLink } from '../lib/ui.js';

const SINCE = ['24h', '7d', '30d'];

function Rollup({ title, report, testid }) {
  const rows = report?.rows ?? [];
  return html`<div class="panel">
    <h2>${title}</h2>
    ${
      rows.length === 0
        ? html`<${Empty}>Nothing running or recorded in this window.</${Empty}>`
        : html`<table data-testid=${testid}>
            <thead>
              <tr>
                <th>${report.by}</th>
                <th>instances</th>
                <th>rate/h</th>
                <th>in window</th>
                <th>month to date</th>
                <th>forecast</th>
              </tr>
            </thead>
            <tbody>
              ${rows.map(
                (r) =>
                  html`<tr data-testid="cost-row">
                    <td>${r.key || html`<span class="muted">(none)</span>`}</td>
                    <td>${r.instances}</td>
                    <td>${money(r.ratePerHour)}</td>
                    <td>${money(r.cost)}</td>
                    <td>${money(r.monthToDate)}</td>
                    <td>${money(r.forecast)}</td>
                  </tr>`,
              )}
            </tbody>
          </table>`
    }
  </div>`;
}

export function Cost() {
  const [since, setSince] = useState('24h');
  const [tag, setTag] = useState('');
  const byStack = usePoll(() => get(`/v1/cost${qs({ by: 'stack', since, changes: 20 })}`), [since], 10_000);
  const byTag = usePoll(() => get(`/v1/cost${qs({ by: 'tag', tag, since, changes: 0 })}`), [since, tag], 10_000);
  const r = byStack.data;
  const actions = html`<label
      >window
      <select value=${since} onChange=${(e) => setSince(e.currentTarget.value)}>
        ${SINCE.map((s) => html`<option value=${s} selected=${s === since}>${s}</option>`)}
      </select></label
    >
    <input
      placeholder="tag key (e.g. team)"
      value=${tag}
      onChange=${(e) => setTag(e.currentTarget.value)}
      data-testid="cost-tag"
    />`;
  return html`<${Page} name="cost" title="Cost" actions=${actions}>
    <${ErrorBox} error=${byStack.error ?? byTag.error} />
    ${
      r
        ? html`<div class="cards">
            <div class="card">
              <div class="value" data-testid="cost-rate">${money(r.ratePerHour)}</div>
              <div class="label">per hour now</div>
            </div>
            <div class="card">
              <div class="value">${r.instances}</div>
              <div class="label">instances</div>
            </div>
            <div class="card">
              <div class="value">${money(r.window.cost)}</div>
              <div class="label">last ${since}</div>
            </div>
            <div class="card">
              <div class="value">${money(r.month.toDate)}</div>
              <div class="label">month to date</div>
            </div>
            <div class="card">
              <div class="value">${money(r.month.forecast)}</div>
              <div class="label">month forecast</div>
            </div>
          </div>`
        : null
    }
    <div class="grid2">
      <${Rollup} title="By stack" report=${r} testid="cost-by-stack" />
      <${Rollup} title=${tag ? `By tag ${tag}` : 'By tag'} report=${byTag.data} testid="cost-by-tag" />
    </div>
    ${
      r?.budgets.length
        ? html`<div class="panel">
            <h2>Budgets</h2>
            <table>
              <tbody>
                ${r.budgets.map(
                  (b) =>
                    html`<tr>
                      <td>${b.budget}</td>
                      <td><${Badge} value=${b.status} tone="" /></td>
                      <td>${money(b.spent)} of ${money(b.amount)} (${b.period?.name ?? ''})</td>
                      <td>forecast ${money(b.forecast)}</td>
                    </tr>`,
                )}
              </tbody>
            </table>
          </div>`
        : null
    }
    ${
      r?.changes.length
        ? html`<div class="panel">
            <h2>Latest cost changes</h2>
            <table data-testid="cost-changes">
              <thead>
                <tr>
                  <th>time</th>
                  <th>change</th>
                  <th>instance</th>
                  <th>group</th>
                  <th>Δ/h</th>
                  <th>cause</th>
                </tr>
              </thead>
              <tbody>
                ${r.changes.map(
                  (c) =>
                    html`<tr>
                      <td><${Time} value=${c.at} /></td>
                      <td><${Badge} value=${c.kind} tone="" /></td>
                      <td class="mono">${c.instance}</td>
                      <td>${c.group}</td>
                      <td>${money(c.deltaPerHour)}</td>
                      <td class="wrap">
                        ${c.text ?? ''} ${c.eventId ? html`<${WhyLink} id=${c.eventId} label="why" />` : null}
                      </td>
                    </tr>`,
                )}
              </tbody>
            </table>
          </div>`
        : null
    }
  </${Page}>`;
}
