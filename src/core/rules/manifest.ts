/** @module Parses and validates `kind: Rule` manifests into a resolved, frozen RuleSpec (pure). */
import { parseWhen } from '../conditions/parse.js';
import type { WhenSpec } from '../conditions/types.js';
import { checkTransform } from '../delivery/transform.js';
import { invalid, type Problem } from '../errors.js';
import { explainPattern, parsePattern } from '../pattern/index.js';
import type { MatchExplanation, Pattern, PatternLimits } from '../pattern/types.js';
import { type ManifestReader, closest, freezeCopy, isRecord, newReader } from './manifest-reader.js';
import {
  type CircuitBreakerPolicy,
  type InputTransform,
  type RateLimit,
  type RetryPolicy,
  RULE_API_VERSION,
  type RuleSpec,
  type SequenceSteps,
  type TargetSpec,
} from './types.js';

/** The manifest kinds the rules API accepts. */
export const ruleManifestKinds = ['Rule'] as const;
export type RuleManifestKind = (typeof ruleManifestKinds)[number];

/** Rule names: lower-case letters, digits, '.' and '-', 1 to 253 characters (as Kubernetes names). */
export const RULE_NAME = /^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?$/;
/** Target names: part of idempotency keys, so short and plain. */
export const TARGET_NAME = /^[a-z0-9-]{1,63}$/;
/** Targets per rule. */
export const MAX_TARGETS = 16;
/** Longest description, in characters. */
export const MAX_DESCRIPTION = 1024;

/** What a rule is validated against: the actions this server has, and the pattern limits. */
export interface RuleValidationContext {
  /**
   * Checks a target's `with` options for `action`; problem pointers are relative to `with`
   * (`/url`). Returns undefined when the action is unknown.
   */
  validateAction(action: string, options: Readonly<Record<string, unknown>>): readonly Problem[] | undefined;
  /** The action names, for "did you mean" and "known actions" hints. */
  readonly knownActions: readonly string[];
  readonly patternLimits?: Partial<PatternLimits>;
}

const TOP_FIELDS = ['apiVersion', 'kind', 'metadata', 'spec'];
const METADATA_FIELDS = ['name', 'description'];
const SPEC_FIELDS = ['enabled', 'description', 'match', 'when', 'targets'];
const TARGET_FIELDS = [
  'name',
  'action',
  'with',
  'input',
  'retry',
  'concurrency',
  'rateLimit',
  'ordered',
  'circuitBreaker',
  'timeout',
];
const MS = { second: 1000, minute: 60_000, hour: 3_600_000, day: 86_400_000 };

/** Defaults of a target's fields (durations in ms), as documented in docs/RULES.md. */
export const TARGET_DEFAULTS = Object.freeze({
  maxAttempts: 8,
  maxAgeMs: 24 * MS.hour,
  initialDelayMs: 100,
  maxDelayMs: 60 * MS.second,
  concurrency: 16,
  orderedConcurrency: 1,
  failureThreshold: 10,
  cooldownMs: 30 * MS.second,
  timeoutMs: 10 * MS.second,
});

/**
 * Validates a `kind: Rule` manifest (parsed JSON or YAML) and resolves it: defaults applied,
 * durations in ms, everything frozen. Every problem is collected with its JSON pointer; throws
 * E_INVALID `invalid rule <name>` listing them all.
 */
export function parseRuleManifest(doc: unknown, ctx: RuleValidationContext): RuleSpec {
  const r = newReader();
  const root = r.object(doc, '', 'a manifest object with apiVersion, kind, metadata and spec');
  if (!root) throw invalid('invalid rule manifest', r.problems);
  r.fields(root, '', TOP_FIELDS);
  const kindOk = readHeader(r, root);
  const meta = readMetadata(r, root.metadata);
  const what = meta.name === undefined ? 'invalid rule manifest' : `invalid rule ${meta.name}`;
  if (!kindOk) throw invalid(what, r.problems);
  const spec = r.object(root.spec, '/spec', 'an object with match and targets');
  if (spec) r.fields(spec, '/spec', SPEC_FIELDS);
  const enabled = spec ? r.boolean(spec.enabled, '/spec/enabled', true) : true;
  const description = spec ? r.text(spec.description, '/spec/description', MAX_DESCRIPTION) : undefined;
  const match = spec ? readMatch(r, spec.match, ctx) : undefined;
  const condition = spec ? readWhen(r, spec.when, ctx) : {};
  const targets = spec ? readTargets(r, spec.targets, ctx) : [];
  if (r.problems.length > 0 || meta.name === undefined || match === undefined) throw invalid(what, r.problems);
  return Object.freeze({
    name: meta.name,
    ...optional('description', description ?? meta.description),
    enabled,
    match,
    ...optional('when', condition.when),
    ...optional('steps', condition.steps),
    targets: Object.freeze(targets),
  });
}

function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}

/** Checks apiVersion and kind; false when the kind is not a Rule (the rest would be noise). */
function readHeader(r: ManifestReader, root: Record<string, unknown>): boolean {
  if (root.apiVersion !== RULE_API_VERSION) {
    const got = root.apiVersion === undefined ? 'required' : `${JSON.stringify(root.apiVersion)} is not supported`;
    r.add('/apiVersion', `${got}; use apiVersion: ${RULE_API_VERSION}`);
  }
  if (ruleManifestKinds.includes(root.kind as RuleManifestKind)) return true;
  const got = root.kind === undefined ? 'required' : `${JSON.stringify(root.kind)} is not a supported kind`;
  r.add('/kind', `${got}; supported kinds: ${ruleManifestKinds.join(', ')}`);
  return false;
}

/**
 * Reads `metadata` (name, optional description) of a manifest named like a rule; `noun` and
 * `example` make the message fit the kind (`workflow`, `replace-instance`).
 */
export function readMetadata(
  r: ManifestReader,
  value: unknown,
  noun = 'rule',
  example = 'page-on-5xx',
): { name?: string; description?: string } {
  const meta = r.object(value, '/metadata', 'an object with name (and optional description)');
  if (!meta) return {};
  r.fields(meta, '/metadata', METADATA_FIELDS);
  const description = r.text(meta.description, '/metadata/description', MAX_DESCRIPTION);
  const name = meta.name;
  if (typeof name === 'string' && RULE_NAME.test(name)) return { name, description };
  const why = name === undefined ? 'required' : `${JSON.stringify(name)} is not a valid ${noun} name`;
  r.add(
    '/metadata/name',
    `${why}; use 1 to 253 lower-case letters, digits, '.' or '-', starting and ending with a letter or digit (e.g. ${example})`,
  );
  return { description };
}

function readMatch(r: ManifestReader, value: unknown, ctx: RuleValidationContext): Pattern | undefined {
  if (value === undefined) {
    r.add('/spec/match', 'required: an event pattern, e.g. { type: ["host.cpu.high"] }');
    return undefined;
  }
  return readPattern(r, value, '/spec/match', ctx);
}

function readPattern(r: ManifestReader, value: unknown, at: string, ctx: RuleValidationContext): Pattern | undefined {
  return collect(r, () => parsePattern(value, { pointer: at, limits: ctx.patternLimits }));
}

/** Runs a parser that throws E_INVALID with problems; adds them to the reader instead. */
function collect<T>(r: ManifestReader, parse: () => T): T | undefined {
  try {
    return parse();
  } catch (err) {
    const problems = (err as { problems?: readonly Problem[] }).problems;
    if (!Array.isArray(problems) || problems.length === 0) throw err;
    r.problems.push(...problems);
    return undefined;
  }
}

/**
 * Reads `spec.when` (core/conditions parseWhen). A sequence's `first` and `then` are event
 * patterns here: they are parsed as such and replaced by the step ids 'first' and 'then'.
 */
function readWhen(
  r: ManifestReader,
  value: unknown,
  ctx: RuleValidationContext,
): { when?: WhenSpec; steps?: SequenceSteps } {
  if (value === undefined) return {};
  let input = value;
  let steps: SequenceSteps | undefined;
  if (isRecord(value) && isRecord(value.sequence)) {
    const seq = value.sequence;
    const first = readStep(r, seq.first, '/spec/when/sequence/first', ctx);
    const then = readStep(r, seq.then, '/spec/when/sequence/then', ctx);
    input = { ...value, sequence: { ...seq, first: 'first', then: 'then' } };
    if (first && then) steps = Object.freeze({ first, then });
  }
  const when = collect(r, () => parseWhen(input, '/spec/when'));
  return when === undefined ? {} : { when, ...optional('steps', steps) };
}

function readStep(r: ManifestReader, value: unknown, at: string, ctx: RuleValidationContext): Pattern | undefined {
  const jsonText = typeof value === 'string' && value.trimStart().startsWith('{');
  if (!isRecord(value) && !jsonText) {
    const got = value === undefined ? 'required' : `${JSON.stringify(value)} is not an event pattern`;
    r.add(at, `${got}; give an event pattern tested on the events match matched, e.g. { type: [deploy.started] }`);
    return undefined;
  }
  return readPattern(r, value, at, ctx);
}

function readTargets(r: ManifestReader, value: unknown, ctx: RuleValidationContext): TargetSpec[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) {
    r.add('/spec/targets', 'must be a list of targets, each with an action (e.g. - action: log)');
    return [];
  }
  if (value.length > MAX_TARGETS) {
    r.add('/spec/targets', `has ${value.length} targets; at most ${MAX_TARGETS} (split the rule in two)`);
  }
  const targets = value.map((t, i) => readTarget(r, t, `/spec/targets/${i}`, i, ctx));
  const seen = new Set<string>();
  targets.forEach((t, i) => {
    if (!t) return;
    if (seen.has(t.id)) {
      r.add(`/spec/targets/${i}/name`, `'${t.id}' is used by an earlier target; target names must be unique`);
    }
    seen.add(t.id);
  });
  return targets.filter((t): t is TargetSpec => t !== undefined);
}

function readTarget(
  r: ManifestReader,
  value: unknown,
  at: string,
  index: number,
  ctx: RuleValidationContext,
): TargetSpec | undefined {
  const t = r.object(value, at, 'a target object with an action (e.g. { action: log })');
  if (!t) return undefined;
  r.fields(t, at, TARGET_FIELDS);
  const action = readAction(r, t, at, ctx);
  const id = readTargetName(r, t.name, `${at}/name`, `${action ?? 'target'}-${index}`);
  const input = readInput(r, t.input, `${at}/input`);
  const ordered = r.boolean(t.ordered, `${at}/ordered`, false);
  const fallback = ordered ? TARGET_DEFAULTS.orderedConcurrency : TARGET_DEFAULTS.concurrency;
  const target: TargetSpec = {
    id,
    action: action ?? '',
    with: freezeCopy(isRecord(t.with) ? t.with : {}),
    ...optional('input', input),
    retry: readRetry(r, t.retry, `${at}/retry`),
    concurrency: r.integer(t.concurrency, `${at}/concurrency`, 1, 1024, fallback),
    ...optional('rateLimit', readRateLimit(r, t.rateLimit, `${at}/rateLimit`)),
    ordered,
    circuitBreaker: readBreaker(r, t.circuitBreaker, `${at}/circuitBreaker`),
    timeoutMs: r.duration(t.timeout, `${at}/timeout`, 1, 10 * MS.minute, TARGET_DEFAULTS.timeoutMs),
  };
  return action === undefined ? undefined : Object.freeze(target);
}

function readAction(
  r: ManifestReader,
  t: Record<string, unknown>,
  at: string,
  ctx: RuleValidationContext,
): string | undefined {
  const known = ctx.knownActions.join(', ') || '(none configured)';
  if (typeof t.action !== 'string' || t.action === '') {
    r.add(`${at}/action`, `required: the action to run; known actions: ${known}`);
    return undefined;
  }
  const options = t.with ?? {};
  if (!isRecord(options)) {
    r.add(`${at}/with`, `must be an object of options for the ${t.action} action`);
    return ctx.validateAction(t.action, {}) === undefined ? unknownAction(r, t.action, at, ctx) : t.action;
  }
  const problems = ctx.validateAction(t.action, options);
  if (problems === undefined) return unknownAction(r, t.action, at, ctx);
  for (const p of problems) r.add(`${at}/with${p.pointer}`, p.message);
  return t.action;
}

function unknownAction(r: ManifestReader, action: string, at: string, ctx: RuleValidationContext): undefined {
  const hint = closest(action, ctx.knownActions);
  const known = ctx.knownActions.join(', ') || '(none configured)';
  const mean = hint ? ` did you mean '${hint}'?` : '';
  r.add(`${at}/action`, `unknown action '${action}';${mean} known actions: ${known}`);
  return undefined;
}

function readTargetName(r: ManifestReader, value: unknown, at: string, fallback: string): string {
  if (value === undefined) return fallback;
  if (typeof value === 'string' && TARGET_NAME.test(value)) return value;
  r.add(at, `${JSON.stringify(value)} is not a valid target name; use 1 to 63 lower-case letters, digits or '-'`);
  return fallback;
}

function readInput(r: ManifestReader, value: unknown, at: string): InputTransform | undefined {
  if (value === undefined) return undefined;
  const problems = checkTransform(value);
  for (const p of problems) r.add(`${at}${p.pointer}`, p.message);
  if (problems.length > 0 || !isRecord(value)) return undefined;
  const { path, paths, template } = value as InputTransform;
  return freezeCopy({ ...optional('path', path), ...optional('paths', paths), ...optional('template', template) });
}

function readRetry(r: ManifestReader, value: unknown, at: string): RetryPolicy {
  const o = r.optionalObject(value, at, 'an object with maxAttempts, maxAge and backoff');
  r.fields(o, at, ['maxAttempts', 'maxAge', 'backoff']);
  const backoff = r.optionalObject(o.backoff, `${at}/backoff`, 'an object with initial and max');
  r.fields(backoff, `${at}/backoff`, ['initial', 'max']);
  const initialDelayMs = r.duration(
    backoff.initial,
    `${at}/backoff/initial`,
    1,
    MS.hour,
    TARGET_DEFAULTS.initialDelayMs,
  );
  const maxDelayMs = r.duration(backoff.max, `${at}/backoff/max`, 1, MS.day, TARGET_DEFAULTS.maxDelayMs);
  if (initialDelayMs > maxDelayMs) {
    r.add(`${at}/backoff/initial`, `must not exceed backoff.max (${r.formatDuration(maxDelayMs)})`);
  }
  return Object.freeze({
    maxAttempts: r.integer(o.maxAttempts, `${at}/maxAttempts`, 1, 1000, TARGET_DEFAULTS.maxAttempts),
    maxAgeMs: r.duration(o.maxAge, `${at}/maxAge`, MS.second, 30 * MS.day, TARGET_DEFAULTS.maxAgeMs),
    initialDelayMs,
    maxDelayMs,
  });
}

function readRateLimit(r: ManifestReader, value: unknown, at: string): RateLimit | undefined {
  if (value === undefined) return undefined;
  const o = r.object(value, at, 'an object with perSecond (and optional burst)');
  if (!o) return undefined;
  r.fields(o, at, ['perSecond', 'burst']);
  const perSecond = o.perSecond;
  if (typeof perSecond !== 'number' || !(perSecond > 0) || perSecond > 1_000_000) {
    r.add(
      `${at}/perSecond`,
      'required: a number of deliveries per second above 0 and at most 1000000 (e.g. 0.5 or 100)',
    );
    return undefined;
  }
  const burst = r.integer(o.burst, `${at}/burst`, 1, 1_000_000, Math.max(1, Math.ceil(perSecond)));
  return Object.freeze({ perSecond, burst });
}

function readBreaker(r: ManifestReader, value: unknown, at: string): CircuitBreakerPolicy {
  const o = r.optionalObject(value, at, 'an object with failures and cooldown');
  r.fields(o, at, ['failures', 'cooldown']);
  return Object.freeze({
    failureThreshold: r.integer(o.failures, `${at}/failures`, 0, 1_000_000, TARGET_DEFAULTS.failureThreshold),
    cooldownMs: r.duration(o.cooldown, `${at}/cooldown`, 1, MS.day, TARGET_DEFAULTS.cooldownMs),
  });
}

/**
 * The check behind `rules test` (API and CLI): parses `pattern` (problem pointers under
 * `/pattern`) and requires `event` to be a JSON object (`/event`); throws one E_INVALID listing
 * both, else explains the match.
 */
export function testPattern(pattern: unknown, event: unknown, limits?: Partial<PatternLimits>): MatchExplanation {
  const problems: Problem[] = [];
  let parsed: Pattern | undefined;
  try {
    parsed = parsePattern(pattern, { pointer: '/pattern', limits });
  } catch (err) {
    const list = (err as { problems?: readonly Problem[] }).problems;
    if (!Array.isArray(list) || list.length === 0) throw err;
    problems.push(...list);
  }
  if (!isRecord(event)) {
    const got = event === undefined ? 'required' : `got ${Array.isArray(event) ? 'an array' : JSON.stringify(event)}`;
    problems.push({ pointer: '/event', message: `${got}; the event must be a JSON object (a CloudEvent)` });
  }
  if (problems.length > 0 || !parsed) throw invalid('invalid rules test', problems);
  return explainPattern(parsed, event);
}
