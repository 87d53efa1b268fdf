/**
 * @module Overview: load against capacity per instance group with the scaling decisions marked,
 * latency and error rate, the cost rate and consumer lag over time (GET /v1/series), and the
 * counts that need attention (open incidents, pending approvals, dead letters).
 */
import { get, qs } from '../lib/api.js';
import { duration, money, num, percent } from '../lib/format.js';
import { align, markerColor, TimePlot } from '../lib/plot.js';
import { Badge, Empty, ErrorBox, html, Page, Time, usePoll, useMemo, useState, WhyLink } from '../lib/ui.js';

const RANGES = ['1m', '5m', '15m', '1h', '6h', '24h'];

function Counts() {
  const { data } = usePoll(
    async () => {
      const settle = (p) =>
        p.then(
          (v) => v,
          () => undefined,
        );
      const [incidents, approvals, dlq] = await Promise.all([
        settle(get('/v1/incidents?status=open&limit=1000')),
        settle(get('/v1/approvals?status=pending')),
        settle(get('/v1/dlq/count')),
      ]);
      return {
        incidents: incidents?.incidents.length,
        approvals: approvals?.approvals.length,
        dlq: dlq?.count,
      };
    },
    [],
    5000,
  );
  const card = (label, value, href, testid) =>
    html`<a class="card" href=${href} data-testid=${testid}>
      <div class="value">${value === undefined ? '—' : value}</div>
      <div class="label">${label}</div>
    </a>`;
  return html`<div class="cards">
    ${card('open incidents', data?.incidents, '#/incidents', 'count-incidents')}
    ${card('pending approvals', data?.approvals, '#/approvals', 'count-approvals')}
    ${card('dead letters', data?.dlq, '#/dlq', 'count-dlq')}
  </div>`;
}

function Decisions({ group }) {
  const rows = [...group.decisions].reverse().slice(0, 8);
  if (rows.length === 0) return html`<div class="muted">No automated action on ${group.group} in this range.</div>`;
  return html`<table data-testid=${`decisions-${group.group}`}>
    <thead>
      <tr>
        <th>time</th>
        <th>action</th>
        <th>outcome</th>
        <th>size</th>
        <th>policy</th>
        <th>reason</th>
      </tr>
    </thead>
    <tbody>
      ${rows.map(
        (d) =>
          html`<tr data-testid="decision-row" data-action=${d.action} data-outcome=${d.outcome}>
            <td><${Time} value=${d.t} /></td>
            <td><${WhyLink} id=${d.id} label=${d.action} /></td>
            <td><${Badge} value=${d.outcome} /></td>
            <td>${d.from !== null && d.to !== null ? `${d.from} → ${d.to}` : ''}</td>
            <td>${d.policy}</td>
            <td class="wrap">${d.why ?? d.reason}</td>
          </tr>`,
      )}
    </tbody>
  </table>`;
}

function GroupPanels({ group, range }) {
  const hasCapacity = group.points.some((p) => p.capacityRps !== undefined);
  const load = useMemo(
    () => align(group.points, hasCapacity ? ['rps', 'instances', 'capacityRps'] : ['rps', 'instances']),
    [group],
  );
  const latency = useMemo(() => align(group.points, ['latencyP50Ms', 'latencyP99Ms', 'errorRate']), [group]);
  const markers = group.decisions.map((d) => ({ t: d.t, color: markerColor(d) }));
  const last = group.points[group.points.length - 1];
  const maxInstances = Math.max(0, ...group.points.map((p) => p.instances ?? 0));
  const loadSeries = [
    { label: 'requests/s', value: (v) => num(v) },
    { label: 'instances', scale: 'y2', step: true, value: (v) => num(v, 0) },
    ...(hasCapacity ? [{ label: 'capacity req/s', value: (v) => num(v) }] : []),
  ];
  return html`<div class="panel" data-testid=${`group-${group.group}`}>
    <div class="plot-title">
      <h2>Load and capacity: ${group.group}</h2>
      <span class="muted">
        ${'now '}<b data-testid=${`capacity-instances-${group.group}`}>${last?.instances ?? '—'}</b>${' instances, '}
        <b data-testid=${`load-rps-${group.group}`}>${num(last?.rps)}</b>${' req/s · max in range '}
        <b data-testid=${`capacity-max-${group.group}`}>${maxInstances}</b>${' · markers: automated actions'}
      </span>
    </div>
    <div class="grid2">
      <${TimePlot}
        testid=${`plot-capacity-${group.group}`}
        series=${loadSeries}
        data=${load}
        range=${range}
        markers=${markers}
        axes=${{ y: 'req/s', y2: 'instances' }}
      />
      <${TimePlot}
        testid=${`plot-latency-${group.group}`}
        series=${[
          { label: 'p50 ms', value: (v) => num(v) },
          { label: 'p99 ms', value: (v) => num(v) },
          { label: 'errors', scale: 'y2', value: (v) => percent(v) },
        ]}
        data=${latency}
        range=${range}
        markers=${markers}
        axes=${{ y: 'ms', y2: 'error rate' }}
      />
    </div>
    <h2>Automated actions on ${group.group}</h2>
    <${Decisions} group=${group} />
  </div>`;
}

export function Overview() {
  const [since, setSince] = useState('15m');
  const { data, error } = usePoll(() => get(`/v1/series${qs({ since })}`), [since], 4000);
  const range = data ? [Date.parse(data.from), Date.parse(data.to)] : undefined;
  const cost = useMemo(() => (data ? align(data.cost, ['ratePerHour']) : [[]]), [data]);
  const consumers = data ? [...new Set(data.lag.map((l) => l.consumer))].sort() : [];
  const lag = useMemo(
    () =>
      data
        ? align(
            data.lag,
            consumers.map((c) => (r) => (r.consumer === c ? r.lag : undefined)),
          )
        : [[]],
    [data],
  );
  const actions = html`<label
    >range
    <select value=${since} data-testid="range" onChange=${(e) => setSince(e.currentTarget.value)}>
      ${RANGES.map((r) => html`<option value=${r} selected=${r === since}>${r}</option>`)}
    </select></label
  >`;
  return html`<${Page} name="overview" title="Overview" actions=${actions}>
    <${Counts} />
    <${ErrorBox} error=${error} />
    ${
      data?.truncated.length > 0
        ? html`<div class="notice">Older points left out (too many events): ${data.truncated.join(', ')}.</div>`
        : null
    }
    ${
      data && data.groups.length === 0
        ? html`<div class="panel">
          <${Empty}>No instance group reported metrics in the last ${since}. Apply a stack (examples/stacks/web.yaml).</${Empty}>
        </div>`
        : null
    }
    ${data?.groups.map((g) => html`<${GroupPanels} key=${g.group} group=${g} range=${range} />`)}
    ${
      data
        ? html`<div class="grid2">
            <div class="panel">
              <div class="plot-title">
                <h2>Cost rate</h2>
                <span class="muted" data-testid="cost-now"
                  >${money(data.cost[data.cost.length - 1]?.ratePerHour)}/h</span
                >
              </div>
              <${TimePlot}
                testid="plot-cost"
                series=${[{ label: '$/hour', step: true, value: (v) => money(v) }]}
                data=${cost}
                range=${range}
                axes=${{ y: '$/h' }}
              />
            </div>
            <div class="panel">
              <div class="plot-title">
                <h2>Consumer lag</h2>
                <span class="muted">events appended, not yet read · step ${duration(data.stepMs)}</span>
              </div>
              <${TimePlot}
                testid="plot-lag"
                series=${consumers.map((c) => ({ label: c, value: (v) => num(v, 0) }))}
                data=${lag}
                range=${range}
                axes=${{ y: 'events' }}
              />
            </div>
          </div>`
        : null
    }
  </${Page}>`;
}
