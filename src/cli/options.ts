/** @module Flags shared by client commands (--url, --token, --json) and flag value parsers. */
import { type Command, Option } from 'commander';
import { createClient, type HomeostatClient } from './client.js';
import { usageError } from './output.js';

export const DEFAULT_URL = 'http://127.0.0.1:8420';

/** Options every client command receives. */
export interface ClientFlags {
  readonly url: string;
  readonly token?: string;
  readonly json?: boolean;
}

/** Adds --url and --token, and --json when the command prints data. */
export function withClientOptions(cmd: Command, { json = true } = {}): Command {
  cmd.addOption(new Option('--url <url>', 'Homeostat server URL').env('HOMEOSTAT_URL').default(DEFAULT_URL));
  cmd.addOption(new Option('--token <token>', 'bearer token for the API').env('HOMEOSTAT_TOKEN'));
  if (json) cmd.option('--json', 'print JSON instead of text');
  return cmd;
}

/** The client for a command's --url and --token. */
export function clientFrom(flags: ClientFlags): HomeostatClient {
  return createClient({ url: flags.url, token: flags.token });
}

/** Commander reducer for repeatable flags: `--type a --type b`. */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** Parses a non-negative integer flag, or throws a usage error naming the flag. */
export function parseIntFlag(
  flag: string,
  raw: string | undefined,
  min = 0,
  max = Number.MAX_SAFE_INTEGER,
): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || n < min || n > max) {
    throw usageError(`${flag}: '${raw}' is not an integer from ${min} to ${max}`);
  }
  return n;
}

/** Appends an "Examples:" section to a command's help. */
export function examples(cmd: Command, lines: readonly string[]): Command {
  return cmd.addHelpText('after', `\nExamples:\n${lines.map((l) => `  $ ${l}`).join('\n')}\n`);
}
