/** @module The exec action's server configuration: the allowlist of commands (`actions.exec`). */
import { parseBytes } from '../../core/durations.js';
import { ErrorCode, type Problem, invalid } from '../../core/errors.js';

/** As users write it under `actions.exec` in the config file. */
export interface ExecConfig {
  /** Commands rules may run, by the name rules use: `{ terraform: { command: /usr/bin/terraform } }`. */
  allow?: Record<string, { command: string; maxOutput?: string | number }>;
}

export interface ExecAllowEntry {
  /** Absolute path of the program; it runs without a shell or PATH lookup. */
  readonly command: string;
  /** Bytes of stdout and of stderr kept (the tail). Default 64 KiB. */
  readonly maxOutputBytes: number;
}

export interface ResolvedExecConfig {
  /** Empty by default: exec is disabled until commands are allowlisted. */
  readonly allow: Readonly<Record<string, ExecAllowEntry>>;
}

/** The config key users edit, named in error messages. */
export const EXEC_ALLOW_KEY = 'actions.exec.allow';
export const DEFAULT_MAX_OUTPUT = '64KiB';
const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

/** JSON Schema of `actions.exec` (shape only; resolveExecConfig checks the values). */
export const EXEC_CONFIG_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  properties: {
    allow: {
      type: 'object',
      additionalProperties: {
        type: 'object',
        additionalProperties: false,
        required: ['command'],
        properties: { command: { type: 'string', minLength: 1 }, maxOutput: { type: ['string', 'number'] } },
      },
    },
  },
} as const;

function checkEntry(name: string, command: string): Problem[] {
  const pointer = `${EXEC_ALLOW_KEY}.${name}`;
  const problems: Problem[] = [];
  if (!NAME.test(name)) {
    problems.push({ pointer, message: `'${name}' is not a valid name; use letters, digits, '_', '.', '-'` });
  }
  if (!command.startsWith('/')) {
    problems.push({
      pointer: `${pointer}.command`,
      message: `'${command}' is not an absolute path; give the full path (e.g. /usr/bin/${command}); commands run without a shell or PATH lookup`,
    });
  }
  return problems;
}

/** Validates and normalises `actions.exec` (throws E_CONFIG_INVALID naming each bad entry). */
export function resolveExecConfig(raw: ExecConfig | undefined): ResolvedExecConfig {
  const allow: Record<string, ExecAllowEntry> = {};
  const problems: Problem[] = [];
  for (const [name, entry] of Object.entries(raw?.allow ?? {})) {
    problems.push(...checkEntry(name, entry.command));
    const field = `${EXEC_ALLOW_KEY}.${name}.maxOutput`;
    try {
      const maxOutputBytes = parseBytes(entry.maxOutput ?? DEFAULT_MAX_OUTPUT, field);
      allow[name] = Object.freeze({ command: entry.command, maxOutputBytes });
    } catch (err) {
      problems.push({ pointer: field, message: (err as Error).message });
    }
  }
  if (problems.length > 0) throw invalid('invalid configuration', problems, ErrorCode.CONFIG_INVALID);
  return Object.freeze({ allow: Object.freeze(allow) });
}
