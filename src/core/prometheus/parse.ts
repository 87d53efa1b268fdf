/** @module Parses the Prometheus text exposition format 0.0.4 into metric families and samples. */
import { ErrorCode, HomeostatError, type Problem } from '../errors.js';

/** The metric types a `# TYPE` line can declare; samples without one are `untyped`. */
export const MetricType = {
  counter: 'counter',
  gauge: 'gauge',
  histogram: 'histogram',
  summary: 'summary',
  untyped: 'untyped',
} as const;
export type MetricType = (typeof MetricType)[keyof typeof MetricType];

/** One sample line: `name{labels} value [timestamp]`. */
export interface PrometheusSample {
  /** The sample's own name, e.g. `http_request_duration_seconds_bucket`. */
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  /** May be NaN, +Infinity or -Infinity. */
  readonly value: number;
  /** Milliseconds since the epoch, when the line carries one. */
  readonly timestampMs?: number;
  /** 1-based line number in the exposition. */
  readonly line: number;
}

/** A metric family: the samples that share a `# TYPE` / `# HELP` name (or one untyped name). */
export interface MetricFamily {
  readonly name: string;
  readonly type: MetricType;
  readonly help?: string;
  readonly samples: readonly PrometheusSample[];
}

/** A parsed exposition: families in order of first appearance, and every sample in line order. */
export interface Exposition {
  readonly families: readonly MetricFamily[];
  readonly samples: readonly PrometheusSample[];
}

export interface ParseOptions {
  /** Prefixed to problem pointers (`<origin>:<line>:<column>`), e.g. the scraped URL. */
  readonly origin?: string;
  /** Problems collected before giving up. Default 20. */
  readonly maxProblems?: number;
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*/;
const FLOAT = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const INFINITY = /^([+-]?)inf(?:inity)?$/i;
const TIMESTAMP = /^-?\d{1,16}$/;
const TYPES: ReadonlySet<string> = new Set(Object.values(MetricType));
const SUFFIXES = { histogram: ['_bucket', '_sum', '_count'], summary: ['_sum', '_count'] } as const;

/** Parses a sample value: a decimal float, `NaN`, `+Inf`, `-Inf` (case-insensitive); undefined if invalid. */
export function parseSampleValue(text: string): number | undefined {
  if (FLOAT.test(text)) return Number(text);
  if (/^nan$/i.test(text)) return Number.NaN;
  const inf = INFINITY.exec(text);
  if (inf) return inf[1] === '-' ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY;
  return undefined;
}

/** A line-level failure; `col` is 1-based. */
class LineError extends Error {
  constructor(
    readonly col: number,
    message: string,
  ) {
    super(message);
  }
}

interface MutableFamily {
  name: string;
  type: MetricType;
  help?: string;
  samples: PrometheusSample[];
  typed: boolean;
}

/** A cursor over one line. */
class Cursor {
  pos = 0;
  constructor(readonly text: string) {}
  get done(): boolean {
    return this.pos >= this.text.length;
  }
  peek(): string {
    return this.text[this.pos] ?? '';
  }
  skipBlanks(): boolean {
    const start = this.pos;
    while (this.peek() === ' ' || this.peek() === '\t') this.pos++;
    return this.pos > start;
  }
  match(re: RegExp): string | undefined {
    const m = re.exec(this.text.slice(this.pos));
    if (!m) return undefined;
    this.pos += m[0].length;
    return m[0];
  }
  /** The next blank-separated token ('' at the end). */
  token(): string {
    const start = this.pos;
    while (!this.done && this.peek() !== ' ' && this.peek() !== '\t') this.pos++;
    return this.text.slice(start, this.pos);
  }
  fail(message: string, at = this.pos): never {
    throw new LineError(at + 1, message);
  }
}

function readLabelValue(c: Cursor): string {
  const open = c.pos - 1;
  let out = '';
  for (;;) {
    if (c.done) c.fail('unterminated label value; close it with "', open);
    const ch = c.peek();
    c.pos++;
    if (ch === '"') return out;
    if (ch !== '\\') {
      out += ch;
      continue;
    }
    const esc = c.peek();
    if (esc === '\\' || esc === '"') out += esc;
    else if (esc === 'n') out += '\n';
    else c.fail(`invalid escape '\\${esc}' in a label value; only \\\\, \\" and \\n are allowed`, c.pos - 1);
    c.pos++;
  }
}

function readLabels(c: Cursor): Record<string, string> {
  const labels: Record<string, string> = {};
  c.pos++; // '{'
  for (;;) {
    c.skipBlanks();
    if (c.peek() === '}') break;
    const at = c.pos;
    const name = c.match(LABEL_NAME) ?? c.fail('expected a label name ([a-zA-Z_][a-zA-Z0-9_]*) or }');
    if (Object.hasOwn(labels, name)) c.fail(`label '${name}' appears twice`, at);
    c.skipBlanks();
    if (c.peek() !== '=') c.fail(`expected '=' after label name '${name}'`);
    c.pos++;
    c.skipBlanks();
    if (c.peek() !== '"') c.fail(`expected '"' to start the value of label '${name}'`);
    c.pos++;
    labels[name] = readLabelValue(c);
    c.skipBlanks();
    if (c.peek() === ',') c.pos++;
    else if (c.peek() !== '}') c.fail("expected ',' or '}' after a label value");
  }
  c.pos++; // '}'
  return labels;
}

function readSample(text: string, line: number): PrometheusSample {
  const c: Cursor = new Cursor(text);
  c.skipBlanks();
  const name = c.match(METRIC_NAME) ?? c.fail('expected a metric name ([a-zA-Z_:][a-zA-Z0-9_:]*)');
  const blank = c.skipBlanks();
  const hasLabels = c.peek() === '{';
  const labels = hasLabels ? readLabels(c) : {};
  c.skipBlanks();
  if (!hasLabels && !blank && !c.done) c.fail(`unexpected '${c.peek()}' after the metric name`);
  const valueAt = c.pos;
  const valueText = c.token();
  if (valueText === '') c.fail(`missing value for '${name}'`);
  const value = parseSampleValue(valueText);
  if (value === undefined) c.fail(`'${valueText}' is not a number (use e.g. 1, 2.5e-3, NaN, +Inf, -Inf)`, valueAt);
  c.skipBlanks();
  const tsAt = c.pos;
  const ts = c.token();
  c.skipBlanks();
  if (!c.done) c.fail(`unexpected '${c.text.slice(c.pos).trimEnd()}' after the timestamp`);
  if (ts === '') return { name, labels, value, line };
  if (!TIMESTAMP.test(ts)) c.fail(`timestamp '${ts}' is not an integer of milliseconds since the epoch`, tsAt);
  return { name, labels, value, timestampMs: Number(ts), line };
}

function unescapeHelp(text: string): string {
  return text.replace(/\\(\\|n)/g, (_m, ch: string) => (ch === 'n' ? '\n' : '\\'));
}

/** Parses an exposition line by line; families and samples are checked as they come. */
class ExpositionParser {
  readonly families = new Map<string, MutableFamily>();
  readonly order: MutableFamily[] = [];
  readonly samples: PrometheusSample[] = [];
  readonly seen = new Map<string, number>();

  family(name: string): MutableFamily {
    let f = this.families.get(name);
    if (f === undefined) {
      f = { name, type: 'untyped', samples: [], typed: false };
      this.families.set(name, f);
      this.order.push(f);
    }
    return f;
  }

  /** The family a sample belongs to: its own name, or a histogram/summary base name. */
  familyOf(sample: string): MutableFamily {
    const own = this.families.get(sample);
    if (own !== undefined) return own;
    for (const suffix of SUFFIXES.histogram) {
      if (!sample.endsWith(suffix)) continue;
      const base = this.families.get(sample.slice(0, -suffix.length));
      if (base?.type === 'histogram' || (base?.type === 'summary' && suffix !== '_bucket')) return base;
    }
    return this.family(sample);
  }

  comment(c: Cursor): void {
    c.pos++; // '#'
    c.skipBlanks();
    const keyword = c.token();
    if (keyword !== 'HELP' && keyword !== 'TYPE') return;
    c.skipBlanks();
    const nameAt = c.pos;
    const name = c.match(METRIC_NAME) ?? c.fail(`expected a metric name after # ${keyword}`);
    if (!c.done && !c.skipBlanks()) c.fail(`unexpected '${c.peek()}' in the metric name`);
    const f = this.family(name);
    if (keyword === 'HELP') {
      if (f.help !== undefined) c.fail(`a second # HELP for '${name}'`, nameAt);
      f.help = unescapeHelp(c.text.slice(c.pos));
      return;
    }
    this.declareType(c, f, nameAt);
  }

  declareType(c: Cursor, f: MutableFamily, nameAt: number): void {
    const typeAt = c.pos;
    const type = c.token();
    if (!TYPES.has(type)) c.fail(`unknown metric type '${type}'; use ${[...TYPES].join(', ')}`, typeAt);
    if (f.typed) c.fail(`a second # TYPE for '${f.name}'`, nameAt);
    const related = [f.name, ...SUFFIXES.histogram.map((s) => f.name + s)];
    if (related.some((n) => (this.families.get(n)?.samples.length ?? 0) > 0)) {
      c.fail(`# TYPE for '${f.name}' comes after its samples; put it before the first sample`, nameAt);
    }
    c.skipBlanks();
    if (!c.done) c.fail(`unexpected '${c.text.slice(c.pos).trimEnd()}' after the metric type`);
    f.type = type as MetricType;
    f.typed = true;
  }

  sample(text: string, line: number): void {
    const s = readSample(text, line);
    const f = this.familyOf(s.name);
    checkTypedSample(f, s, text);
    const key = seriesId(s.name, s.labels);
    const first = this.seen.get(key);
    if (first !== undefined) throw new LineError(1, `duplicate series ${key} (first on line ${first})`);
    this.seen.set(key, line);
    f.samples.push(s);
    this.samples.push(s);
  }
}

function labelColumn(text: string, label: string): number {
  const at = text.indexOf(`${label}=`, text.indexOf('{'));
  return at < 0 ? 1 : at + 1;
}

/** Histogram buckets need `le`, summary quantiles need `quantile`, both parseable as numbers. */
function checkTypedSample(f: MutableFamily, s: PrometheusSample, text: string): void {
  const need =
    f.type === 'histogram' && s.name === `${f.name}_bucket`
      ? 'le'
      : f.type === 'summary' && s.name === f.name
        ? 'quantile'
        : undefined;
  if (f.type === 'histogram' && s.name === f.name) {
    throw new LineError(1, `histogram '${f.name}' samples must be named ${f.name}_bucket, _sum or _count`);
  }
  if (need === undefined) return;
  const raw = s.labels[need];
  if (raw === undefined) throw new LineError(1, `${f.type} sample '${s.name}' needs a '${need}' label`);
  if (parseSampleValue(raw) === undefined) {
    throw new LineError(labelColumn(text, need), `label ${need}="${raw}" is not a number`);
  }
}

/** The canonical text of a series: `name{a="1",b="2"}` with labels sorted by name. */
export function seriesId(name: string, labels: Readonly<Record<string, string>>): string {
  const keys = Object.keys(labels).sort();
  if (keys.length === 0) return name;
  const body = keys.map((k) => `${k}=${JSON.stringify(labels[k])}`).join(',');
  return `${name}{${body}}`;
}

/**
 * Parses Prometheus text format 0.0.4. Throws an E_INVALID HomeostatError listing every problem
 * (up to `maxProblems`) with `<origin>:<line>:<column>` pointers.
 */
export function parsePrometheusText(text: string, options: ParseOptions = {}): Exposition {
  const p = new ExpositionParser();
  const problems: Problem[] = [];
  const max = options.maxProblems ?? 20;
  const prefix = options.origin === undefined ? 'line ' : `${options.origin}:`;
  const lines = text.split('\n');
  for (let i = 0; i < lines.length && problems.length < max; i++) {
    const raw = lines[i]!;
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    const c: Cursor = new Cursor(line);
    c.skipBlanks();
    if (c.done) continue;
    try {
      if (c.peek() === '#') p.comment(c);
      else p.sample(line, i + 1);
    } catch (err) {
      if (!(err instanceof LineError)) throw err;
      problems.push({ pointer: `${prefix}${i + 1}:${err.col}`, message: err.message });
    }
  }
  if (problems.length > 0) {
    const list = problems.map((q) => `${q.pointer}: ${q.message}`).join('; ');
    throw new HomeostatError(ErrorCode.INVALID, `invalid Prometheus text exposition: ${list}`, { problems });
  }
  return {
    families: p.order.map(({ name, type, help, samples }) =>
      help === undefined ? { name, type, samples } : { name, type, help, samples },
    ),
    samples: p.samples,
  };
}
