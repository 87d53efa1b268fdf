/**
 * @module Incidents (GET /v1/incidents): the list, an incident's timeline with links to the why of
 * each event and action, acknowledge (when the server has POST /v1/incidents/{id}/acknowledge) and
 * resolve.
 */
import { get, post } from '../lib/api.js';
import { Badge, Empty, ErrorBox, html, Json, Page, Time, usePoll, useState, WhyLink } from '../lib/ui.js';

const STATUSES = ['open', 'resolved', 'all'];

function Detail({ id, onChange }) {
  const { data, error, reload } = usePoll(() => get(`/v1/incidents/${encodeURIComponent(id)}`), [id], 5000);
  const [comment, setComment] = useState('');
  const [failure, setFailure] = useState();
  const [note, setNote] = useState('');
  const act = async (verb) => {
    setFailure(undefined);
    try {
      await post(`/v1/incidents/${encodeURIComponent(id)}/${verb}`, {
        by: 'dashboard',
        ...(comment ? { comment } : {}),
      });
      setNote(`${verb === 'acknowledge' ? 'Acknowledged' : 'Resolved'}.`);
      reload();
      onChange();
    } catch (err) {
      if (verb === 'acknowledge' && err.status === 404 && /no route/.test(err.message))
        setNote('This server cannot acknowledge incidents (no acknowledge route).');
      else setFailure(err);
    }
  };
  if (error) return html`<${ErrorBox} error=${error} />`;
  if (!data) return null;
  return html`<div class="panel" data-testid="incident-detail">
    <h2>${data.title} <${Badge} value=${data.status} /></h2>
    <div class="muted">
      ${data.id} · ${data.severity} · ${data.resource} · ${data.policy} · opened <${Time} value=${data.openedAt} />
      ${data.acknowledgedAt ? html` · acknowledged by ${data.acknowledgedBy ?? '?'} <${Time} value=${data.acknowledgedAt} />` : null}
      ${data.resolvedAt ? html` · resolved by ${data.resolvedBy ?? '?'} <${Time} value=${data.resolvedAt} />` : null}
    </div>
    ${
      data.status === 'open'
        ? html`<div class="toolbar" style="margin-top:6px">
            <input
              placeholder="comment (optional)"
              value=${comment}
              onInput=${(e) => setComment(e.currentTarget.value)}
            />
            <button onClick=${() => act('acknowledge')} data-testid="incident-ack">Acknowledge</button>
            <button class="primary" onClick=${() => act('resolve')} data-testid="incident-resolve">Resolve</button>
          </div>`
        : null
    }
    ${note ? html`<div class="notice">${note}</div>` : null}
    <${ErrorBox} error=${failure} />
    <h2>Timeline</h2>
    <table data-testid="incident-timeline">
      <tbody>
        ${(data.timeline ?? []).map(
          (e) =>
            html`<tr>
              <td style="width:140px"><${Time} value=${e.at} /></td>
              <td style="width:70px"><${Badge} value=${e.kind} tone="" /></td>
              <td class="wrap">${e.summary}</td>
              <td>${e.ref ? html`<${WhyLink} id=${e.ref} label="why" />` : null}</td>
            </tr>`,
        )}
      </tbody>
    </table>
    <details>
      <summary>details</summary>
      <${Json} value=${data.details} />
    </details>
  </div>`;
}

export function Incidents() {
  const [status, setStatus] = useState('open');
  const [selected, setSelected] = useState();
  const { data, error, reload } = usePoll(() => get(`/v1/incidents?status=${status}&limit=200`), [status], 5000);
  const list = data?.incidents ?? [];
  const actions = html`<select
    value=${status}
    onChange=${(e) => setStatus(e.currentTarget.value)}
    data-testid="incident-status"
  >
    ${STATUSES.map((s) => html`<option value=${s}>${s}</option>`)}
  </select>`;
  return html`<${Page} name="incidents" title="Incidents" actions=${actions}>
    <${ErrorBox} error=${error} />
    <div class="split">
      <div class="panel" style="padding:0">
        ${
          list.length === 0
            ? html`<div style="padding:10px"><${Empty}>No ${status === 'all' ? '' : status} incident.</${Empty}></div>`
            : html`<table data-testid="incidents-table">
                <thead>
                  <tr>
                    <th>opened</th>
                    <th>title</th>
                    <th>severity</th>
                    <th>status</th>
                    <th>resource</th>
                  </tr>
                </thead>
                <tbody>
                  ${list.map(
                    (i) =>
                      html`<tr
                        class=${`clickable ${selected === i.id ? 'selected' : ''}`}
                        data-testid="incident-row"
                        onClick=${() => setSelected(i.id)}
                      >
                        <td><${Time} value=${i.openedAt} /></td>
                        <td>${i.title}</td>
                        <td><${Badge} value=${i.severity} tone=${i.severity === 'critical' ? 'bad' : 'warn'} /></td>
                        <td><${Badge} value=${i.status} /></td>
                        <td class="mono">${i.resource}</td>
                      </tr>`,
                  )}
                </tbody>
              </table>`
        }
      </div>
      <div>${selected ? html`<${Detail} key=${selected} id=${selected} onChange=${reload} />` : null}</div>
    </div>
  </${Page}>`;
}
