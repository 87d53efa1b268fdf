/** @module The `homeostat` command line: builds the command tree and turns failures into exit codes. */
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { registerActions } from './actions.js';
import { registerApply } from './apply.js';
import { registerCompliance } from './compliance.js';
import { registerCost } from './cost.js';
import { registerDelete } from './delete.js';
import { registerDemo } from './demo.js';
import { registerDeliveryCommands } from './dlq.js';
import { registerEmit } from './emit.js';
import { registerEvents } from './events.js';
import { registerGet } from './get.js';
import { registerIncidents } from './incidents.js';
import { registerWhy } from './why.js';
import { registerOperations } from './operations.js';
import { examples } from './options.js';
import { ExitCode, exitCodeFor, formatError, note } from './output.js';
import { registerRules } from './rules.js';
import { registerSchemas } from './schemas.js';
import { registerStacks } from './stacks.js';
import { registerTail } from './tail.js';
import { registerTokens } from './tokens.js';
import { registerTop } from './top.js';
import { registerUp } from './up.js';
import { registerWorkflowCommands } from './workflows.js';

/** Commander outcomes that are not failures. */
const CLEAN_EXITS = new Set(['commander.helpDisplayed', 'commander.help', 'commander.version']);

function packageVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
      version?: string;
    };
    return pkg.version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
}

/** Builds the program; settings made here are inherited by every subcommand. */
export function buildProgram(): Command {
  const program = new Command('homeostat')
    .description('Homeostat: events on a durable log, rules that react, a record of what it did and why.')
    .version(packageVersion())
    // Root options only before the subcommand, so `schemas get --version 2` is the subcommand's.
    .enablePositionalOptions()
    .exitOverride()
    .configureOutput({
      outputError: (message, write) => write(`homeostat: ${message.replace(/^error: /, '').trim()} (see --help)\n`),
    })
    .showSuggestionAfterError();
  registerUp(program);
  registerEmit(program);
  registerTail(program);
  registerEvents(program);
  registerSchemas(program);
  registerTokens(program);
  registerApply(program);
  registerGet(program);
  registerDelete(program);
  registerRules(program);
  registerDeliveryCommands(program);
  registerOperations(program);
  registerStacks(program);
  registerWorkflowCommands(program);
  registerCompliance(program);
  registerCost(program);
  registerActions(program);
  registerIncidents(program);
  registerWhy(program);
  registerTop(program);
  registerDemo(program);
  examples(program, [
    'homeostat up --data-dir ./data',
    'homeostat emit --type host.cpu.high --subject web-1 --data \'{"cpu":97}\'',
    'homeostat tail --type host.cpu.high',
    'homeostat events --since 1h --json',
  ]);
  return program;
}

/** Runs the CLI with `process.argv`-style arguments; sets and returns the exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  // A closed pipe (`homeostat events | head`) ends the output, not with a stack trace.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(ExitCode.ok);
  });
  let code: number = ExitCode.ok;
  try {
    await buildProgram().parseAsync([...argv]);
  } catch (err) {
    code = handleError(err);
  }
  process.exitCode = code;
  return code;
}

function handleError(err: unknown): number {
  if (err instanceof CommanderError) {
    // Commander has already printed its message through outputError.
    return CLEAN_EXITS.has(err.code) ? ExitCode.ok : ExitCode.usage;
  }
  // `details.quiet`: the command already said everything (e.g. `rules test` printing "no match").
  if ((err as { details?: { quiet?: unknown } }).details?.quiet !== true) note(formatError(err));
  if (process.env.HOMEOSTAT_DEBUG && err instanceof Error) note(err.stack ?? '');
  return exitCodeFor(err);
}
