/** @module CLI output: exit codes, the one-line error format, JSON and table printing. */
import { ErrorCode, HomeostatError, type Problem } from '../core/errors.js';

/** Process exit codes: 1 for request and domain failures, 2 for usage errors. */
export const ExitCode = { ok: 0, failure: 1, usage: 2 } as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** A usage error (bad flag, bad JSON in a flag, unreadable input file): exit code 2. */
export function usageError(message: string, cause?: unknown): HomeostatError {
  return new HomeostatError(ErrorCode.INVALID, message, { cause, details: { exitCode: ExitCode.usage } });
}

/** The exit code for an error thrown by a command. */
export function exitCodeFor(err: unknown): ExitCode {
  const code = (err as { details?: { exitCode?: unknown } } | undefined)?.details?.exitCode;
  return code === ExitCode.usage ? ExitCode.usage : ExitCode.failure;
}

/** Joins problems as `pointer: message; ...`, leaving out those the message already names. */
export function describeProblems(message: string, problems: readonly Problem[]): string {
  return problems
    .map((p) => `${p.pointer || '/'}: ${p.message}`)
    .filter((text) => !message.includes(text))
    .join('; ');
}

/** The single stderr line for an error: `homeostat: <reason> (<problems>)`. */
export function formatError(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  const problems = (err as { problems?: readonly Problem[] } | undefined)?.problems ?? [];
  const extra = Array.isArray(problems) ? describeProblems(message, problems) : '';
  const line = extra ? `${message} (${extra})` : message;
  return `homeostat: ${line.replace(/\s*\n\s*/g, ' ')}`;
}

/** Writes one line to stdout. */
export function out(line: string): void {
  process.stdout.write(`${line}\n`);
}

/** Writes one line to stderr. */
export function note(line: string): void {
  process.stderr.write(`${line}\n`);
}

/** Prints a value as one compact JSON line. */
export function printJsonLine(value: unknown): void {
  out(JSON.stringify(value));
}

/** Prints a value as indented JSON. */
export function printJson(value: unknown): void {
  out(JSON.stringify(value, null, 2));
}

/** Prints rows as aligned columns under a header; the last column is not padded. */
export function printTable(headers: readonly string[], rows: readonly (readonly string[])[]): void {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const render = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  out(render(headers));
  for (const row of rows) out(render(row));
}

/** Formats a timestamp given as epoch ms or a string; '-' when absent. */
export function formatTime(value: unknown): string {
  if (typeof value === 'number') return new Date(value).toISOString();
  return typeof value === 'string' && value ? value : '-';
}

/** A one-line excerpt of a value as JSON, at most `max` characters. */
export function excerpt(value: unknown, max = 60): string {
  if (value === undefined) return '';
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  const flat = text.replace(/\s+/g, ' ');
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}
