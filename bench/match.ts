/**
 * @module `npm run bench:match`: pattern matching throughput on the ruler-bench groups.
 *
 * For every group of ../shared/ruler-bench/patterns: events/second (a) over already-parsed events
 * and (b) from raw JSON lines to matches, asserting per-rule counts against expected-counts.json
 * (groups without published counts are checked against the naive matcher over every event);
 * the naive reference matcher and json-rules-engine on a sample of the same events, as ratios;
 * then events/second against 10 ... 100,000 rules. Options (environment): BENCH_PASSES (3),
 * BENCH_SAMPLE (events for the naive and json-rules-engine runs, 5,000), BENCH_GROUPS (comma
 * list of group names), BENCH_SCALING=0 to skip the rule-count section.
 */
import { type Matcher, matchPattern } from '../src/core/pattern/index.js';
import { machineLines } from './machine.js';
import { expectedCounts, loadLines } from './match/data.js';
import { loadGroups, type RuleGroup } from './match/groups.js';
import { buildEngine, runEngine } from './match/json-rules-engine.js';
import { createMatcher } from '../src/core/pattern/index.js';
import { type ScalingSet, scalingMatcher } from './match/scaling.js';

/** event-ruler 2.0.1 (Java) on this kind of machine, raw JSON lines (../shared/ruler-bench/README.md). */
const JAVA: Readonly<Record<string, number>> = {
  EXACT: 441_000,
  WILDCARD: 337_000,
  PREFIX: 448_000,
  SUFFIX: 429_000,
  EQUALS_IGNORE_CASE: 396_000,
  NUMERIC: 249_000,
  ANYTHING_BUT: 260_000,
  COMPLEX_ARRAYS: 53_000,
  PARTIAL_COMBO: 85_000,
  COMBO: 33_000,
};

const PASSES = Number(process.env.BENCH_PASSES ?? 3);
const SAMPLE = Number(process.env.BENCH_SAMPLE ?? 5_000);
const ONLY = process.env.BENCH_GROUPS?.split(',').map((s) => s.trim().toUpperCase());

const say = (line: string) => process.stdout.write(`${line}\n`);
const rate = (n: number | undefined) => (n === undefined ? '—' : Math.round(n).toLocaleString('en-US'));
const ratio = (a: number | undefined, b: number | undefined) =>
  a === undefined || !b ? '—' : `${(a / b).toFixed(2)}×`;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Runs `pass` PASSES times; the median events/second and the counts of the last pass. */
function timed(events: number, pass: () => number[]): { rate: number; counts: number[] } {
  const rates: number[] = [];
  let counts: number[] = [];
  for (let i = 0; i < PASSES; i++) {
    const t0 = process.hrtime.bigint();
    counts = pass();
    rates.push(events / (Number(process.hrtime.bigint() - t0) / 1e9));
  }
  return { rate: median(rates), counts };
}

function countWith<T>(
  matcher: Matcher<number>,
  inputs: readonly T[],
  rules: number,
  fn: (m: Matcher<number>, x: T) => number[],
) {
  return () => {
    const counts = new Array<number>(rules).fill(0);
    for (const x of inputs) for (const id of fn(matcher, x)) counts[id]!++;
    return counts;
  };
}

function naiveCounts(group: RuleGroup, events: readonly unknown[]): number[] {
  return group.rules.map((r) => events.reduce<number>((n, e) => n + (matchPattern(r.pattern, e) ? 1 : 0), 0));
}

interface Row {
  group: string;
  rules: number;
  parsed: number;
  raw: number;
  naive: number;
  jre?: number;
  jreNote?: string;
  counts: string;
}

async function runGroup(
  group: RuleGroup,
  parsed: unknown[],
  lines: string[],
  expected?: readonly number[],
): Promise<Row> {
  const matcher = createMatcher<number>();
  group.rules.forEach((r, i) => matcher.set(i, r.pattern));
  const n = group.rules.length;
  const a = timed(
    parsed.length,
    countWith(matcher, parsed, n, (m, e) => m.match(e)),
  );
  const b = timed(
    lines.length,
    countWith(matcher, lines, n, (m, l) => m.matchJson(l)),
  );
  const want = expected ?? naiveCounts(group, parsed);
  const same = (c: number[]) => c.length === want.length && c.every((x, i) => x === want[i]);
  const sample = parsed.slice(0, SAMPLE);
  const t0 = performance.now();
  const naiveSample = naiveCounts(group, sample);
  const naive = sample.length / ((performance.now() - t0) / 1000);
  const compiledSample = countWith(matcher, sample, n, (m, e) => m.match(e))();
  const counts = [
    same(a.counts) ? 'ok' : `(a) ${JSON.stringify(a.counts)}`,
    same(b.counts) ? '' : `(b) ${JSON.stringify(b.counts)}`,
    naiveSample.every((c, i) => c === compiledSample[i]) ? '' : 'naive disagrees on the sample',
  ].filter(Boolean);
  const row: Row = { group: group.name, rules: n, parsed: a.rate, raw: b.rate, naive, counts: counts.join('; ') };
  if (!same(a.counts) || !same(b.counts)) row.counts += ` expected ${JSON.stringify(want)}`;
  if (!expected) row.counts += ' (no published counts: checked against the naive matcher)';
  const engine = buildEngine(group);
  if (typeof engine === 'string') row.jreNote = engine;
  else {
    const t1 = performance.now();
    const jreCounts = await runEngine(
      engine,
      sample,
      group.rules.map((r) => r.name),
    );
    row.jre = sample.length / ((performance.now() - t1) / 1000);
    if (!jreCounts.every((c, i) => c === naiveSample[i])) row.jreNote = `counts differ: ${JSON.stringify(jreCounts)}`;
  }
  return row;
}

function table(head: string[], rows: string[][]): void {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  say(line(head));
  for (const r of rows) say(line(r));
}

function scaling(parsed: unknown[], set: ScalingSet): { sizes: number[]; rates: number[] } {
  const sizes = [10, 1_000, 10_000, 100_000];
  const events = parsed.slice(0, 50_000);
  const rates: number[] = [];
  const what =
    set === 'cannot-match'
      ? '10 rules that match, the others share values with events but cannot match'
      : 'every rule drawn from a real event: matches grow with the rule count';
  say(`\nrule-count scaling, ${set} (${what}; parsed events, 50,000 per pass):`);
  const rows: string[][] = [];
  for (const size of sizes) {
    const t0 = performance.now();
    const matcher = scalingMatcher(parsed, size, set);
    const build = performance.now() - t0;
    let matches = 0;
    const r = timed(events.length, () => {
      matches = 0;
      for (const e of events) matches += matcher.match(e).length;
      return [];
    });
    rates.push(r.rate);
    rows.push([
      rate(size),
      rate(r.rate),
      (1e6 / r.rate).toFixed(2),
      ratio(rates[0], r.rate),
      rate(matches),
      `${build.toFixed(0)} ms`,
    ]);
  }
  table(['rules', 'events/s', 'µs/event', 'cost vs 10', 'matches/pass', 'compile'], rows);
  return { sizes, rates };
}

async function main(): Promise<void> {
  say('Homeostat pattern matching benchmark');
  say(`command:   npm run bench:match (BENCH_PASSES=${PASSES} BENCH_SAMPLE=${SAMPLE})`);
  for (const line of machineLines()) say(line);
  const expected = expectedCounts();
  const lines = loadLines(expected, say);
  const t0 = performance.now();
  const parsed = lines.map((l) => JSON.parse(l) as unknown);
  const parseRate = lines.length / ((performance.now() - t0) / 1000);
  say(
    `data:      ${rate(lines.length)} events (citylots2 synthetic, sha256 verified); JSON.parse alone: ${rate(parseRate)} events/s`,
  );
  say('(a) = matching already-parsed events; (b) = raw JSON lines to matches; median of passes over every event\n');
  const rows: Row[] = [];
  for (const group of loadGroups()) {
    if (ONLY && !ONLY.includes(group.name)) continue;
    process.stderr.write(`  running ${group.name} ...\n`);
    rows.push(await runGroup(group, parsed, lines, expected.groups[group.name]));
  }
  table(
    [
      'group',
      'rules',
      '(a) ev/s',
      '(b) ev/s',
      'Java (b)',
      '(a)/Java',
      '(b)/Java',
      'naive',
      '(a)/naive',
      'json-rules-engine',
      '(a)/jre',
      'counts',
    ],
    rows.map((r) => [
      r.group,
      String(r.rules),
      rate(r.parsed),
      rate(r.raw),
      rate(JAVA[r.group]),
      ratio(r.parsed, JAVA[r.group]),
      ratio(r.raw, JAVA[r.group]),
      rate(r.naive),
      ratio(r.parsed, r.naive),
      r.jre === undefined ? 'n/a' : rate(r.jre),
      ratio(r.parsed, r.jre),
      r.counts,
    ]),
  );
  for (const r of rows) if (r.jreNote) say(`  json-rules-engine on ${r.group}: ${r.jreNote}`);
  const failed = rows.filter((r) => !r.counts.startsWith('ok'));
  let scaleNote = '';
  if (process.env.BENCH_SCALING !== '0') {
    const s = scaling(parsed, 'cannot-match');
    const drawn = scaling(parsed, 'drawn');
    const last = (x: { rates: number[] }) => ratio(x.rates[0], x.rates[x.rates.length - 1]);
    scaleNote = `cost at 100,000 rules = ${last(s)} the cost at 10 when the added rules cannot match (aim: within 2×); ${last(drawn)} when they are drawn from events and match ever more`;
  }
  say('\naims:');
  const withJava = rows.filter((r) => JAVA[r.group]);
  const beat3 = withJava.filter((r) => r.parsed >= 3 * JAVA[r.group]!).map((r) => r.group);
  say(
    `  (a) ≥ 3× event-ruler: ${beat3.length}/${withJava.length} groups (${
      withJava
        .filter((r) => !beat3.includes(r.group))
        .map((r) => r.group)
        .join(', ') || 'all met'
    } below)`,
  );
  say(`  (b) vs event-ruler: ${withJava.map((r) => `${r.group} ${ratio(r.raw, JAVA[r.group])}`).join(', ')}`);
  if (scaleNote) say(`  ${scaleNote}`);
  if (failed.length > 0) {
    say(`\nCOUNT MISMATCH in ${failed.map((r) => r.group).join(', ')}`);
    process.exitCode = 1;
  }
}

await main();
