/**
 * @module The `exec` action: runs a command from the server's allowlist (no shell) with arguments
 * taken from the event, the payload as JSON on stdin, a timeout, and its output captured.
 */
import { isAbsolute } from 'node:path';
import { DeliveryErrorCode } from '../../core/delivery/codes.js';
import { type Interpolation, compileInterpolation } from '../../core/delivery/transform.js';
import { type Problem, pointerSegment } from '../../core/errors.js';
import type { DeliveryOutcome, DeliveryRequest, Target } from '../../ports/target.js';
import {
  createOptionCache,
  elapsed,
  failure,
  invalidOptions,
  isRecord,
  type Options,
  unknownKeys,
} from '../options.js';
import { EXEC_ALLOW_KEY, type ExecAllowEntry, type ResolvedExecConfig } from './config.js';
import { type RunResult, runProgram } from './run.js';

export type { ExecAllowEntry, ResolvedExecConfig } from './config.js';

export interface ExecTargetDeps {
  readonly exec: ResolvedExecConfig;
  /** The base environment of commands. Default process.env. */
  readonly env?: NodeJS.ProcessEnv;
}

const KEYS = ['command', 'args', 'env', 'cwd'] as const;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const MAX_ARGS = 1_000;
/** EX_TEMPFAIL (sysexits.h): "try again later". */
const EX_TEMPFAIL = 75;
/** sysexits.h codes 64-78 report usage, data or configuration errors: retrying will not help. */
const SYSEXITS = { min: 64, max: 78 } as const;
const PERMANENT_SPAWN_ERRORS = new Set(['ENOENT', 'EACCES', 'ENOTDIR', 'EISDIR', 'ENOEXEC']);

interface ExecOptions {
  readonly name: string;
  readonly entry: ExecAllowEntry;
  readonly args: readonly Interpolation[];
  readonly env: readonly (readonly [string, Interpolation])[];
  readonly cwd?: string;
}

function checkCommand(command: unknown, allow: ResolvedExecConfig['allow']): Problem[] {
  const names = Object.keys(allow);
  if (names.length === 0) {
    return [
      {
        pointer: '/command',
        message: `exec is disabled on this server: no commands are allowlisted; add one under ${EXEC_ALLOW_KEY} in the server config (e.g. ${EXEC_ALLOW_KEY}.terraform.command: /usr/bin/terraform) and restart`,
      },
    ];
  }
  if (typeof command !== 'string' || command === '') {
    return [{ pointer: '/command', message: `is required: the name of an allowlisted command (${names.join(', ')})` }];
  }
  if (!Object.hasOwn(allow, command)) {
    return [
      {
        pointer: '/command',
        message: `'${command}' is not allowlisted; use one of ${names.join(', ')}, or add it under ${EXEC_ALLOW_KEY} in the server config`,
      },
    ];
  }
  return [];
}

function checkTemplated(value: unknown, pointer: string): Problem[] {
  if (typeof value !== 'string')
    return [{ pointer, message: 'must be a string (placeholders like <$.data.host> allowed)' }];
  const compiled = compileInterpolation(value);
  return typeof compiled === 'string' ? [{ pointer, message: compiled }] : [];
}

function checkArgsEnv(args: unknown, env: unknown): Problem[] {
  const problems: Problem[] = [];
  if (args !== undefined && !Array.isArray(args))
    problems.push({ pointer: '/args', message: 'must be a list of strings' });
  else if (Array.isArray(args) && args.length > MAX_ARGS)
    problems.push({ pointer: '/args', message: `at most ${MAX_ARGS}` });
  else if (Array.isArray(args)) args.forEach((a, i) => problems.push(...checkTemplated(a, `/args/${i}`)));
  if (env !== undefined && !isRecord(env))
    problems.push({ pointer: '/env', message: 'must be a map of names to strings' });
  for (const [k, v] of Object.entries(isRecord(env) ? env : {})) {
    const pointer = `/env/${pointerSegment(k)}`;
    if (!ENV_NAME.test(k)) problems.push({ pointer, message: `'${k}' is not an environment variable name` });
    else problems.push(...checkTemplated(v, pointer));
  }
  return problems;
}

function validator(exec: ResolvedExecConfig): (options: Options) => Problem[] {
  return (options) => {
    const problems = [
      ...unknownKeys(options, KEYS),
      ...checkCommand(options.command, exec.allow),
      ...checkArgsEnv(options.args, options.env),
    ];
    const cwd = options.cwd;
    if (cwd !== undefined && (typeof cwd !== 'string' || !isAbsolute(cwd))) {
      problems.push({ pointer: '/cwd', message: 'must be an absolute directory path' });
    }
    return problems;
  };
}

function compiler(exec: ResolvedExecConfig, validate: (o: Options) => Problem[]) {
  return (options: Options): ExecOptions | Problem[] => {
    const problems = validate(options);
    if (problems.length > 0) return problems;
    const name = options.command as string;
    const interp = (v: unknown) => compileInterpolation(v as string) as Interpolation;
    return {
      name,
      entry: exec.allow[name]!,
      args: ((options.args ?? []) as unknown[]).map(interp),
      env: Object.entries((options.env ?? {}) as Record<string, unknown>).map(([k, v]) => [k, interp(v)] as const),
      ...(typeof options.cwd === 'string' ? { cwd: options.cwd } : {}),
    };
  };
}

type Rendered =
  { readonly args: string[]; readonly env: Record<string, string> } | { readonly outcome: DeliveryOutcome };

function render(opts: ExecOptions, payload: unknown): Rendered {
  const text = (i: Interpolation): string | DeliveryOutcome => {
    const r = i.render(payload);
    if (!r.ok) return failure(r.error.code, r.error.message, 'no', r.error.details);
    return typeof r.value === 'string' ? r.value : JSON.stringify(r.value);
  };
  const args: string[] = [];
  for (const a of opts.args) {
    const v = text(a);
    if (typeof v !== 'string') return { outcome: v };
    args.push(v);
  }
  const env: Record<string, string> = {};
  for (const [k, i] of opts.env) {
    const v = text(i);
    if (typeof v !== 'string') return { outcome: v };
    env[k] = v;
  }
  return { args, env };
}

function truncated(buffer: RunResult['stdout']): string {
  return buffer.dropped > 0 ? ` (the first ${buffer.dropped} bytes were dropped; maxOutput keeps the tail)` : '';
}

function lastLines(text: string): string {
  const trimmed = text.trimEnd();
  return trimmed.length > 500 ? `…${trimmed.slice(-500)}` : trimmed;
}

function outcomeOf(opts: ExecOptions, result: RunResult, req: DeliveryRequest, ms: number): DeliveryOutcome {
  const { name } = opts;
  if (result.spawnError) {
    const code = result.spawnError.code ?? 'unknown';
    const retry = PERMANENT_SPAWN_ERRORS.has(code) ? 'no' : 'yes';
    const where = opts.cwd ? ` in ${opts.cwd}` : '';
    const message = `cannot start ${name} (${opts.entry.command}${where}): ${result.spawnError.message}; check ${EXEC_ALLOW_KEY}.${name}.command`;
    return failure(DeliveryErrorCode.EXEC_SPAWN, message, retry, { cause: code });
  }
  const output = {
    exitCode: result.exitCode,
    ms,
    stdout: result.stdout.text(),
    ...(result.stdout.dropped > 0 ? { stdoutDropped: result.stdout.dropped } : {}),
  };
  if (result.exitCode === 0 && !result.stopped) return { ok: true, detail: output };
  const details = {
    ...output,
    signal: result.signal,
    stderr: result.stderr.text(),
    stderrDropped: result.stderr.dropped,
  };
  const tail = lastLines(result.stderr.text());
  const said = tail ? `; stderr${truncated(result.stderr)}: ${tail}` : '';
  if (result.stopped === 'timeout') {
    const message = `${name} did not finish within ${req.target.timeoutMs} ms (the target's timeout) and was stopped${said}`;
    return failure(DeliveryErrorCode.TIMEOUT, message, 'yes', details);
  }
  if (result.stopped === 'shutdown')
    return failure(DeliveryErrorCode.ABORTED, `${name} was stopped by shutdown`, 'yes', details);
  const how = result.exitCode === null ? `was killed by ${result.signal}` : `exited with code ${result.exitCode}`;
  const code = result.exitCode ?? -1;
  const permanent = code >= SYSEXITS.min && code <= SYSEXITS.max && code !== EX_TEMPFAIL;
  return failure(DeliveryErrorCode.EXEC_EXIT, `${name} ${how}${said}`, permanent ? 'no' : 'yes', details);
}

function childEnv(base: NodeJS.ProcessEnv, extra: Record<string, string>, req: DeliveryRequest): NodeJS.ProcessEnv {
  return {
    ...base,
    ...extra,
    HOMEOSTAT_IDEMPOTENCY_KEY: req.idempotencyKey,
    HOMEOSTAT_EVENT_ID: req.record.event.id,
    HOMEOSTAT_EVENT_SOURCE: req.record.event.source,
    HOMEOSTAT_EVENT_TYPE: req.record.event.type,
    HOMEOSTAT_RULE: req.rule,
    HOMEOSTAT_TARGET: req.target.id,
    HOMEOSTAT_ATTEMPT: String(req.attempt),
    HOMEOSTAT_REPLAYED: req.replayed ? 'true' : 'false',
  };
}

/** Creates the exec action for the given allowlist (an empty one rejects every exec target). */
export function createExecTarget(deps: ExecTargetDeps): Target {
  const validate = validator(deps.exec);
  const compile = createOptionCache(compiler(deps.exec, validate));
  const baseEnv = deps.env ?? process.env;
  return {
    action: 'exec',
    validate,
    async deliver(req) {
      const opts = compile(req.target.with);
      if (Array.isArray(opts)) return invalidOptions('exec', opts);
      const rendered = render(opts, req.payload);
      if ('outcome' in rendered) return rendered.outcome;
      const start = performance.now();
      const result = await runProgram({
        command: opts.entry.command,
        args: rendered.args,
        env: childEnv(baseEnv, rendered.env, req),
        ...(opts.cwd ? { cwd: opts.cwd } : {}),
        stdin: JSON.stringify(req.payload ?? null),
        maxOutputBytes: opts.entry.maxOutputBytes,
        timeoutMs: req.target.timeoutMs,
        signal: req.signal,
      });
      return outcomeOf(opts, result, req, elapsed(start));
    },
  };
}
