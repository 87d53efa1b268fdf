/**
 * @module Dead letters (GET /v1/dlq): the list page by page, an entry's event body and last error,
 * redrive of one entry or of all (POST /v1/dlq/{id}/redrive, POST /v1/dlq/redrive { all: true }).
 */
/* global confirm */
import { get, post, qs } from '../lib/api.js';
import { Badge, Empty, ErrorBox, html, Json, Page, Time, usePoll, useState } from '../lib/ui.js';

const PAGE = 100;

function Inspect({ id, onDone }) {
  const { data, error } = usePoll(() => get(`/v1/dlq/${id}`), [id], 0);
  const [busy, setBusy] = useState(false);
  const [failure, setFailure] = useState();
  const redrive = async () => {
    setBusy(true);
    try {
      onDone(await post(`/v1/dlq/${id}/redrive`));
    } catch (err) {
      setFailure(err);
    } finally {
      setBusy(false);
    }
  };
  return html`<div class="panel" data-testid="dlq-inspect">
    <div class="toolbar">
      <h2>Dead letter ${id}</h2>
      <span class="spacer"></span>
      <button class="primary" disabled=${busy || !data} onClick=${redrive} data-testid="dlq-redrive-one">
        Redrive
      </button>
    </div>
    <${ErrorBox} error=${error ?? failure} />
    ${
      data
        ? html`<div>
            <div>
              rule <b>${data.key.rule}</b> · target <b>${data.key.target}</b> · ${data.attempts} attempt(s)
              ·${' '}<${Badge} value=${data.reason} tone="bad" />
            </div>
            <h2>Last error</h2>
            <${Json} value=${data.error} testid="dlq-error" />
            <h2>Event</h2>
            <${Json} value=${data.event} testid="dlq-event" />
          </div>`
        : null
    }
  </div>`;
}

export function Dlq() {
  const [cursors, setCursors] = useState([undefined]);
  const [selected, setSelected] = useState();
  const [result, setResult] = useState();
  const [failure, setFailure] = useState();
  const after = cursors[cursors.length - 1];
  const { data, error, reload } = usePoll(() => get(`/v1/dlq${qs({ after, limit: PAGE })}`), [after], 5000);
  const count = usePoll(() => get('/v1/dlq/count'), [], 5000);
  const done = (r) => {
    setResult(r);
    setSelected(undefined);
    reload();
    count.reload();
  };
  const redriveAll = async () => {
    if (!confirm('Redrive every dead letter?')) return;
    try {
      done(await post('/v1/dlq/redrive', { all: true }));
    } catch (err) {
      setFailure(err);
    }
  };
  const entries = data?.entries ?? [];
  const actions = html`<span class="muted" data-testid="dlq-count">${count.data?.count ?? '—'} dead letter(s)</span>
    <button class="danger" onClick=${redriveAll} disabled=${!count.data?.count} data-testid="dlq-redrive-all">
      Redrive all
    </button>`;
  return html`<${Page} name="dlq" title="Dead letters" actions=${actions}>
    <${ErrorBox} error=${error ?? failure} />
    ${
      result
        ? html`<div class="notice" data-testid="dlq-result">
            Redriven
            ${result.redriven}${result.alreadyDelivered ? `, ${result.alreadyDelivered} already delivered` : ''}.
          </div>`
        : null
    }
    <div class="split">
      <div class="panel" style="padding:0">
        ${
          entries.length === 0
            ? html`<div style="padding:10px"><${Empty}>The dead-letter queue is empty.</${Empty}></div>`
            : html`<table data-testid="dlq-table">
                <thead>
                  <tr>
                    <th>id</th>
                    <th>dead since</th>
                    <th>rule / target</th>
                    <th>event type</th>
                    <th>reason</th>
                    <th>error</th>
                  </tr>
                </thead>
                <tbody>
                  ${entries.map(
                    (e) =>
                      html`<tr
                        class=${`clickable ${selected === e.id ? 'selected' : ''}`}
                        data-testid="dlq-row"
                        data-id=${e.id}
                        onClick=${() => setSelected(e.id)}
                      >
                        <td class="mono">${e.id}</td>
                        <td><${Time} value=${e.deadAt} /></td>
                        <td>${e.key.rule} / ${e.key.target}</td>
                        <td>${e.eventType}</td>
                        <td><${Badge} value=${e.reason} tone="bad" /></td>
                        <td class="wrap">${e.error?.message}</td>
                      </tr>`,
                  )}
                </tbody>
              </table>`
        }
        <div class="toolbar" style="padding:6px">
          <button disabled=${cursors.length < 2} onClick=${() => setCursors(cursors.slice(0, -1))}>Previous</button>
          <button disabled=${data?.next == null} onClick=${() => setCursors([...cursors, data.next])}>Next</button>
        </div>
      </div>
      <div>${selected ? html`<${Inspect} key=${selected} id=${selected} onDone=${done} />` : null}</div>
    </div>
  </${Page}>`;
}
