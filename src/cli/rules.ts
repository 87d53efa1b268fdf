/**
 * @module `homeostat rules`: `test` (offline: does an event match a pattern, and which part failed;
 * exit 0 match, 1 no match, 2 invalid input, like grep), `enable`, `disable`.
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { ErrorCode, HomeostatError, type Problem } from '../core/errors.js';
import type { MatchExplanation } from '../core/pattern/types.js';
import { testPattern } from '../core/rules/manifest.js';
import { type ManifestDocument, parseManifestText, STDIN_NAME } from './manifest-files.js';
import { type ClientFlags, clientFrom, examples, withClientOptions } from './options.js';
import { ExitCode, note, out, printJsonLine, usageError } from './output.js';

interface TestFlags {
  readonly pattern: string;
  readonly event: string;
  readonly json?: boolean;
}

/** A `--pattern` or `--event` value: the JSON value, and where it came from for messages. */
interface Input {
  readonly flag: '--pattern' | '--event';
  readonly value: unknown;
  /** The file's document, when given as @file. */
  readonly doc?: ManifestDocument;
  /** Where the value sits in that document ('/spec/match' for a Rule manifest). */
  readonly base: string;
}

/** An error that sets the exit code without printing anything more (main skips `details.quiet`). */
export function quietExit(exitCode: ExitCode): HomeostatError {
  return new HomeostatError(ErrorCode.INVALID, `exit ${exitCode}`, { details: { exitCode, quiet: true } });
}

/** Registers `rules` and its subcommands on the program. */
export function registerRules(program: Command): void {
  const rules = program.command('rules').description('test patterns offline; enable and disable rules');
  const test = rules
    .command('test')
    .description('does an event match a pattern? (offline; exit 0 match, 1 no match, 2 invalid input)')
    .requiredOption(
      '--pattern <pattern>',
      'the pattern as JSON text, or @file (JSON or YAML; a Rule manifest uses its spec.match)',
    )
    .requiredOption('--event <event>', 'the event as JSON text, or @file (JSON or YAML; @- reads stdin)')
    .option('--json', 'print {"matched", "failures"} as JSON');
  test.action(runTest);
  examples(test, [
    'homeostat rules test --pattern \'{"type":["host.cpu.high"]}\' --event @event.json',
    'homeostat rules test --pattern @examples/rules/log-cpu-high.yaml --event \'{"type":"host.cpu.high"}\'',
  ]);
  for (const [verb, past] of [
    ['enable', 'enabled'],
    ['disable', 'disabled'],
  ] as const) {
    const cmd = rules.command(`${verb} <name>`).description(`${verb} a rule (takes effect without a restart)`);
    withClientOptions(cmd, { json: false }).action(async (name: string, flags: ClientFlags) => {
      await clientFrom(flags).request('POST', `/v1/rules/${encodeURIComponent(name)}/${verb}`);
      out(`rule/${name} ${past}`);
    });
  }
}

function readFileInput(flag: Input['flag'], path: string): Input {
  let text: string;
  try {
    text = readFileSync(path === '-' ? 0 : path, 'utf8');
  } catch (cause) {
    throw usageError(`${flag}: cannot read '${path}': ${(cause as Error).message}`, cause);
  }
  const { documents, errors } = parseManifestText(text, path === '-' ? STDIN_NAME : path);
  const first = errors[0];
  if (first) throw usageError(`${flag}: ${first.where}: ${first.message}`);
  const doc = documents[0];
  if (!doc || documents.length > 1) {
    throw usageError(`${flag}: '${path}' must hold exactly one document (it has ${documents.length})`);
  }
  const value = doc.value as { kind?: unknown; spec?: { match?: unknown } } | null;
  if (flag === '--pattern' && value?.kind === 'Rule')
    return { flag, value: value.spec?.match, doc, base: '/spec/match' };
  return { flag, value: doc.value, doc, base: '' };
}

function readInput(flag: Input['flag'], raw: string): Input {
  if (raw.startsWith('@')) return readFileInput(flag, raw.slice(1));
  try {
    return { flag, value: JSON.parse(raw) as unknown, base: '' };
  } catch (cause) {
    throw usageError(`${flag}: not valid JSON (${(cause as Error).message}); give JSON text or @file`, cause);
  }
}

/** `file:line:col: /pointer` for a file, `--flag /pointer` for inline text; `rel` is relative to the input. */
function where(input: Input, rel: string): string {
  const pointer = input.base + rel || '/';
  return input.doc ? `${input.doc.locate(input.base + rel)}: ${pointer}` : `${input.flag} ${pointer}`;
}

function reportInvalid(problems: readonly Problem[], pattern: Input, event: Input): void {
  for (const p of problems) {
    const input = p.pointer.startsWith('/pattern') ? pattern : event;
    const rel = p.pointer.slice(input === pattern ? '/pattern'.length : '/event'.length);
    note(`${where(input, rel)}: ${p.message}`);
  }
}

function explain(pattern: Input, event: Input): MatchExplanation {
  try {
    return testPattern(pattern.value, event.value);
  } catch (err) {
    if (!(err instanceof HomeostatError) || err.problems.length === 0) throw err;
    reportInvalid(err.problems, pattern, event);
    throw usageError(`invalid ${err.problems.length === 1 ? 'input' : 'inputs'} (see above); nothing was tested`);
  }
}

async function runTest(flags: TestFlags): Promise<void> {
  const pattern = readInput('--pattern', flags.pattern);
  const event = readInput('--event', flags.event);
  const result = explain(pattern, event);
  if (flags.json) {
    printJsonLine(result);
  } else {
    out(result.matched ? 'match' : 'no match');
    for (const f of result.failures) {
      out(`  ${where(pattern, f.pointer.slice('/pattern'.length))} (${f.path}): ${f.reason}`);
    }
  }
  if (!result.matched) throw quietExit(ExitCode.failure);
}
