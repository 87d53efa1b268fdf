/**
 * @module Executions: automated actions (GET /v1/actions: outcome, rail, why, inputs) and workflow
 * runs (GET /v1/runs) with a step timeline: one bar per step from its start to its end (or now),
 * with its status and attempts.
 */
import { get, qs } from '../lib/api.js';
import { duration } from '../lib/format.js';
import { Badge, Empty, ErrorBox, html, Json, Page, Time, usePoll, useState, WhyLink } from '../lib/ui.js';

const OUTCOMES = ['', 'executed', 'failed', 'refused', 'dry-run', 'pending-approval', 'rejected'];

function Actions() {
  const [outcome, setOutcome] = useState('');
  const [open, setOpen] = useState();
  const { data, error } = usePoll(() => get(`/v1/actions${qs({ outcome, limit: 200 })}`), [outcome], 5000);
  return html`<div class="panel">
    <div class="toolbar">
      <h2>Automated actions</h2>
      <select value=${outcome} data-testid="actions-outcome" onChange=${(e) => setOutcome(e.currentTarget.value)}>
        ${OUTCOMES.map((o) => html`<option value=${o}>${o || 'any outcome'}</option>`)}
      </select>
    </div>
    <${ErrorBox} error=${error} />
    <div class="scroll">
      <table data-testid="actions-table">
        <thead>
          <tr>
            <th>time</th>
            <th>action</th>
            <th>resource</th>
            <th>outcome</th>
            <th>rail</th>
            <th>policy</th>
            <th>why / reason</th>
          </tr>
        </thead>
        <tbody>
          ${(data?.actions ?? []).map(
            (a) =>
              html`<tr
                  class="clickable"
                  data-testid="action-row"
                  onClick=${() => setOpen(open === a.id ? undefined : a.id)}
                >
                  <td><${Time} value=${a.at} /></td>
                  <td>${a.action}</td>
                  <td class="mono">${a.resource}</td>
                  <td><${Badge} value=${a.outcome} /></td>
                  <td>${a.rail ?? ''}</td>
                  <td>${a.policy}</td>
                  <td class="wrap">${a.why ?? a.reason}</td>
                </tr>
                ${
                  open === a.id
                    ? html`<tr>
                        <td colspan="7">
                          <div class="toolbar"><${WhyLink} id=${a.id} label=${`why ${a.id}`} /></div>
                          <${Json} value=${{ params: a.params, inputs: a.inputs, result: a.result }} />
                        </td>
                      </tr>`
                    : null
                }`,
          )}
        </tbody>
      </table>
    </div>
  </div>`;
}

function Timeline({ run }) {
  const steps = run.steps ?? [];
  if (steps.length === 0) return html`<${Empty}>No step started yet.</${Empty}>`;
  const start = Date.parse(run.startedAt);
  const end = Math.max(
    run.endedAt ? Date.parse(run.endedAt) : Date.now(),
    ...steps.map((s) => (s.endedAt ? Date.parse(s.endedAt) : Date.now())),
  );
  const span = Math.max(1, end - start);
  return html`<div class="timeline" data-testid="run-timeline">
    ${steps.map((s) => {
      const a = Date.parse(s.startedAt);
      const b = s.endedAt ? Date.parse(s.endedAt) : Date.now();
      const left = ((a - start) / span) * 100;
      const width = Math.max(0.5, ((b - a) / span) * 100);
      return html`<div class="row" data-testid="step-row" data-step=${s.path} data-status=${s.status}>
        <span class="mono" title=${s.kind}>${s.path}</span>
        <div class="track">
          <div
            class=${`bar ${s.status}`}
            style=${`left:${left}%;width:${width}%`}
            title=${`${s.status}, ${duration(b - a)}`}
          ></div>
        </div>
        <span><${Badge} value=${s.status} /> ${s.attempts > 1 ? `${s.attempts} attempts` : ''} ${duration(b - a)}</span>
      </div>`;
    })}
  </div>`;
}

function RunDetail({ id }) {
  const { data, error } = usePoll(() => get(`/v1/runs/${encodeURIComponent(id)}`), [id], 3000);
  if (error) return html`<${ErrorBox} error=${error} />`;
  if (!data) return null;
  const failed = (data.steps ?? []).filter((s) => s.error);
  return html`<div data-testid="run-detail">
    <h2>Run <code>${data.id}</code> of ${data.workflow} <${Badge} value=${data.status} testid="run-status" /></h2>
    <div class="muted">
      started <${Time} value=${data.startedAt} /> ${data.durationMs ? `· ${duration(data.durationMs)}` : ''}
      ${data.cause ? html` · cause <${WhyLink} id=${data.cause} />` : null}
    </div>
    <${Timeline} run=${data} />
    ${data.error ? html`<div class="error">${data.error.code}: ${data.error.message}</div>` : null}
    ${failed.map((s) => html`<div class="error">${s.path}: ${s.error.message ?? JSON.stringify(s.error)}</div>`)}
  </div>`;
}

function Runs() {
  const [selected, setSelected] = useState();
  const { data, error } = usePoll(() => get('/v1/runs?limit=100'), [], 5000);
  const runs = data?.runs ?? [];
  return html`<div class="panel">
    <h2>Workflow runs</h2>
    <${ErrorBox} error=${error} />
    <div class="split">
      <div class="scroll">
        <table data-testid="runs-table">
          <thead>
            <tr>
              <th>run</th>
              <th>workflow</th>
              <th>status</th>
              <th>started</th>
              <th>took</th>
            </tr>
          </thead>
          <tbody>
            ${runs.map(
              (r) =>
                html`<tr
                  class=${`clickable ${selected === r.id ? 'selected' : ''}`}
                  data-testid="run-row"
                  data-run=${r.id}
                  onClick=${() => setSelected(r.id)}
                >
                  <td class="mono">${r.id}</td>
                  <td>${r.workflow}</td>
                  <td><${Badge} value=${r.status} /></td>
                  <td><${Time} value=${r.startedAt} /></td>
                  <td>${duration(r.durationMs)}</td>
                </tr>`,
            )}
          </tbody>
        </table>
      </div>
      <div>
        ${selected ? html`<${RunDetail} id=${selected} />` : html`<${Empty}>Select a run to see its steps.</${Empty}>`}
      </div>
    </div>
  </div>`;
}

export function Executions() {
  return html`<${Page} name="executions" title="Executions">
    <${Actions} />
    <${Runs} />
  </${Page}>`;
}
