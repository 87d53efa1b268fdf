/**
 * @module The `why` tree renderer, kept generic on purpose: it does not depend on the exact field
 * names of GET /v1/why/{id}. A node is any object; its children are the first array of objects
 * among CHILD_KEYS (else any array of objects it holds). It shows the node's kind, id, summary and
 * time from the first field present in each list below; an id of an event or an action is a link
 * that opens the why view for it. Adjust the lists here if the API's names change.
 */
import { time } from './format.js';
import { html, useState } from './ui.js';

const CHILD_KEYS = ['children', 'causes', 'effects', 'consequences', 'nodes', 'items'];
const KIND_KEYS = ['kind', 'nodeType', 'category'];
const ID_KEYS = ['id', 'eventId', 'actionId', 'ref'];
const SUMMARY_KEYS = ['summary', 'title', 'description', 'reason', 'message', 'type'];
const TIME_KEYS = ['time', 'at', 'appendedAt', 'startedAt', 'timestamp'];
/**
 * Kinds whose id is something why explains (an event, an action, a run; a node without a kind is
 * assumed to be one). Rules, delivery attempts and steps are not linked.
 */
const LINKED_KIND = /event|action|condition|resource|cost|incident|workflow|decision|trigger|metric|infra/i;
const DETAIL_KEYS = ['detail', 'details', 'data'];

const isObject = (v) => typeof v === 'object' && v !== null && !Array.isArray(v);
const first = (node, keys) => {
  for (const k of keys) if (node[k] !== undefined && node[k] !== null && node[k] !== '') return node[k];
  return undefined;
};

/** The child nodes of a node. */
export function childrenOf(node) {
  for (const k of CHILD_KEYS) if (Array.isArray(node[k])) return node[k].filter(isObject);
  for (const v of Object.values(node)) if (Array.isArray(v) && v.length > 0 && v.every(isObject)) return v;
  return [];
}

/** The root node(s) of an answer: the answer itself, or what it holds under root/tree/node. */
export function rootsOf(body) {
  if (Array.isArray(body)) return body.filter(isObject);
  if (!isObject(body)) return [];
  for (const k of ['root', 'tree', 'node']) if (isObject(body[k])) return [body[k]];
  for (const k of ['roots', 'trees']) if (Array.isArray(body[k])) return body[k].filter(isObject);
  return [body];
}

export function describe(node) {
  const kind = first(node, KIND_KEYS);
  const id = first(node, ID_KEYS);
  const linked = typeof id === 'string' && (kind === undefined || LINKED_KIND.test(String(kind)));
  const detail = first(node, DETAIL_KEYS);
  return {
    kind,
    id,
    linked,
    summary: first(node, SUMMARY_KEYS),
    time: first(node, TIME_KEYS),
    focus: node.focus === true,
    detail: isObject(detail) ? detail : undefined,
  };
}

function Node({ node, depth, focus }) {
  const [open, setOpen] = useState(depth < 6);
  const [showDetail, setShowDetail] = useState(false);
  const kids = childrenOf(node);
  const d = describe(node);
  const idText = d.id === undefined ? null : String(d.id);
  const idView =
    idText === null
      ? null
      : d.linked && idText !== focus
        ? html`<a class="mono" href=${`#/why/${encodeURIComponent(idText)}`} data-testid="why-node-link">${idText}</a>`
        : html`<code>${idText}</code>`;
  return html`<li data-testid="why-node" class=${d.focus || idText === focus ? 'focus' : ''}>
    <span class="node">
      ${
        kids.length > 0
          ? html`<button class="toggle" onClick=${() => setOpen(!open)} title="fold">${open ? '▾' : '▸'}</button>`
          : html`<span class="toggle"></span>`
      }
      ${d.kind === undefined ? null : html`<span class="badge">${String(d.kind)}</span>`} ${idView}
      ${d.summary === undefined ? null : html`<span>${String(d.summary)}</span>`}
      ${d.time === undefined ? null : html`<span class="muted">${time(d.time)}</span>`}
      ${
        d.detail
          ? html`<button class="toggle" title="details" onClick=${() => setShowDetail(!showDetail)}>…</button>`
          : null
      }
    </span>
    ${showDetail ? html`<pre class="json">${JSON.stringify(d.detail, null, 2)}</pre>` : null}
    ${
      open && kids.length > 0
        ? html`<ul>
            ${kids.map((k) => html`<${Node} node=${k} depth=${depth + 1} focus=${focus} />`)}
          </ul>`
        : null
    }
  </li>`;
}

/** Renders the tree(s) of a why answer; `focus` is the id being explained (not linked again). */
export function WhyTree({ body, focus }) {
  const roots = rootsOf(body);
  const notes = isObject(body) && Array.isArray(body.notes) ? body.notes : [];
  const truncated = isObject(body) && isObject(body.scan) && body.scan.truncated === true;
  return html`<div class="tree" data-testid="why-tree">
    ${truncated ? html`<div class="notice">The search stopped early: descendants may be missing.</div>` : null}
    ${notes.map((n) => html`<div class="notice">${String(n)}</div>`)}
    <ul>
      ${roots.map((r) => html`<${Node} node=${r} depth=${0} focus=${focus} />`)}
    </ul>
  </div>`;
}
