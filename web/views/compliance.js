/**
 * @module Compliance (GET /v1/compliance): per CompliancePolicy the resources evaluated, compliant
 * and violating, the open violations with their remedy and its outcome, and time to remediate.
 */
import { get } from '../lib/api.js';
import { duration } from '../lib/format.js';
import { Badge, Empty, ErrorBox, html, Page, Time, usePoll, WhyLink } from '../lib/ui.js';

function Policy({ p }) {
  return html`<div class="panel" data-testid="compliance-policy" data-policy=${p.name}>
    <div class="toolbar">
      <h2>${p.name}</h2>
      <${Badge} value=${p.violating > 0 ? 'violating' : 'compliant'} />
      <span class="muted">
        ${p.evaluated} evaluated · ${p.compliant} compliant · ${p.violating} violating · remedy ${p.remedy} (${p.mode})
        ${p.lastScanAt ? html` · scanned <${Time} value=${p.lastScanAt} />` : null}
      </span>
    </div>
    ${p.description ? html`<div class="muted">${p.description}</div>` : null}
    <div class="muted mono">${p.violation}</div>
    ${
      p.open.length > 0
        ? html`<table>
            <thead>
              <tr>
                <th>resource</th>
                <th>since</th>
                <th>remedy</th>
                <th>outcome</th>
                <th>note</th>
                <th></th>
              </tr>
            </thead>
            <tbody>
              ${p.open.map(
                (v) =>
                  html`<tr data-testid="violation-open">
                    <td class="mono">${v.resource}</td>
                    <td><${Time} value=${v.since} /></td>
                    <td>${v.remedy}</td>
                    <td><${Badge} value=${v.outcome} /></td>
                    <td class="wrap">${v.note ?? ''}</td>
                    <td>${v.trigger ? html`<${WhyLink} id=${v.trigger} label="why" />` : null}</td>
                  </tr>`,
              )}
            </tbody>
          </table>`
        : null
    }
    ${
      p.errors.length > 0
        ? html`<div class="error">${p.errors.map((e) => html`<div>${e.resource}: ${e.message}</div>`)}</div>`
        : null
    }
    ${
      p.closed.length > 0
        ? html`<details>
            <summary>${p.closed.length} recently closed</summary>
            <table>
              <tbody>
                ${p.closed.map(
                  (c) =>
                    html`<tr>
                      <td class="mono">${c.resource}</td>
                      <td>${c.resolution}</td>
                      <td>remediated in ${duration(c.timeToRemediateMs)}</td>
                      <td><${Time} value=${c.resolvedAt} /></td>
                    </tr>`,
                )}
              </tbody>
            </table>
          </details>`
        : null
    }
  </div>`;
}

export function Compliance() {
  const { data, error } = usePoll(() => get('/v1/compliance'), [], 10_000);
  const t = data?.totals;
  return html`<${Page} name="compliance" title="Compliance">
    <${ErrorBox} error=${error} />
    ${
      t
        ? html`<div class="cards">
            <div class="card">
              <div class="value">${t.policies}</div>
              <div class="label">policies</div>
            </div>
            <div class="card">
              <div class="value">${t.evaluated}</div>
              <div class="label">resources evaluated</div>
            </div>
            <div class="card">
              <div class="value" data-testid="compliance-violating">${t.violating}</div>
              <div class="label">violating</div>
            </div>
            <div class="card">
              <div class="value">${t.open}</div>
              <div class="label">open violations</div>
            </div>
            <div class="card">
              <div class="value">${duration(t.timeToRemediate.meanMs) || '—'}</div>
              <div class="label">mean time to remediate</div>
            </div>
          </div>`
        : null
    }
    ${
      data && data.policies.length === 0
        ? html`<div class="panel"><${Empty}>No CompliancePolicy applied (see docs/COMPLIANCE.md).</${Empty}></div>`
        : null
    }
    ${(data?.policies ?? []).map((p) => html`<${Policy} key=${p.policy} p=${p} />`)}
  </${Page}>`;
}
