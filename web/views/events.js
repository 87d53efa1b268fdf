/**
 * @module Events: the latest events, then a live tail over SSE (GET /v1/events/stream) with type,
 * source and subject filters (comma-separated), pause and resume; an event's id opens its why view.
 */
/* global setInterval, clearInterval */
import { get, qs } from '../lib/api.js';
import { followEvents } from '../lib/sse.js';
import { Badge, ErrorBox, html, Json, Page, Time, useEffect, useRef, useState, WhyLink } from '../lib/ui.js';

const MAX_ROWS = 500;
const FLUSH_MS = 250;
const FILTERS = ['type', 'source', 'subject'];

function Filters({ value, onApply }) {
  const [draft, setDraft] = useState(value);
  const submit = (e) => {
    e.preventDefault();
    onApply(draft);
  };
  return html`<form class="toolbar" onSubmit=${submit}>
    ${FILTERS.map(
      (f) =>
        html`<input
          placeholder=${`${f} (comma-separated)`}
          value=${draft[f]}
          data-testid=${`filter-${f}`}
          onInput=${(e) => setDraft({ ...draft, [f]: e.currentTarget.value })}
        />`,
    )}
    <button type="submit" data-testid="filter-apply">Apply</button>
  </form>`;
}

export function Events() {
  const [filter, setFilter] = useState({ type: '', source: '', subject: '' });
  const [rows, setRows] = useState([]);
  const [paused, setPaused] = useState(false);
  const [held, setHeld] = useState([]);
  const [state, setState] = useState('connecting');
  const [error, setError] = useState();
  const [open, setOpen] = useState();
  const pausedRef = useRef(paused);
  pausedRef.current = paused;

  useEffect(() => {
    let stream;
    let alive = true;
    // Records are applied in batches, a few times a second, however fast they arrive.
    let incoming = [];
    const flush = setInterval(() => {
      if (incoming.length === 0) return;
      const batch = incoming.reverse();
      incoming = [];
      if (pausedRef.current) setHeld((h) => [...batch, ...h].slice(0, MAX_ROWS));
      else setRows((r) => [...batch, ...r].slice(0, MAX_ROWS));
    }, FLUSH_MS);
    setRows([]);
    setHeld([]);
    const params = { type: filter.type, source: filter.source, subject: filter.subject };
    (async () => {
      try {
        const { nextOffset } = await get('/v1/log');
        const { events } = await get(`/v1/events${qs({ ...params, order: 'desc', limit: 100 })}`);
        if (!alive) return;
        setRows(events);
        const from = events.length > 0 ? events[0].offset + 1 : nextOffset;
        stream = followEvents(`/v1/events/stream${qs(params)}`, {
          from,
          onState: (s) => alive && setState(s),
          onRecord: (rec) => {
            if (!alive) return;
            incoming.push(rec);
            if (incoming.length > MAX_ROWS) incoming = incoming.slice(-MAX_ROWS);
          },
        });
      } catch (err) {
        if (alive) setError(err);
      }
    })();
    return () => {
      alive = false;
      clearInterval(flush);
      stream?.close();
    };
  }, [filter.type, filter.source, filter.subject]);

  const toggle = () => {
    if (paused) {
      setRows((r) => [...held, ...r].slice(0, MAX_ROWS));
      setHeld([]);
    }
    setPaused(!paused);
  };

  const actions = html`<span class="muted" data-testid="stream-state">${paused ? 'paused' : state}</span>
    <button onClick=${toggle} data-testid="pause">${paused ? `Resume (${held.length} new)` : 'Pause'}</button>`;
  return html`<${Page} name="events" title="Events" actions=${actions}>
    <${Filters} value=${filter} onApply=${setFilter} />
    <${ErrorBox} error=${error} />
    <div class="scroll panel" style="padding:0">
      <table data-testid="events-table">
        <thead>
          <tr><th>offset</th><th>appended</th><th>type</th><th>source</th><th>subject</th><th>id (why)</th></tr>
        </thead>
        <tbody>
          ${rows.map(
            (r) =>
              html`<tr
                  class=${`clickable ${open === r.offset ? 'selected' : ''}`}
                  data-testid="event-row"
                  data-type=${r.event.type}
                  onClick=${() => setOpen(open === r.offset ? undefined : r.offset)}
                >
                  <td class="mono">${r.offset}</td>
                  <td><${Time} value=${r.appendedAt} /></td>
                  <td><${Badge} value=${r.event.type} tone="" /></td>
                  <td class="mono">${r.event.source}</td>
                  <td class="mono">${r.event.subject ?? ''}</td>
                  <td onClick=${(e) => e.stopPropagation()}><${WhyLink} id=${r.event.id} testid="event-why-link" /></td>
                </tr>
                ${
                  open === r.offset
                    ? html`<tr>
                        <td colspan="6"><${Json} value=${r.event} testid="event-json" /></td>
                      </tr>`
                    : null
                }`,
          )}
        </tbody>
      </table>
    </div>
  </${Page}>`;
}
