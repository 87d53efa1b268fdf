/** @module The frame `homeostat top` draws (renderTop) and how it reads API bodies into a snapshot. */
import { describe, expect, it } from 'vitest';
import { consumerLag, metricsByGroup, parseInterval, toDecision, toIncident } from '../../src/cli/top.js';
import {
  allocateRows,
  type RenderOptions,
  renderTop,
  sparkline,
  type TopDecision,
  type TopGroup,
  type TopSnapshot,
  truncate,
} from '../../src/cli/top-view.js';

const NOW = Date.parse('2026-03-01T12:00:00Z');
const plain: RenderOptions = { width: 80, height: 24, color: false, now: NOW };

function group(over: Partial<TopGroup> = {}): TopGroup {
  return {
    stack: 'shop',
    name: 'web',
    desired: 3,
    live: 3,
    healthy: 3,
    metrics: { rps: 99.94, p99Ms: 21.3, errorRate: 0.004, cpu: 0.123 },
    rpsHistory: [10, 20, 40, 80],
    instancesHistory: [2, 2, 3, 3],
    ...over,
  };
}

function decision(over: Partial<TopDecision> = {}): TopDecision {
  return {
    at: NOW - 5_000,
    policy: 'ScalingPolicy/web',
    action: 'scale',
    resource: 'instancegroup/web',
    from: 3,
    to: 5,
    outcome: 'executed',
    reason: 'data.rpsPerInstance 180 vs target 100: 3 × 1.8 = 5.4, up to 5',
    ...over,
  };
}

function snapshot(over: Partial<TopSnapshot> = {}): TopSnapshot {
  return {
    url: 'http://127.0.0.1:8420',
    intervalMs: 1_000,
    updatedAt: NOW,
    eventsPerSec: 12.5,
    consumerLag: 0,
    costPerHour: 0.0312,
    groups: [group(), group({ stack: 'backoffice', name: 'api-workers', desired: 10, live: 12, healthy: 9 })],
    decisions: [decision()],
    incidents: [
      {
        id: 'inc-1',
        severity: 'critical',
        group: 'web',
        openedAt: NOW - 240_000,
        title: 'web: crash loop, replacements held',
      },
    ],
    ...over,
  };
}

const lines = (frame: string) => frame.split('\n');
const stripAnsi = (s: string) => s.replace(/\x1b\[[0-9;]*m/g, '');
const columns = (s: string) => [...s].length;

/** End column (exclusive) of each whitespace-separated token. */
function tokenEnds(line: string): number[] {
  return [...line.matchAll(/\S+/g)].map((m) => m.index + m[0].length);
}

describe('renderTop', () => {
  it('aligns the numeric columns of the group table under their headers', () => {
    const frame = lines(renderTop(snapshot(), plain));
    const header = frame.find((l) => l.startsWith('STACK/GROUP'))!;
    const rows = frame.filter((l) => l.startsWith('shop/web') || l.startsWith('backoffice/api-workers'));
    expect(rows).toHaveLength(2);
    // STACK/GROUP DES LIVE HLTH RPS P99ms ERR% CPU: the seven numbers are right-aligned under them.
    const numbers = tokenEnds(header).slice(1, 8);
    for (const row of rows) expect(tokenEnds(row).slice(1, 8)).toEqual(numbers);
    expect(
      rows
        .find((l) => l.startsWith('backoffice'))!
        .split(/\s+/)
        .slice(1, 8),
    ).toEqual(['10', '12', '9', '99.9', '21', '0.4', '0.12']);
    // Name column wide enough for the longest name.
    expect(header.indexOf('DES')).toBeGreaterThan('backoffice/api-workers'.length);
  });

  it('shows the header: server, events per second, consumer lag and cost rate', () => {
    const [first, second] = lines(renderTop(snapshot({ consumerLag: 42 }), plain));
    expect(first).toMatch(/^homeostat top {2}http:\/\/127\.0\.0\.1:8420 {2}\d\d:\d\d:\d\d {2}every 1s$/);
    expect(second).toBe('events 12.5/s   lag 42   cost $0.0312/h   groups 2   incidents 1');
  });

  it('cuts every line to the width, marking the cut with …, and the frame to the height', () => {
    for (const width of [30, 50, 80, 140]) {
      for (const height of [5, 12, 24, 60]) {
        const frame = lines(
          renderTop(snapshot({ decisions: Array.from({ length: 30 }, () => decision()) }), {
            ...plain,
            width,
            height,
          }),
        );
        expect(frame.length).toBeLessThanOrEqual(height);
        for (const line of frame) expect(columns(line)).toBeLessThanOrEqual(width);
      }
    }
    const narrow = lines(renderTop(snapshot(), { ...plain, width: 40 }));
    expect(narrow.find((l) => l.startsWith('  5s'))).toMatch(/^ {2}5s ScalingPoli… scale 3→5 executed .*…$/);
    expect(columns(narrow.find((l) => l.startsWith('  5s'))!)).toBe(40);
  });

  it('uses the extra width for longer sparklines and the extra height for more decisions', () => {
    const many = snapshot({ decisions: Array.from({ length: 30 }, (_, i) => decision({ at: NOW - i * 1_000 })) });
    const small = lines(renderTop(many, plain));
    const large = lines(renderTop(many, { ...plain, width: 160, height: 50 }));
    const shown = (frame: string[]) => frame.filter((l) => /ScalingPolicy\/web\s+scale/.test(l)).length;
    expect(small).toHaveLength(24);
    expect(shown(large)).toBeGreaterThan(shown(small));
    expect(small.filter((l) => /^… \d+ more$/.test(l))).toHaveLength(1);
    expect(large.find((l) => l.startsWith('STACK/GROUP'))!.length).toBeGreaterThan(80);
    expect(large.find((l) => l.startsWith('shop/web'))).toMatch(/▂▃▅█/);
  });

  it('draws each group’s rps and instance history as sparklines', () => {
    const row = lines(renderTop(snapshot({ groups: [group()] }), plain)).find((l) => l.startsWith('shop/web'))!;
    // rps 10,20,40,80 on 0..80 and instances 2,2,3,3 on 0..3 (of ▁..█), newest last, right-aligned.
    expect(row).toMatch(/ ▂▃▅█ +▆▆██$/);
  });

  it('says so when there are no groups, decisions or incidents', () => {
    const frame = renderTop(snapshot({ groups: [], decisions: [], incidents: [] }), plain);
    expect(frame).toContain('no groups: apply a Stack');
    expect(frame).toContain('no decisions yet');
    expect(frame).toContain('no open incidents');
    expect(lines(frame)[1]).toBe('events 12.5/s   lag 0   cost $0.0312/h   groups 0   incidents 0');
  });

  it('says it is connecting before the first refresh, and shows an error with the age of the data', () => {
    const first = renderTop({ url: 'http://x:1', groups: [], decisions: [], incidents: [] }, plain);
    expect(lines(first)[1]).toBe('connecting…');
    expect(first).not.toContain('no groups');
    expect(first).toContain('loading…');
    const failed = renderTop(
      snapshot({ error: 'cannot reach Homeostat at http://x:1', updatedAt: NOW - 12_000 }),
      plain,
    );
    expect(lines(failed)[1]).toBe('error, retrying every 1s (data 12s old): cannot reach Homeostat at http://x:1');
    expect(failed).toMatch(/^shop\/web/m);
  });

  it('shows a decision’s change, outcome and the rail’s words for a refusal', () => {
    const frame = renderTop(
      snapshot({
        decisions: [
          decision(),
          decision({ outcome: 'refused', rail: 'flap', why: 'flap: 7 reversals in 10m; frozen' }),
          decision({
            action: 'replace',
            resource: 'instance/web-3',
            from: undefined,
            to: undefined,
            outcome: 'dry-run',
          }),
          decision({ outcome: 'pending-approval', approval: 'apr-9' }),
        ],
      }),
      { ...plain, width: 120 },
    );
    expect(frame).toMatch(
      /^ {2}5s ScalingPolicy\/web scale {3}3→5 {3}executed data\.rpsPerInstance 180 vs target 100/m,
    );
    expect(frame).toMatch(/3→5 {3}refused {2}flap: 7 reversals in 10m; frozen$/m);
    expect(frame).toMatch(/replace web-3 dry-run {2}data\.rpsPerInstance/m);
    expect(frame).toMatch(/pending {2}awaiting approval apr-9: /m);
  });

  it('shows open incidents with severity, group, age and summary, and who acknowledged one', () => {
    const frame = renderTop(snapshot(), plain);
    expect(frame).toMatch(/^critical web {3}4m web: crash loop, replacements held \(inc-1\)$/m);
    const acked = snapshot({ incidents: [{ ...snapshot().incidents[0]!, acknowledgedBy: 'alice' }] });
    expect(renderTop(acked, { ...plain, width: 120 })).toMatch(/held \(inc-1, acknowledged by alice\)$/m);
  });

  it('names a section the server could not give instead of calling it empty', () => {
    const frame = renderTop(snapshot({ incidents: [], unavailable: { incidents: 'not served (HTTP 404)' } }), plain);
    expect(frame).toContain('unavailable: not served (HTTP 404)');
    expect(frame).not.toContain('no open incidents');
  });

  it('colours with SGR codes only when asked, with the same text and widths', () => {
    const coloured = renderTop(snapshot(), { ...plain, color: true });
    const uncoloured = renderTop(snapshot(), plain);
    expect(coloured).toContain('\x1b[');
    expect(uncoloured).not.toContain('\x1b');
    expect(stripAnsi(coloured)).toBe(uncoloured);
    expect(coloured).toContain('\x1b[32mexecuted\x1b[0m');
    expect(coloured).toContain('\x1b[31mcritical\x1b[0m');
  });
});

describe('sparkline', () => {
  it('scales from 0 to the highest value over the eight levels', () => {
    expect(sparkline([0, 1, 2, 3, 4, 5, 6, 7], 8)).toBe('▁▂▃▄▅▆▇█');
    expect(sparkline([0, 0, 0], 3)).toBe('▁▁▁');
    expect(sparkline([5, 5], 2)).toBe('██');
  });

  it('keeps the newest values, right-aligned, with a space where a value is missing', () => {
    expect(sparkline([1, 2, 3, 4, 8], 2)).toBe('▅█');
    expect(sparkline([8, undefined, 8], 5)).toBe('  █ █');
    expect(sparkline([], 3)).toBe('   ');
    expect(sparkline([1], 0)).toBe('');
  });
});

describe('layout helpers', () => {
  it('truncates with an ellipsis only when the text is longer than the width', () => {
    expect(truncate('abcdef', 6)).toBe('abcdef');
    expect(truncate('abcdef', 4)).toBe('abc…');
    expect(truncate('abc', 0)).toBe('');
  });

  it('gives each section a row, then up to three, then the rest to groups, incidents, decisions', () => {
    expect(allocateRows([10, 20, 2], 15)).toEqual([10, 3, 2]);
    expect(allocateRows([10, 20, 2], 40)).toEqual([10, 20, 2]);
    expect(allocateRows([1, 1, 1], 15)).toEqual([1, 1, 1]);
    expect(allocateRows([5, 5, 5], 2)).toEqual([1, 1, 0]);
    expect(allocateRows([5, 5, 5], -3)).toEqual([0, 0, 0]);
  });
});

describe('reading API bodies', () => {
  it('takes each group’s newest infra.metrics, and the older ones oldest first for the sparklines', () => {
    const ev = (group: string, rps: number, extra: Record<string, unknown> = {}) => ({
      event: { type: 'infra.metrics', subject: `instancegroup/${group}`, data: { group, rps, instances: 2, ...extra } },
    });
    const byGroup = metricsByGroup([
      ev('web', 30, { latencyMs: { p50: 1, p95: 2, p99: 9 }, errorRate: 0.5, cpu: { avg: 0.25, perInstance: {} } }),
      ev('api', 7, { cpu: 1.5 }),
      ev('web', 20),
      ev('web', 10),
      { event: { type: 'infra.metrics', subject: 'instancegroup/batch', data: { rps: 1 } } },
    ]);
    expect(byGroup.get('web')).toEqual({
      latest: { rps: 30, p99Ms: 9, errorRate: 0.5, cpu: 0.25 },
      past: [
        { rps: 10, instances: 2 },
        { rps: 20, instances: 2 },
      ],
    });
    expect(byGroup.get('api')?.latest.cpu).toBe(1.5);
    expect(byGroup.get('batch')?.latest.rps).toBe(1);
  });

  it('reads the highest consumer lag from Prometheus text', () => {
    const text = [
      '# HELP homeostat_consumer_lag_events Events appended that a consumer has not read yet',
      '# TYPE homeostat_consumer_lag_events gauge',
      'homeostat_consumer_lag_events{consumer="router"} 3',
      'homeostat_consumer_lag_events{consumer="other"} 17',
      'homeostat_consumer_lag_events_x 99',
    ].join('\n');
    expect(consumerLag(text)).toBe(17);
    expect(consumerLag('homeostat_log_events 5\n')).toBeUndefined();
    expect(consumerLag(undefined)).toBeUndefined();
  });

  it('turns action and incident records into lines', () => {
    expect(
      toDecision({
        at: '2026-03-01T11:59:55.000Z',
        policy: 'ScalingPolicy/web',
        action: 'scale',
        resource: 'instancegroup/web',
        params: { from: 3, to: 5 },
        outcome: 'refused',
        rail: 'cooldown',
        why: 'cooling down',
        reason: 'r',
      }),
    ).toEqual({
      at: NOW - 5_000,
      policy: 'ScalingPolicy/web',
      action: 'scale',
      resource: 'instancegroup/web',
      from: 3,
      to: 5,
      outcome: 'refused',
      reason: 'r',
      why: 'cooling down',
      rail: 'cooldown',
    });
    expect(toDecision({ params: { instance: 'web-3' } })).not.toHaveProperty('from');
    expect(
      toIncident({ id: 'inc-1', severity: 'warning', resource: 'instance/web-1', openedAt: '2026-03-01T12:00:00Z' }),
    ).toEqual({ id: 'inc-1', severity: 'warning', group: 'instance/web-1', openedAt: NOW, title: '' });
    expect(toIncident({ id: 'inc-2', acknowledgedBy: 'alice' }).acknowledgedBy).toBe('alice');
  });

  it('accepts an --interval of 100ms or more and refuses others with a usage error', () => {
    expect(parseInterval('1s')).toBe(1_000);
    expect(parseInterval('250ms')).toBe(250);
    expect(() => parseInterval('soon')).toThrow(/--interval: 'soon' is not a duration/);
    expect(() => parseInterval('50ms')).toThrow(/at least 100ms/);
    let thrown: unknown;
    try {
      parseInterval('0');
    } catch (err) {
      thrown = err;
    }
    expect((thrown as { details?: { exitCode?: number } }).details?.exitCode).toBe(2);
  });
});
