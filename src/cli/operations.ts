/** @module `homeostat backtest` and `homeostat replay`: operator runs over a time range of the log. */
import type { Command } from 'commander';
import { ErrorCode, HomeostatError } from '../core/errors.js';
import type { BacktestReport } from '../engine/backtest.js';
import type { ReplayReport } from '../engine/replay.js';
import { reportProblems } from './apply.js';
import { type ManifestDocument, readManifestFiles } from './manifest-files.js';
import { type ClientFlags, clientFrom, examples, parseIntFlag, withClientOptions } from './options.js';
import { note, out, printJson, usageError } from './output.js';

interface RangeFlags extends ClientFlags {
  readonly since: string;
  readonly until?: string;
}

interface BacktestFlags extends RangeFlags {
  readonly file: string;
  readonly samples?: string;
}

interface ReplayFlags extends RangeFlags {
  readonly rule?: string;
}

export function registerOperations(program: Command): void {
  const backtest = program
    .command('backtest')
    .description('run a rule (not enabled, not stored) over past events: what it would have matched and done')
    .requiredOption('-f, --file <file>', 'the Rule manifest (YAML or JSON; - for stdin)')
    .requiredOption('--since <time>', 'start: a duration ago (24h) or an RFC 3339 time')
    .option('--until <time>', 'end (default: now)')
    .option('--samples <n>', 'matches to show in full (default 20)');
  withClientOptions(backtest).action(runBacktest);
  examples(backtest, ['homeostat backtest -f rules/page-on-5xx.yaml --since 24h']);

  const replay = program
    .command('replay')
    .description('re-deliver past events to a rule (or every enabled rule), marked as replayed')
    .requiredOption('--since <time>', 'start: a duration ago (1h) or an RFC 3339 time')
    .option('--until <time>', 'end (default: now)')
    .option('--rule <name>', 'only this rule (default: every enabled rule)');
  withClientOptions(replay).action(runReplay);
  examples(replay, ['homeostat replay --since 2h --rule page-on-5xx']);
}

function readRule(file: string): ManifestDocument {
  const { documents, errors } = readManifestFiles([file]);
  if (errors.length > 0) throw usageError(errors.map((e) => `${e.where}: ${e.message}`).join('; '));
  if (documents.length !== 1) throw usageError(`${file}: give exactly one Rule manifest (found ${documents.length})`);
  return documents[0]!;
}

/**
 * A rule the server rejected: each problem printed as `file:line:col: pointer: reason` (like
 * `apply`), then one summary error. Other errors (e.g. a bad --since) pass through unchanged.
 */
function locateRuleProblems(doc: ManifestDocument, err: unknown): unknown {
  if (!(err instanceof HomeostatError) || err.code !== ErrorCode.INVALID || err.problems.length === 0) return err;
  if (!err.problems.every((p) => p.pointer === '' || p.pointer.startsWith('/'))) return err;
  reportProblems(doc, err, 'rule');
  return new HomeostatError(ErrorCode.INVALID, `${doc.file}: the rule is invalid (see above); nothing was run`);
}

async function runBacktest(flags: BacktestFlags): Promise<void> {
  const doc = readRule(flags.file);
  const samples = parseIntFlag('--samples', flags.samples, 0, 1000);
  let report: BacktestReport;
  try {
    report = await streamBacktest(flags, doc.value, samples);
  } catch (err) {
    throw locateRuleProblems(doc, err);
  }
  if (flags.json) printJson(report);
  else printBacktest(report);
}

/** Runs the backtest with progress lines on stderr; resolves with the report. */
async function streamBacktest(
  flags: BacktestFlags,
  manifest: unknown,
  samples: number | undefined,
): Promise<BacktestReport> {
  const res = await clientFrom(flags).open(
    '/v1/backtest',
    {
      query: { since: flags.since, until: flags.until, samples },
      body: manifest,
      headers: { accept: 'application/x-ndjson' },
    },
    'POST',
  );
  let report: BacktestReport | undefined;
  const progress = process.stderr.isTTY;
  for await (const line of lines(res)) {
    const msg = JSON.parse(line) as {
      progress?: { scanned: number; total: number; matched: number };
      report?: BacktestReport;
      error?: { code: string; message: string; problems?: { pointer: string; message: string }[] };
    };
    if (msg.progress) {
      const p = msg.progress;
      const pct = p.total > 0 ? Math.min(100, Math.floor((100 * p.scanned) / p.total)) : 100;
      const text = `scanned ${p.scanned.toLocaleString('en-US')} of ~${p.total.toLocaleString('en-US')} events (${pct}%), ${p.matched} matched`;
      if (progress) process.stderr.write(`\r${text}`);
      else note(text);
    } else if (msg.report) report = msg.report;
    else if (msg.error) {
      if (progress) process.stderr.write('\n');
      throw new HomeostatError(msg.error.code as ErrorCode, msg.error.message, { problems: msg.error.problems });
    }
  }
  if (progress) process.stderr.write('\n');
  if (!report) throw new HomeostatError(ErrorCode.UNAVAILABLE, 'the server ended the backtest without a report');
  return report;
}

async function* lines(res: Response): AsyncGenerator<string> {
  if (!res.body) return;
  const decoder = new TextDecoder();
  let buffer = '';
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    buffer += decoder.decode(chunk, { stream: true });
    let nl: number;
    while ((nl = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      if (line.trim()) yield line;
    }
  }
  if (buffer.trim()) yield buffer;
}

function printBacktest(r: BacktestReport): void {
  out(
    `rule ${r.rule}: ${r.matched} of ${r.scanned} events matched between ${r.since} and ${r.until} (${r.elapsedMs} ms)`,
  );
  if (r.condition) out(`  condition ${r.condition.kind}: would have fired ${r.condition.fired} time(s)`);
  for (const t of r.targets) {
    const errors =
      t.transformErrors > 0 ? `; ${t.transformErrors} would fail their input transform (${t.firstTransformError})` : '';
    out(`  target ${t.target}: would ${t.would} ${t.deliveries} time(s)${errors}`);
  }
  if (r.samples.length > 0) out(`first ${r.samples.length} match(es):`);
  for (const s of r.samples) {
    out(`  ${s.appendedAt}  offset ${s.offset}  ${s.type}  ${s.source} ${s.id}`);
    for (const [target, payload] of Object.entries(s.payloads))
      out(`    ${target} ← ${JSON.stringify(payload).slice(0, 200)}`);
  }
  out('nothing was executed');
}

async function runReplay(flags: ReplayFlags): Promise<void> {
  const { body } = await clientFrom(flags).request<ReplayReport>('POST', '/v1/replay', {
    query: { since: flags.since, until: flags.until, rule: flags.rule },
  });
  if (flags.json) printJson(body);
  else {
    out(
      `replay ${body.replayId}: ${body.scanned} events scanned, ${body.matched} matched, ${body.submitted} deliveries queued (marked replayed)`,
    );
    out('follow them with `homeostat trace <event-id>`; failures land in `homeostat dlq list`');
  }
}
