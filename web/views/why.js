/**
 * @module Why: the causal tree of an event or action (GET /v1/why/{id}), reachable as
 * `/ui/#/why/<id>`; every event or action id in the tree opens its own why. Without that route
 * (an older server) it shows the delivery trace of the id (GET /v1/events/{id}/trace) instead.
 */
/* global window */
import { get } from '../lib/api.js';
import { WhyTree } from '../lib/why-tree.js';
import { Empty, ErrorBox, html, Json, Page, usePoll, useState } from '../lib/ui.js';

async function load(id) {
  try {
    return { why: await get(`/v1/why/${encodeURIComponent(id)}`) };
  } catch (err) {
    if (err.status !== 404 || !/no route/.test(err.message)) throw err;
    return { trace: await get(`/v1/events/${encodeURIComponent(id)}/trace`) };
  }
}

export function Why({ arg }) {
  const [draft, setDraft] = useState(arg);
  const { data, error, loading } = usePoll(() => (arg ? load(arg) : Promise.resolve(undefined)), [arg], 0);
  const open = (e) => {
    e.preventDefault();
    if (draft.trim()) window.location.hash = `#/why/${encodeURIComponent(draft.trim())}`;
  };
  return html`<${Page} name="why" title="Why">
    <form class="toolbar" onSubmit=${open}>
      <input
        placeholder="an event or action id"
        value=${draft}
        style="width:360px"
        data-testid="why-input"
        onInput=${(e) => setDraft(e.currentTarget.value)}
      />
      <button type="submit">Explain</button>
    </form>
    ${arg ? html`<h2 data-testid="why-id">Why <code>${arg}</code></h2>` : html`<${Empty}>Give an id, or click one anywhere in the dashboard.</${Empty}>`}
    <${ErrorBox} error=${error} />
    ${arg && loading ? html`<div class="muted">Loading…</div>` : null}
    ${data?.why ? html`<div class="panel"><${WhyTree} body=${data.why} focus=${arg} /></div>` : null}
    ${
      data?.trace
        ? html`<div class="panel" data-testid="why-trace">
            <div class="notice">This server has no why route; the delivery trace of the id follows.</div>
            <${Json} value=${data.trace} />
          </div>`
        : null
    }
  </${Page}>`;
}
