/**
 * @module Resources (GET /v1/resources, paged on the server): kind, group, state and name filters,
 * one page of rows at a time (fast with thousands of resources), health and phase per resource.
 */
import { get, qs } from '../lib/api.js';
import { money } from '../lib/format.js';
import { Badge, ErrorBox, html, Page, usePoll, useState } from '../lib/ui.js';

const KINDS = ['', 'InstanceGroup', 'Instance', 'LoadBalancer', 'SecurityRule'];
const STATES = ['', 'running', 'starting', 'stopping', 'stopped', 'crashed', 'healthy', 'unhealthy'];
const PAGE = 50;

/** Health and phase of a resource in one cell. */
function Health({ r }) {
  const s = r.status ?? {};
  if (r.kind === 'Instance')
    return html`<${Badge} value=${s.phase} />${' '}${
        s.phase === 'running' ? html`<${Badge} value=${s.healthy ? 'healthy' : 'unhealthy'} testid="health" />` : null
      }`;
  if (r.kind === 'InstanceGroup')
    return html`<span>${s.healthy ?? 0}/${r.spec?.desired ?? '?'} healthy</span>${' '}<span class="muted"
        >(${s.running ?? 0} running)</span
      >`;
  if (r.kind === 'LoadBalancer')
    return html`<span>${s.healthyTargets ?? 0}/${s.targets ?? 0} targets healthy</span>${' '}<span class="muted"
        >${s.address ?? ''}</span
      >`;
  return html`<span class="muted">—</span>`;
}

function groupOf(r) {
  if (r.kind === 'InstanceGroup') return r.name;
  if (r.kind === 'Instance') return r.status?.group ?? r.spec?.group;
  if (r.kind === 'LoadBalancer') return r.spec?.targetGroup;
  return '';
}

export function Resources() {
  const [filter, setFilter] = useState({ kind: '', group: '', state: '', q: '' });
  const [cursors, setCursors] = useState([undefined]);
  const after = cursors[cursors.length - 1];
  // The page index travels with its rows, so the range shown always matches the rows shown.
  const index = cursors.length - 1;
  const { data, error } = usePoll(
    async () => ({ ...(await get(`/v1/resources${qs({ ...filter, limit: PAGE, after })}`)), index }),
    [filter.kind, filter.group, filter.state, filter.q, after],
    5000,
  );
  const change = (key) => (e) => {
    setFilter({ ...filter, [key]: e.currentTarget.value });
    setCursors([undefined]);
  };
  const rows = data?.resources ?? [];
  const first = (data?.index ?? 0) * PAGE;
  return html`<${Page} name="resources" title="Resources">
    <div class="toolbar">
      <select value=${filter.kind} onChange=${change('kind')} data-testid="res-kind">
        ${KINDS.map((k) => html`<option value=${k}>${k || 'every kind'}</option>`)}
      </select>
      <input placeholder="group" value=${filter.group} onChange=${change('group')} data-testid="res-group" />
      <select value=${filter.state} onChange=${change('state')} data-testid="res-state">
        ${STATES.map((s) => html`<option value=${s}>${s || 'any state'}</option>`)}
      </select>
      <input placeholder="name contains" value=${filter.q} onChange=${change('q')} data-testid="res-q" />
      <span class="spacer"></span>
      <span class="muted" data-testid="res-range"
        >${data ? `${rows.length === 0 ? 0 : first + 1}–${first + rows.length} of ${data.total?.toLocaleString('en-US') ?? '?'}` : ''}</span
      >
      <button disabled=${cursors.length < 2} onClick=${() => setCursors(cursors.slice(0, -1))} data-testid="res-prev">
        Previous
      </button>
      <button disabled=${!data?.next} onClick=${() => setCursors([...cursors, data.next])} data-testid="res-next">Next</button>
    </div>
    <${ErrorBox} error=${error} />
    <div class="panel" style="padding:0">
      <table data-testid="resources-table">
        <thead>
          <tr><th>kind</th><th>name</th><th>provider</th><th>group</th><th>health / phase</th><th>price/h</th><th>tags</th></tr>
        </thead>
        <tbody>
          ${rows.map(
            (r) =>
              html`<tr data-testid="resource-row" data-name=${r.name} data-kind=${r.kind}>
                <td>${r.kind}</td>
                <td class="mono">${r.name}</td>
                <td>${r.provider}</td>
                <td>${groupOf(r) ?? ''}</td>
                <td><${Health} r=${r} /></td>
                <td>${r.pricePerHour ? money(r.pricePerHour) : ''}</td>
                <td class="wrap muted">
                  ${Object.entries(r.tags ?? {})
                    .map(([k, v]) => `${k}=${v}`)
                    .join(' ')}
                </td>
              </tr>`,
          )}
        </tbody>
      </table>
    </div>
  </${Page}>`;
}
