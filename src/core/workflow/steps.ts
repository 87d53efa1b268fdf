/** @module Parses the steps of a `kind: Workflow` manifest (pure); every problem gets its JSON pointer. */
import type { Problem } from '../errors.js';
import { parsePattern } from '../pattern/index.js';
import { closest, type ManifestReader, isRecord } from '../rules/manifest-reader.js';
import type { RuleValidationContext } from '../rules/manifest.js';
import { compileExpression, type Expression, type ExprScope } from './expr.js';
import { compileTemplate, dynamicPointers, type JsonTemplate, withPlaceholders } from './template.js';
import type { ActionCall, StepRetry, StepSpec } from './types.js';

/** Step names: part of idempotency keys and of `steps.<name>` in expressions. */
export const STEP_NAME = /^[A-Za-z_][A-Za-z0-9_-]{0,62}$/;
/** Steps in one workflow, nested ones included. */
export const MAX_STEPS = 500;
/** Nesting of if/then/else and parallel. */
export const MAX_DEPTH = 16;
export const MAX_BRANCHES = 32;

const MS = { second: 1000, minute: 60_000, hour: 3_600_000, day: 86_400_000 };

/** Defaults of step fields (durations in ms), as documented in docs/WORKFLOWS.md. */
export const STEP_DEFAULTS = Object.freeze({
  maxAttempts: 3,
  initialDelayMs: MS.second,
  maxDelayMs: MS.minute,
  timeoutMs: 30 * MS.second,
});

const KINDS = ['action', 'then', 'wait', 'waitForEvent', 'parallel', 'approval'] as const;
const STEP_FIELDS = [
  'name',
  'description',
  'if',
  'then',
  'else',
  'action',
  'with',
  'payload',
  'retry',
  'timeout',
  'compensate',
  'continueOnError',
  'wait',
  'waitForEvent',
  'parallel',
  'approval',
];
const ACTION_ONLY = ['with', 'payload', 'retry', 'timeout'];
const CALL_FIELDS = ['action', 'with', 'payload', 'retry', 'timeout'];

/** What step parsing needs besides the reader: actions, and the names expressions may use. */
export interface StepContext {
  readonly actions: RuleValidationContext;
  readonly scope: ExprScope;
  readonly byName: Map<string, StepSpec>;
  /** Names seen so far (steps with problems included), for the uniqueness check. */
  readonly seen: Set<string>;
  count: number;
}

/** Every step name in the raw manifest (document order), for `steps.<name>` checks. */
export function collectStepNames(steps: unknown, at = '/spec/steps'): string[] {
  if (!Array.isArray(steps)) return [];
  return steps.flatMap((s, i) => {
    if (!isRecord(s)) return [];
    const here = `${at}/${i}`;
    const own = typeof s.name === 'string' ? [s.name] : [defaultName(here)];
    const nested = [
      ...collectStepNames(s.then, `${here}/then`),
      ...collectStepNames(s.else, `${here}/else`),
      ...(Array.isArray(s.parallel) ? s.parallel.flatMap((b, j) => collectStepNames(b, `${here}/parallel/${j}`)) : []),
    ];
    return [...own, ...nested];
  });
}

/** `step-2-then-0` for the step at `/spec/steps/2/then/0`. */
export function defaultName(pointer: string): string {
  return `step-${pointer.replace(/^\/spec\/steps\//, '').replaceAll('/', '-')}`;
}

export function readSteps(r: ManifestReader, value: unknown, at: string, ctx: StepContext, depth: number): StepSpec[] {
  if (!Array.isArray(value) || value.length === 0) {
    r.add(at, 'must be a non-empty list of steps, e.g. - { name: notify, action: log }');
    return [];
  }
  if (depth > MAX_DEPTH) {
    r.add(at, `steps are nested more than ${MAX_DEPTH} levels deep; split the workflow`);
    return [];
  }
  return value.map((s, i) => readStep(r, s, `${at}/${i}`, ctx, depth)).filter((s): s is StepSpec => s !== undefined);
}

function readStep(
  r: ManifestReader,
  value: unknown,
  at: string,
  ctx: StepContext,
  depth: number,
): StepSpec | undefined {
  const s = r.object(
    value,
    at,
    'a step object with a name and one of action, if/then, wait, waitForEvent, parallel, approval',
  );
  if (!s) return undefined;
  r.fields(s, at, STEP_FIELDS);
  if (++ctx.count === MAX_STEPS + 1) r.add(at, `a workflow has at most ${MAX_STEPS} steps; split it`);
  const name = readName(r, s.name, at, ctx);
  const kind = readKind(r, s, at);
  if (kind !== 'action')
    for (const f of ACTION_ONLY)
      if (s[f] !== undefined) r.add(`${at}/${f}`, `only for action steps (a step with action:)`);
  if (s.else !== undefined && s.then === undefined)
    r.add(`${at}/else`, 'needs if and then: else is the branch taken when if is false');
  const guard = kind !== 'then' && s.if !== undefined ? readExpr(r, s.if, `${at}/if`, ctx) : undefined;
  const base = {
    name,
    pointer: at,
    ...(guard ? { when: guard } : {}),
    continueOnError: r.boolean(s.continueOnError, `${at}/continueOnError`, false),
    ...(s.compensate === undefined ? {} : optionalCall(readCall(r, s.compensate, `${at}/compensate`, ctx))),
  };
  const step = kind === undefined ? undefined : readKindFields(r, s, at, ctx, depth, kind, base);
  if (step) ctx.byName.set(name, step);
  return step;
}

function optionalCall(call: ActionCall | undefined): { compensate?: ActionCall } {
  return call ? { compensate: call } : {};
}

type Base = Pick<StepSpec, 'name' | 'pointer' | 'when' | 'continueOnError' | 'compensate'>;

function readKindFields(
  r: ManifestReader,
  s: Record<string, unknown>,
  at: string,
  ctx: StepContext,
  depth: number,
  kind: (typeof KINDS)[number],
  base: Base,
): StepSpec | undefined {
  switch (kind) {
    case 'action': {
      const call = readCall(r, s, at, ctx);
      return call && { ...base, kind: 'action', call };
    }
    case 'then': {
      const condition = s.if === undefined ? undefined : readExpr(r, s.if, `${at}/if`, ctx);
      if (s.if === undefined) r.add(`${at}/if`, 'required with then: a CEL condition, e.g. "input.replicas > 3"');
      const then = readSteps(r, s.then, `${at}/then`, ctx, depth + 1);
      const otherwise = s.else === undefined ? [] : readSteps(r, s.else, `${at}/else`, ctx, depth + 1);
      return condition && { ...base, kind: 'branch', condition, then, else: otherwise };
    }
    case 'wait':
      return { ...base, kind: 'wait', durationMs: r.duration(s.wait, `${at}/wait`, 1, 30 * MS.day, MS.second) };
    case 'waitForEvent':
      return readWaitForEvent(r, s.waitForEvent, `${at}/waitForEvent`, ctx, base);
    case 'parallel':
      return readParallel(r, s.parallel, `${at}/parallel`, ctx, depth, base);
    case 'approval':
      return readApproval(r, s.approval, `${at}/approval`, ctx, base);
  }
}

function readName(r: ManifestReader, value: unknown, at: string, ctx: StepContext): string {
  const name = value === undefined ? defaultName(at) : value;
  if (typeof name !== 'string' || !STEP_NAME.test(name)) {
    r.add(
      `${at}/name`,
      `${JSON.stringify(value)} is not a valid step name; use a letter or '_' then up to 62 letters, digits, '_' or '-' (e.g. drain_node)`,
    );
    return defaultName(at);
  }
  if (ctx.seen.has(name))
    r.add(`${at}/name`, `'${name}' is used by an earlier step; step names must be unique in the workflow`);
  ctx.seen.add(name);
  return name;
}

function readKind(r: ManifestReader, s: Record<string, unknown>, at: string): (typeof KINDS)[number] | undefined {
  const present = KINDS.filter((k) => s[k] !== undefined);
  if (present.length === 1) return present[0];
  const what = 'one of action, if/then, wait, waitForEvent, parallel, approval';
  if (present.length === 0) r.add(at, `a step needs ${what}`);
  else
    r.add(`${at}/${present[1]}`, `a step has exactly ${what}; this one also has ${present[0]} (split it in two steps)`);
  return undefined;
}

export function readExpr(r: ManifestReader, value: unknown, at: string, ctx: StepContext): Expression | undefined {
  if (typeof value === 'boolean') value = String(value);
  if (typeof value !== 'string') {
    r.add(at, 'must be a CEL expression as a string, e.g. "steps.check.output.status == 200"');
    return undefined;
  }
  const source = value.trim().replace(/^\$\{([\s\S]*)\}$/, '$1');
  const compiled = compileExpression(source, ctx.scope);
  if (Array.isArray(compiled)) {
    for (const m of compiled) r.add(at, m);
    return undefined;
  }
  return compiled;
}

export function readTemplate(
  r: ManifestReader,
  value: unknown,
  at: string,
  ctx: StepContext,
): JsonTemplate | undefined {
  const { template, problems } = compileTemplate(value, at, ctx.scope);
  r.problems.push(...problems);
  return template;
}

function readRetry(r: ManifestReader, value: unknown, at: string): StepRetry {
  const o = r.optionalObject(value, at, 'an object with maxAttempts, initialDelay and maxDelay');
  r.fields(o, at, ['maxAttempts', 'initialDelay', 'maxDelay']);
  const initialDelayMs = r.duration(o.initialDelay, `${at}/initialDelay`, 1, MS.hour, STEP_DEFAULTS.initialDelayMs);
  const maxDelayMs = r.duration(
    o.maxDelay,
    `${at}/maxDelay`,
    1,
    MS.day,
    Math.max(STEP_DEFAULTS.maxDelayMs, initialDelayMs),
  );
  if (initialDelayMs > maxDelayMs)
    r.add(`${at}/initialDelay`, `must not exceed maxDelay (${r.formatDuration(maxDelayMs)})`);
  return Object.freeze({
    maxAttempts: r.integer(o.maxAttempts, `${at}/maxAttempts`, 1, 100, STEP_DEFAULTS.maxAttempts),
    initialDelayMs,
    maxDelayMs,
  });
}

/** Reads `action`, `with`, `payload`, `retry`, `timeout` (a step's own call, or its `compensate`). */
function readCall(r: ManifestReader, value: unknown, at: string, ctx: StepContext): ActionCall | undefined {
  const o = r.object(value, at, 'an object with an action (e.g. { action: log, with: { message: undo } })');
  if (!o) return undefined;
  if (at.endsWith('/compensate')) r.fields(o, at, CALL_FIELDS);
  const action = readAction(r, o, at, ctx.actions);
  const withTemplate = readTemplate(r, o.with ?? {}, `${at}/with`, ctx);
  const payload = o.payload === undefined ? undefined : readTemplate(r, o.payload, `${at}/payload`, ctx);
  const retry = readRetry(r, o.retry, `${at}/retry`);
  const timeoutMs = r.duration(o.timeout, `${at}/timeout`, 1, MS.day, STEP_DEFAULTS.timeoutMs);
  if (action === undefined || withTemplate === undefined) return undefined;
  return Object.freeze({ action, with: withTemplate, ...(payload ? { payload } : {}), retry, timeoutMs });
}

function readAction(
  r: ManifestReader,
  o: Record<string, unknown>,
  at: string,
  ctx: RuleValidationContext,
): string | undefined {
  const known = ctx.knownActions.join(', ') || '(none configured)';
  if (typeof o.action !== 'string' || o.action === '') {
    r.add(`${at}/action`, `required: the action to run; known actions: ${known}`);
    return undefined;
  }
  const options = o.with ?? {};
  if (!isRecord(options)) {
    r.add(`${at}/with`, `must be an object of options for the ${o.action} action`);
    return undefined;
  }
  // Strings holding ${...} are only known at run time: check the rest, and those again when the step runs.
  const dynamic = dynamicPointers(options);
  const problems = ctx.validateAction(o.action, withPlaceholders(options, 'placeholder') as Record<string, unknown>);
  if (problems === undefined) {
    const hint = closest(o.action, ctx.knownActions);
    r.add(
      `${at}/action`,
      `unknown action '${o.action}';${hint ? ` did you mean '${hint}'?` : ''} known actions: ${known}`,
    );
    return undefined;
  }
  for (const p of problems) {
    if (dynamic.some((d) => p.pointer === d || p.pointer.startsWith(`${d}/`))) continue;
    r.add(`${at}/with${p.pointer}`, p.message);
  }
  return o.action;
}

function readWaitForEvent(
  r: ManifestReader,
  value: unknown,
  at: string,
  ctx: StepContext,
  base: Base,
): StepSpec | undefined {
  const o = r.object(value, at, 'an object with match (an event pattern) and an optional timeout');
  if (!o) return undefined;
  r.fields(o, at, ['match', 'timeout', 'onTimeout', 'since']);
  const match = readMatch(r, o.match, `${at}/match`, ctx);
  const timeoutMs =
    o.timeout === undefined ? undefined : r.duration(o.timeout, `${at}/timeout`, 1, 365 * MS.day, MS.hour);
  const onTimeout = readChoice(r, o.onTimeout, `${at}/onTimeout`, ['fail', 'continue'] as const);
  const since = readChoice(r, o.since, `${at}/since`, ['step', 'run'] as const);
  if (o.onTimeout !== undefined && timeoutMs === undefined) r.add(`${at}/onTimeout`, 'needs a timeout');
  if (!match) return undefined;
  return { ...base, kind: 'waitForEvent', match, ...(timeoutMs === undefined ? {} : { timeoutMs }), onTimeout, since };
}

function readChoice<T extends string>(r: ManifestReader, value: unknown, at: string, allowed: readonly T[]): T {
  if (value === undefined) return allowed[0]!;
  if (allowed.includes(value as T)) return value as T;
  r.add(at, `must be one of ${allowed.join(', ')} (default ${allowed[0]}), not ${JSON.stringify(value)}`);
  return allowed[0]!;
}

function readMatch(r: ManifestReader, value: unknown, at: string, ctx: StepContext): JsonTemplate | undefined {
  if (value === undefined) {
    r.add(at, 'required: an event pattern, e.g. { type: ["infra.instance.ready"], subject: ["${ input.instance }"] }');
    return undefined;
  }
  const dynamic = dynamicPointers(value);
  try {
    parsePattern(withPlaceholders(value, 'placeholder'), { pointer: at, limits: ctx.actions.patternLimits });
  } catch (err) {
    const problems = (err as { problems?: readonly Problem[] }).problems;
    if (!Array.isArray(problems)) throw err;
    const fixed = problems.filter((p) => !dynamic.some((d) => p.pointer.startsWith(`${at}${d}`)));
    r.problems.push(...fixed);
    if (fixed.length > 0) return undefined;
  }
  return readTemplate(r, value, at, ctx);
}

function readParallel(
  r: ManifestReader,
  value: unknown,
  at: string,
  ctx: StepContext,
  depth: number,
  base: Base,
): StepSpec | undefined {
  if (!Array.isArray(value) || value.length === 0) {
    r.add(at, 'must be a list of branches, each a list of steps: parallel: [[...steps], [...steps]]');
    return undefined;
  }
  if (value.length > MAX_BRANCHES) r.add(at, `has ${value.length} branches; at most ${MAX_BRANCHES}`);
  const branches = value.map((b, i) => readSteps(r, b, `${at}/${i}`, ctx, depth + 1));
  return { ...base, kind: 'parallel', branches };
}

function readApproval(
  r: ManifestReader,
  value: unknown,
  at: string,
  ctx: StepContext,
  base: Base,
): StepSpec | undefined {
  const o =
    typeof value === 'string'
      ? { summary: value }
      : r.object(value, at, 'an object with a summary and an optional timeout');
  if (!o) return undefined;
  r.fields(o, at, ['summary', 'timeout']);
  if (typeof o.summary !== 'string' || o.summary.trim() === '') {
    r.add(
      `${at}/summary`,
      'required: one line telling the approver what happens if approved, e.g. "Replace ${ input.instance }?"',
    );
    return undefined;
  }
  const summary = readTemplate(r, o.summary, typeof value === 'string' ? at : `${at}/summary`, ctx);
  const timeoutMs =
    o.timeout === undefined ? undefined : r.duration(o.timeout, `${at}/timeout`, 1, 365 * MS.day, MS.hour);
  return summary && { ...base, kind: 'approval', summary, ...(timeoutMs === undefined ? {} : { timeoutMs }) };
}
