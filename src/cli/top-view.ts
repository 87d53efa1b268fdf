/**
 * @module The frame `homeostat top` draws: a pure function of a snapshot, the terminal size, colour
 * and the time. No I/O, no clock: the caller passes `now`, so the same input gives the same frame.
 */

/** The newest `infra.metrics` of a group (docs/PROVIDERS.md); a field is absent when not reported. */
export interface TopGroupMetrics {
  readonly rps?: number;
  readonly p99Ms?: number;
  /** A fraction: 0.012 is 1.2 %. */
  readonly errorRate?: number;
  /** Average CPU per instance, in cores. */
  readonly cpu?: number;
}

/** One instance group as `top` shows it. */
export interface TopGroup {
  readonly stack: string;
  readonly name: string;
  readonly desired: number;
  readonly live: number;
  readonly healthy: number;
  /** Undefined when no recent `infra.metrics` event describes the group. */
  readonly metrics?: TopGroupMetrics;
  /** One sample per refresh, oldest first; undefined where the refresh had no value. */
  readonly rpsHistory: readonly (number | undefined)[];
  readonly instancesHistory: readonly (number | undefined)[];
}

/** An automated action (GET /v1/actions record), newest first in the snapshot. */
export interface TopDecision {
  /** Epoch milliseconds. */
  readonly at: number;
  readonly policy: string;
  readonly action: string;
  readonly resource: string;
  /** `params.from` and `params.to` when the action changes a size. */
  readonly from?: number | string;
  readonly to?: number | string;
  readonly outcome: string;
  readonly reason?: string;
  /** Why it was refused, failed or rejected. */
  readonly why?: string;
  readonly rail?: string;
  readonly approval?: string;
}

/** An open incident (GET /v1/incidents record). */
export interface TopIncident {
  readonly id: string;
  readonly severity: string;
  /** The group, or the resource when the incident has no group. */
  readonly group: string;
  /** Epoch milliseconds. */
  readonly openedAt: number;
  readonly title: string;
  /** Who acknowledged it (it stays open), if someone did. */
  readonly acknowledgedBy?: string;
}

/** Sections of the frame. */
export type TopSection = 'groups' | 'decisions' | 'incidents';

/** Everything one frame shows. */
export interface TopSnapshot {
  /** The server's base URL. */
  readonly url: string;
  /** The refresh interval, shown in the header and in the retry message. */
  readonly intervalMs?: number;
  /** When the data below was read (epoch ms); undefined before the first successful refresh. */
  readonly updatedAt?: number;
  /** Why the latest refresh failed; the data below is then from `updatedAt`. */
  readonly error?: string;
  /** Events appended per second, averaged over the last few seconds. */
  readonly eventsPerSec?: number;
  /** Events appended that the slowest consumer has not read yet. */
  readonly consumerLag?: number;
  /** The cost rate of everything running now. */
  readonly costPerHour?: number;
  readonly groups: readonly TopGroup[];
  readonly decisions: readonly TopDecision[];
  readonly incidents: readonly TopIncident[];
  /** Sections the server could not give (e.g. an older server without incidents), with why. */
  readonly unavailable?: Readonly<Partial<Record<TopSection, string>>>;
}

export interface RenderOptions {
  /** Columns; every line is cut to this many characters. */
  readonly width: number;
  /** Rows; the frame has at most this many lines. */
  readonly height: number;
  /** ANSI colours (SGR) when true; plain text when false. */
  readonly color: boolean;
  /** The time the frame is drawn at (epoch ms): ages and the header clock are relative to it. */
  readonly now: number;
}

type Style = 'bold' | 'dim' | 'red' | 'green' | 'yellow' | 'cyan' | 'inverse';
const SGR: Readonly<Record<Style, string>> = {
  bold: '1',
  dim: '2',
  red: '31',
  green: '32',
  yellow: '33',
  cyan: '36',
  inverse: '7',
};

interface Seg {
  readonly text: string;
  readonly style?: Style;
}
type Line = readonly Seg[];

/** Sparkline levels, lowest to highest. */
export const SPARK_LEVELS = '▁▂▃▄▅▆▇█';
const ELLIPSIS = '…';
/** Columns of the widest sparkline (and samples kept per group by the command). */
export const SPARK_MAX = 60;
/** Rows each section gets before any section gets more (when it has that many). */
const SECTION_MIN_ROWS = 3;

/** Length in characters (code points), which is the column count for the text `top` draws. */
const len = (s: string): number => [...s].length;

/** Cuts `s` to `width` characters, ending in `…` when it was longer. */
export function truncate(s: string, width: number): string {
  if (width <= 0) return '';
  const chars = [...s];
  if (chars.length <= width) return s;
  return chars.slice(0, width - 1).join('') + ELLIPSIS;
}

function pad(s: string, width: number, align: 'left' | 'right'): string {
  const cut = truncate(s, width);
  const fill = ' '.repeat(Math.max(0, width - len(cut)));
  return align === 'left' ? cut + fill : fill + cut;
}

/**
 * A sparkline of the last `width` values, scaled from 0 (or the lowest value, if negative) to the
 * highest: ▁ is 0, █ the highest. A missing value is a space; fewer values than `width` are
 * right-aligned (the newest sample is always the last column).
 */
export function sparkline(values: readonly (number | undefined)[], width: number): string {
  if (width <= 0) return '';
  const shown = values.slice(-width);
  const present = shown.filter((v): v is number => v !== undefined && Number.isFinite(v));
  const lo = Math.min(0, ...present);
  const hi = Math.max(lo, ...present);
  const top = SPARK_LEVELS.length - 1;
  const chars = shown.map((v) => {
    if (v === undefined || !Number.isFinite(v)) return ' ';
    const level = hi === lo ? 0 : Math.round(((v - lo) / (hi - lo)) * top);
    return SPARK_LEVELS[level]!;
  });
  return ' '.repeat(width - chars.length) + chars.join('');
}

/** Cuts a line of segments to `width` columns, marking a cut with `…`. */
function fit(line: Line, width: number): Line {
  const out: Seg[] = [];
  let used = 0;
  const total = line.reduce((n, s) => n + len(s.text), 0);
  const limit = total > width ? width - 1 : width;
  for (const seg of line) {
    const room = limit - used;
    if (room <= 0) break;
    const chars = [...seg.text];
    const text = chars.length <= room ? seg.text : chars.slice(0, room).join('');
    out.push({ text, style: seg.style });
    used += len(text);
  }
  if (total > width && width > 0) {
    const last = out[out.length - 1];
    out.push({ text: ELLIPSIS, style: last?.style });
  }
  return out;
}

/** The line as text, without trailing blanks, with SGR codes around styled segments when `color`. */
function paint(line: Line, color: boolean): string {
  const segs = [...line];
  while (segs.length > 0 && segs[segs.length - 1]!.text.trimEnd() === '') segs.pop();
  const last = segs.length - 1;
  return segs
    .map((s, i) => {
      const text = i === last ? s.text.trimEnd() : s.text;
      return color && s.style && text.trim() !== '' ? `\x1b[${SGR[s.style]}m${text}\x1b[0m` : text;
    })
    .join('');
}

/** A column of a table: header, width, alignment. */
interface Column {
  readonly header: string;
  readonly width: number;
  readonly align: 'left' | 'right';
}

interface Cell {
  readonly text: string;
  readonly style?: Style;
}

function row(columns: readonly Column[], cells: readonly Cell[]): Line {
  const segs: Seg[] = [];
  columns.forEach((c, i) => {
    if (i > 0) segs.push({ text: ' ' });
    const cell = cells[i] ?? { text: '' };
    const last = i === columns.length - 1;
    // The last left-aligned column is not padded: it may run to the edge and is cut there.
    const text = last && c.align === 'left' ? truncate(cell.text, c.width) : pad(cell.text, c.width, c.align);
    segs.push({ text, style: cell.style });
  });
  return segs;
}

const dash = '-';

function num(v: number | undefined, format: (n: number) => string): string {
  return v === undefined || !Number.isFinite(v) ? dash : format(v);
}

/** Requests per second: one decimal under 1,000, whole numbers above, thousands as k from 100,000. */
export function formatRps(v: number): string {
  if (v >= 100_000) return `${Math.round(v / 1_000)}k`;
  return v >= 1_000 ? String(Math.round(v)) : v.toFixed(1);
}

function formatMs(v: number): string {
  if (v >= 100_000) return `${Math.round(v / 1_000)}s`;
  return v >= 10 ? String(Math.round(v)) : v.toFixed(1);
}

/** An age: 12s, 4m, 3h, 2d (never negative). */
export function formatAge(ms: number): string {
  if (!Number.isFinite(ms)) return dash;
  const s = Math.max(0, Math.floor(ms / 1_000));
  if (s < 60) return `${s}s`;
  if (s < 3_600) return `${Math.floor(s / 60)}m`;
  if (s < 86_400) return `${Math.floor(s / 3_600)}h`;
  return `${Math.floor(s / 86_400)}d`;
}

/** Cores: two decimals under 10, one under 100, then whole cores (fits the 4-column CPU). */
function formatCpu(v: number): string {
  return v < 10 ? v.toFixed(2) : v < 100 ? v.toFixed(1) : String(Math.round(v));
}

function formatMoney(v: number): string {
  return `$${v < 10 ? v.toFixed(4) : v.toFixed(2)}/h`;
}

function clock(ms: number): string {
  const d = new Date(ms);
  return [d.getHours(), d.getMinutes(), d.getSeconds()].map((n) => String(n).padStart(2, '0')).join(':');
}

function formatInterval(ms: number): string {
  return ms % 1_000 === 0 ? `${ms / 1_000}s` : `${ms}ms`;
}

/** Drops the kind from a resource ref: `instance/web-3` → `web-3`. */
function shortRef(ref: string): string {
  const slash = ref.indexOf('/');
  return slash >= 0 ? ref.slice(slash + 1) : ref;
}

const OUTCOME_STYLE: Readonly<Record<string, Style>> = {
  executed: 'green',
  failed: 'red',
  refused: 'red',
  rejected: 'red',
  'dry-run': 'cyan',
  'pending-approval': 'yellow',
};

const OUTCOME_LABEL: Readonly<Record<string, string>> = { 'pending-approval': 'pending' };

const SEVERITY_STYLE: Readonly<Record<string, Style>> = { critical: 'red', high: 'red', warning: 'yellow' };

function header(s: TopSnapshot, o: RenderOptions): Line[] {
  const every =
    s.intervalMs === undefined ? [] : [{ text: `  every ${formatInterval(s.intervalMs)}`, style: 'dim' as const }];
  const first: Line = [{ text: 'homeostat top', style: 'bold' }, { text: `  ${s.url}  ${clock(o.now)}` }, ...every];
  if (s.updatedAt === undefined && s.error === undefined) return [first, [{ text: 'connecting…', style: 'dim' }]];
  if (s.error !== undefined) {
    // The status first: a long message is cut at the right edge.
    const retry = s.intervalMs === undefined ? '' : `, retrying every ${formatInterval(s.intervalMs)}`;
    const stale = s.updatedAt === undefined ? '' : ` (data ${formatAge(o.now - s.updatedAt)} old)`;
    return [first, [{ text: `error${retry}${stale}: ${s.error}`, style: 'red' }]];
  }
  const lag = s.consumerLag;
  const second: Line = [
    { text: 'events ' },
    { text: num(s.eventsPerSec, (v) => `${formatRps(v)}/s`), style: 'bold' },
    { text: '   lag ' },
    { text: num(lag, (v) => String(v)), style: lag !== undefined && lag > 0 ? 'yellow' : 'bold' },
    { text: '   cost ' },
    { text: num(s.costPerHour, formatMoney), style: 'bold' },
    { text: `   groups ${s.groups.length}   incidents ` },
    { text: String(s.incidents.length), style: s.incidents.length > 0 ? 'red' : 'bold' },
  ];
  return [first, second];
}

/** Fixed columns of the group table after the name: label, width. */
const GROUP_NUMBERS: readonly (readonly [string, number])[] = [
  ['DES', 3],
  ['LIVE', 4],
  ['HLTH', 4],
  ['RPS', 6],
  ['P99ms', 5],
  ['ERR%', 5],
  ['CPU', 4],
];
const NAME_MIN = 10;
const NAME_MAX = 32;
const SPARK_MIN = 4;

function groupColumns(groups: readonly TopGroup[], width: number): Column[] {
  const numbers = GROUP_NUMBERS.reduce((n, [, w]) => n + w + 1, 0);
  const wanted = Math.min(NAME_MAX, Math.max(len('STACK/GROUP'), ...groups.map((g) => len(`${g.stack}/${g.name}`))));
  // The name gives way to the sparklines down to NAME_MIN; when they still do not fit they go,
  // and the name takes the room left.
  const sparksAt = (name: number) => Math.floor((width - name - numbers - 2) / 2);
  let name = wanted;
  if (sparksAt(name) < SPARK_MIN) {
    const shrunk = Math.max(NAME_MIN, width - numbers - 2 - 2 * SPARK_MIN);
    name =
      sparksAt(shrunk) >= SPARK_MIN ? Math.min(wanted, shrunk) : Math.max(NAME_MIN, Math.min(wanted, width - numbers));
  }
  const spark = Math.min(SPARK_MAX, sparksAt(name));
  const columns: Column[] = [
    { header: 'STACK/GROUP', width: name, align: 'left' },
    ...GROUP_NUMBERS.map(([h, w]) => ({ header: h, width: w, align: 'right' as const })),
  ];
  if (spark >= SPARK_MIN) {
    columns.push({ header: 'RPS TREND', width: spark, align: 'left' });
    columns.push({ header: 'INSTANCES', width: spark, align: 'left' });
  }
  return columns;
}

function groupRow(g: TopGroup, columns: readonly Column[]): Line {
  const m = g.metrics;
  const size: Style | undefined =
    g.desired > 0 && g.healthy === 0 ? 'red' : g.healthy < g.desired ? 'yellow' : undefined;
  const errorRate = m?.errorRate;
  const cells: Cell[] = [
    { text: `${g.stack}/${g.name}` },
    { text: String(g.desired) },
    { text: String(g.live), style: g.live !== g.desired ? 'yellow' : undefined },
    { text: String(g.healthy), style: size },
    { text: num(m?.rps, formatRps) },
    { text: num(m?.p99Ms, formatMs) },
    {
      text: num(errorRate, (v) => (v * 100).toFixed(1)),
      style: errorRate !== undefined && errorRate >= 0.01 ? 'red' : undefined,
    },
    { text: num(m?.cpu, formatCpu) },
  ];
  const spark = columns[GROUP_NUMBERS.length + 1]?.width ?? 0;
  if (spark > 0) {
    cells.push({ text: sparkline(g.rpsHistory, spark), style: 'cyan' });
    cells.push({ text: sparkline(g.instancesHistory, spark), style: 'green' });
  }
  return row(columns, cells);
}

function decisionRows(decisions: readonly TopDecision[], width: number, now: number): Line[] {
  const change = (d: TopDecision) =>
    d.from !== undefined && d.to !== undefined ? `${String(d.from)}→${String(d.to)}` : shortRef(d.resource);
  const outcome = (d: TopDecision) => OUTCOME_LABEL[d.outcome] ?? d.outcome;
  const widest = (f: (d: TopDecision) => string, cap: number) =>
    Math.min(cap, Math.max(1, ...decisions.map((d) => len(f(d)))));
  const columns: Column[] = [
    { header: 'AGE', width: 4, align: 'right' },
    { header: 'POLICY', width: widest((d) => d.policy, Math.max(12, Math.floor(width * 0.3))), align: 'left' },
    { header: 'ACTION', width: widest((d) => d.action, 10), align: 'left' },
    { header: 'CHANGE', width: widest(change, 14), align: 'left' },
    { header: 'OUTCOME', width: widest(outcome, 8), align: 'left' },
  ];
  const used = columns.reduce((n, c) => n + c.width + 1, 0);
  columns.push({ header: 'REASON', width: Math.max(0, width - used), align: 'left' });
  return decisions.map((d) =>
    row(columns, [
      { text: formatAge(now - d.at), style: 'dim' },
      { text: d.policy },
      { text: d.action },
      { text: change(d), style: 'bold' },
      { text: outcome(d), style: OUTCOME_STYLE[d.outcome] },
      { text: explain(d) },
    ]),
  );
}

/** What a decision line says after the outcome: the rail's or the error's words, else the reason. */
function explain(d: TopDecision): string {
  const text =
    d.outcome === 'pending-approval' && d.approval !== undefined
      ? `awaiting approval ${d.approval}: ${d.reason ?? ''}`
      : d.outcome === 'refused' || d.outcome === 'failed' || d.outcome === 'rejected'
        ? (d.why ?? d.reason ?? '')
        : (d.reason ?? '');
  return text.replace(/\s+/g, ' ').trim();
}

function incidentRows(incidents: readonly TopIncident[], width: number, now: number): Line[] {
  const widest = (f: (i: TopIncident) => string, cap: number) =>
    Math.min(cap, Math.max(1, ...incidents.map((i) => len(f(i)))));
  const columns: Column[] = [
    { header: 'SEVERITY', width: widest((i) => i.severity, 8), align: 'left' },
    { header: 'GROUP', width: widest((i) => i.group, 20), align: 'left' },
    { header: 'AGE', width: 4, align: 'right' },
  ];
  const used = columns.reduce((n, c) => n + c.width + 1, 0);
  columns.push({ header: 'SUMMARY', width: Math.max(0, width - used), align: 'left' });
  return incidents.map((i) =>
    row(columns, [
      { text: i.severity, style: SEVERITY_STYLE[i.severity] ?? 'yellow' },
      { text: i.group },
      { text: formatAge(now - i.openedAt), style: 'dim' },
      { text: `${i.title} (${i.id}${i.acknowledgedBy === undefined ? '' : `, acknowledged by ${i.acknowledgedBy}`})` },
    ]),
  );
}

/** A section's body: its rows, or one line saying why there are none. */
interface Body {
  readonly rows: readonly Line[];
  readonly empty: string;
}

/**
 * Rows per section for `budget` rows in all: each gets up to SECTION_MIN_ROWS first, then groups
 * take what they need, then incidents, then decisions. A section always gets at least one row
 * (its empty-state line, or its first row) when the budget allows.
 */
export function allocateRows(wants: readonly [number, number, number], budget: number): [number, number, number] {
  const got: [number, number, number] = [0, 0, 0];
  let left = Math.max(0, budget);
  const give = (i: number, upTo: number) => {
    const n = Math.min(Math.max(0, upTo - got[i]!), left);
    got[i] = got[i]! + n;
    left -= n;
  };
  for (let i = 0; i < 3; i++) give(i, 1);
  for (let i = 0; i < 3; i++) give(i, Math.min(wants[i]!, SECTION_MIN_ROWS));
  for (const i of [0, 2, 1]) give(i, wants[i]!);
  return got;
}

function sectionLines(body: Body, rows: number): Line[] {
  if (rows <= 0) return [];
  if (body.rows.length === 0) return [[{ text: body.empty, style: 'dim' }]];
  if (body.rows.length <= rows) return [...body.rows];
  const shown = body.rows.slice(0, rows - 1);
  return [...shown, [{ text: `… ${body.rows.length - shown.length} more`, style: 'dim' }]];
}

function unavailableBody(why: string): Body {
  return { rows: [], empty: `unavailable: ${why}` };
}

/**
 * Renders one frame: a two-line header (server, clock, events per second, consumer lag, cost rate,
 * or the error of the latest refresh), the group table, recent decisions and open incidents.
 * Lines are cut to `width`, the frame to `height` lines; no trailing newline.
 */
export function renderTop(snapshot: TopSnapshot, options: RenderOptions): string {
  const width = Math.max(1, Math.floor(options.width));
  const height = Math.max(1, Math.floor(options.height));
  const { now } = options;
  const missing = snapshot.unavailable ?? {};
  // Before the first successful refresh there is nothing to say "no groups" about yet.
  const none = (empty: string) =>
    snapshot.updatedAt !== undefined ? empty : snapshot.error === undefined ? 'loading…' : 'no data yet';
  const columns = groupColumns(snapshot.groups, width);
  const groups: Body =
    missing.groups !== undefined
      ? unavailableBody(missing.groups)
      : {
          rows: snapshot.groups.map((g) => groupRow(g, columns)),
          empty: none('no groups: apply a Stack (homeostat apply -f stack.yaml)'),
        };
  const decisions: Body =
    missing.decisions !== undefined
      ? unavailableBody(missing.decisions)
      : { rows: decisionRows(snapshot.decisions, width, now), empty: none('no decisions yet') };
  const incidents: Body =
    missing.incidents !== undefined
      ? unavailableBody(missing.incidents)
      : { rows: incidentRows(snapshot.incidents, width, now), empty: none('no open incidents') };
  const top = header(snapshot, options);
  const groupHeader: Line = [
    {
      text: paint(
        row(
          columns,
          columns.map((c) => ({ text: c.header })),
        ),
        false,
      ),
      style: 'bold',
    },
  ];
  const decisionsTitle: Line = [
    { text: 'DECISIONS', style: 'bold' },
    { text: `  recent automated actions, newest first`, style: 'dim' },
  ];
  const incidentsTitle: Line = [
    { text: 'INCIDENTS', style: 'bold' },
    { text: '  open', style: 'dim' },
  ];
  // Fixed lines: header, blank, group header, blank, decisions title, blank, incidents title.
  const fixed = top.length + 6;
  const [g, d, i] = allocateRows(
    [Math.max(1, groups.rows.length), Math.max(1, decisions.rows.length), Math.max(1, incidents.rows.length)],
    height - fixed,
  );
  const lines: Line[] = [
    ...top,
    [],
    groupHeader,
    ...sectionLines(groups, g),
    [],
    decisionsTitle,
    ...sectionLines(decisions, d),
    [],
    incidentsTitle,
    ...sectionLines(incidents, i),
  ];
  return lines
    .slice(0, height)
    .map((line) => paint(fit(line, width), options.color))
    .join('\n');
}
