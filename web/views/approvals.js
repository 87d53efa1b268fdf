/**
 * @module Approvals (GET /v1/approvals): pending requests of workflow steps and gated actions with
 * approve and reject (with a comment), and the decided ones below.
 */
import { get, post } from '../lib/api.js';
import { Badge, Empty, ErrorBox, html, Json, Page, Time, usePoll, useState, WhyLink } from '../lib/ui.js';

function Pending({ a, onDone }) {
  const [comment, setComment] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState();
  const decide = async (verb) => {
    setBusy(true);
    try {
      await post(`/v1/approvals/${encodeURIComponent(a.id)}/${verb}`, {
        by: 'dashboard',
        ...(comment ? { comment } : {}),
      });
      onDone();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  const run = a.payload?.run;
  return html`<div class="panel" data-testid="approval-pending" data-id=${a.id} data-ref=${a.ref}>
    <div class="toolbar">
      <b>${a.summary}</b>
      <${Badge} value=${a.kind} tone="" />
      <span class="muted"
        >${'requested '}<${Time}
          value=${a.requestedAt}
        />${a.expiresAt ? html`, expires <${Time} value=${a.expiresAt} />` : null}</span
      >
    </div>
    <div class="muted">
      ${a.id} · ${a.ref}${run ? html` · run <a href="#/executions">${run}</a>` : null}
      ${a.kind === 'action' ? html` · action <${WhyLink} id=${a.ref} />` : null}
    </div>
    ${
      a.payload
        ? html`<details>
            <summary>payload</summary>
            <${Json} value=${a.payload} />
          </details>`
        : null
    }
    <${ErrorBox} error=${error} />
    <div class="toolbar" style="margin-top:6px">
      <input
        placeholder="comment (optional)"
        value=${comment}
        style="width:320px"
        data-testid="approval-comment"
        onInput=${(e) => setComment(e.currentTarget.value)}
      />
      <button class="primary" disabled=${busy} onClick=${() => decide('approve')} data-testid="approve">Approve</button>
      <button class="danger" disabled=${busy} onClick=${() => decide('reject')} data-testid="reject">Reject</button>
    </div>
  </div>`;
}

export function Approvals() {
  const { data, error, reload } = usePoll(() => get('/v1/approvals'), [], 4000);
  const all = data?.approvals ?? [];
  const pending = all.filter((a) => a.status === 'pending');
  const decided = all.filter((a) => a.status !== 'pending').slice(0, 50);
  return html`<${Page} name="approvals" title="Approvals">
    <${ErrorBox} error=${error} />
    ${pending.length === 0 ? html`<div class="panel"><${Empty}>Nothing waits for approval.</${Empty}></div>` : null}
    ${pending.map((a) => html`<${Pending} key=${a.id} a=${a} onDone=${reload} />`)}
    <h2>Decided</h2>
    <div class="panel" style="padding:0">
      <table data-testid="approvals-decided">
        <thead>
          <tr><th>id</th><th>summary</th><th>status</th><th>by</th><th>comment</th><th>decided</th></tr>
        </thead>
        <tbody>
          ${decided.map(
            (a) =>
              html`<tr data-testid="approval-decided" data-id=${a.id}>
                <td class="mono">${a.id}</td>
                <td>${a.summary}</td>
                <td><${Badge} value=${a.status} /></td>
                <td>${a.decidedBy ?? a.by ?? ''}</td>
                <td class="wrap">${a.comment ?? ''}</td>
                <td><${Time} value=${a.decidedAt} /></td>
              </tr>`,
          )}
        </tbody>
      </table>
    </div>
  </${Page}>`;
}
