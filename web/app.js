/**
 * @module The dashboard's shell: hash routes (`#/events`, `#/why/<id>`, ...), the navigation, and
 * the API token field (kept in localStorage; needed only when the server requires auth).
 */
/* global document, window */
import { onAuthProblem, token } from './lib/api.js';
import { html, render, useEffect, useState } from './lib/ui.js';
import { Overview } from './views/overview.js';
import { Events } from './views/events.js';
import { Rules } from './views/rules.js';
import { Executions } from './views/executions.js';
import { Dlq } from './views/dlq.js';
import { Approvals } from './views/approvals.js';
import { Incidents } from './views/incidents.js';
import { Resources } from './views/resources.js';
import { Compliance } from './views/compliance.js';
import { Cost } from './views/cost.js';
import { Why } from './views/why.js';

const PAGES = [
  ['overview', 'Overview', Overview],
  ['events', 'Events', Events],
  ['rules', 'Rules', Rules],
  ['executions', 'Executions', Executions],
  ['dlq', 'Dead letters', Dlq],
  ['approvals', 'Approvals', Approvals],
  ['incidents', 'Incidents', Incidents],
  ['resources', 'Resources', Resources],
  ['compliance', 'Compliance', Compliance],
  ['cost', 'Cost', Cost],
  ['why', 'Why', Why],
];

/** `#/why/abc?x=1` → { page: 'why', arg: 'abc' }. */
function parseHash(hash) {
  const path = hash.replace(/^#\/?/, '');
  const slash = path.indexOf('/');
  const page = slash < 0 ? path : path.slice(0, slash);
  const arg = slash < 0 ? '' : decodeURIComponent(path.slice(slash + 1));
  return { page: PAGES.some((p) => p[0] === page) ? page : 'overview', arg };
}

function TokenField() {
  const [value, setValue] = useState(token.get());
  const [problem, setProblem] = useState('');
  useEffect(() => onAuthProblem((message) => setProblem(message)), []);
  const save = (e) => {
    e.preventDefault();
    token.set(value.trim());
    setProblem('');
    window.location.reload();
  };
  return html`<form onSubmit=${save} class="toolbar" style="margin:0">
    ${problem ? html`<span class="badge bad" data-testid="auth-problem" title=${problem}>token needed</span>` : null}
    <input
      type="password"
      placeholder="API token (only if the server requires one)"
      value=${value}
      data-testid="token-input"
      onInput=${(e) => setValue(e.currentTarget.value)}
    />
    <button type="submit" data-testid="token-save">${value ? 'Use token' : 'No token'}</button>
  </form>`;
}

function App() {
  const [route, setRoute] = useState(parseHash(window.location.hash));
  useEffect(() => {
    const onHash = () => setRoute(parseHash(window.location.hash));
    window.addEventListener('hashchange', onHash);
    return () => window.removeEventListener('hashchange', onHash);
  }, []);
  const View = PAGES.find((p) => p[0] === route.page)[2];
  return html`<div class="shell" data-testid="app">
    <header class="topbar">
      <span class="brand">Homeostat</span>
      <span class="spacer"></span>
      <${TokenField} />
    </header>
    <nav class="nav">
      ${PAGES.map(
        ([name, label]) =>
          html`<a href=${`#/${name}`} class=${route.page === name ? 'active' : ''} data-testid=${`nav-${name}`}
            >${label}</a
          >`,
      )}
    </nav>
    <main>
      <${View} key=${`${route.page}/${route.arg}`} arg=${route.arg} />
    </main>
  </div>`;
}

const root = document.getElementById('app');
root.textContent = '';
render(html`<${App} />`, root);
