/**
 * @module Input transforms (EventBridge-style): pick values from the event by JSON path and build
 * the payload from a template with `<name>` placeholders; also the `<$.path>` interpolation that
 * actions use in their options.
 */
import { type Problem, invalid, pointerSegment } from '../errors.js';
import type { CloudEvent } from '../event.js';
import type { InputTransform } from '../rules/types.js';
import { DeliveryErrorCode } from './codes.js';
import { type JsonPath, formatJsonPath, parseJsonPath, resolveJsonPath } from './json-path.js';

/** At most this many named paths (as EventBridge). */
export const MAX_TRANSFORM_PATHS = 100;
/** Longest template, in characters. */
export const MAX_TEMPLATE_LENGTH = 16_384;
const NAME = /^[A-Za-z_][A-Za-z0-9_.-]{0,63}$/;
const PLACEHOLDER = /^<(\$[^<>\s]*|[A-Za-z_][A-Za-z0-9_.-]{0,63})>/;
const FIELDS = new Set(['path', 'paths', 'template']);

/** A transform failure, shaped as a SerializedError (ports/target.ts). */
export interface TransformError {
  readonly code: typeof DeliveryErrorCode.TRANSFORM;
  readonly message: string;
  readonly details: { readonly placeholder?: string; readonly path: string };
}

export type TransformResult =
  { readonly ok: true; readonly payload: unknown } | { readonly ok: false; readonly error: TransformError };

/** Rendering of an interpolated value: the value, or why a placeholder could not be resolved. */
export type RenderResult =
  { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly error: TransformError };

type Piece =
  | { readonly literal: string }
  | { readonly label: string; readonly path: JsonPath; readonly quoted: boolean; readonly name?: string };

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function looksLikeJson(template: string): boolean {
  const first = template.trimStart()[0];
  return first === '{' || first === '[';
}

/**
 * Splits a template into literal text and placeholders. `lookup` maps a placeholder's inner text
 * to a path, or returns a problem message; undefined leaves the text literal. In a JSON template
 * it notes whether each placeholder sits inside a quoted string.
 */
function tokenize(
  text: string,
  json: boolean,
  lookup: (inner: string) => Piece | string | undefined,
): Piece[] | string {
  const pieces: Piece[] = [];
  let literal = '';
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    const m = c === '<' ? PLACEHOLDER.exec(text.slice(i, i + 600)) : null;
    const found = m ? lookup(m[1]!) : undefined;
    if (typeof found === 'string') return found;
    if (found === undefined || !m) {
      if (json && c === '"') inString = !inString;
      else if (json && inString && c === '\\') literal += text[i++];
      literal += text[i] ?? '';
      continue;
    }
    if (literal) pieces.push({ literal });
    literal = '';
    pieces.push({ ...found, quoted: json && inString } as Piece);
    i += m[0].length - 1;
  }
  if (literal) pieces.push({ literal });
  return pieces;
}

/** Resolves `<$...>` (an inline path; `<$>` and `<$event>` are the root). */
function inlinePath(inner: string): Piece | string | undefined {
  if (!inner.startsWith('$')) return undefined;
  const text = inner === '$event' ? '$' : inner;
  const path = parseJsonPath(text);
  if (typeof path === 'string') return `placeholder <${inner}>: the path ${path}`;
  return { label: `<${inner}>`, path, quoted: false };
}

function missing(piece: Extract<Piece, { path: JsonPath }>, why: string, hint: string): TransformError {
  const path = formatJsonPath(piece.path);
  return {
    code: DeliveryErrorCode.TRANSFORM,
    message: `placeholder ${piece.label} reads ${path}, but ${why}; ${hint}`,
    details: { placeholder: piece.label, path },
  };
}

function encode(value: unknown, json: boolean, quoted: boolean): string {
  if (!json) return typeof value === 'string' ? value : JSON.stringify(value);
  const text = JSON.stringify(value);
  if (!quoted) return text;
  return JSON.stringify(typeof value === 'string' ? value : text).slice(1, -1);
}

function render(pieces: readonly Piece[], root: unknown, json: boolean, hint: (p: Piece) => string): RenderResult {
  let out = '';
  for (const p of pieces) {
    if ('literal' in p) {
      out += p.literal;
      continue;
    }
    const r = resolveJsonPath(root, p.path);
    if (!r.found) return { ok: false, error: missing(p, r.why, hint(p)) };
    out += encode(r.value, json, p.quoted);
  }
  return { ok: true, value: out };
}

function namedLookup(paths: Readonly<Record<string, string>>): (inner: string) => Piece | string | undefined {
  return (inner) => {
    if (inner.startsWith('$')) return inlinePath(inner);
    const text = Object.hasOwn(paths, inner) ? paths[inner] : undefined;
    if (text === undefined) {
      return `placeholder <${inner}> is not defined; add it to input.paths (e.g. ${inner}: $.data.${inner}) or use <$.path> inline`;
    }
    const path = parseJsonPath(text);
    if (typeof path === 'string') return `input.paths.${inner}: the path ${path}`;
    return { label: `<${inner}>`, path, quoted: false, name: inner };
  };
}

function checkTemplate(template: string, paths: Readonly<Record<string, string>>): Problem[] {
  if (template.length > MAX_TEMPLATE_LENGTH) {
    return [{ pointer: '/template', message: `is longer than ${MAX_TEMPLATE_LENGTH} characters` }];
  }
  const json = looksLikeJson(template);
  const pieces = tokenize(template, json, namedLookup(paths));
  if (typeof pieces === 'string') return [{ pointer: '/template', message: pieces }];
  if (!json) return [];
  // Each placeholder stands for a string here; any JSON value is valid where a string is.
  const sample = pieces.map((p) => ('literal' in p ? p.literal : p.quoted ? 'x' : '""')).join('');
  try {
    JSON.parse(sample);
    return [];
  } catch (err) {
    const why = (err as Error).message;
    return [
      {
        pointer: '/template',
        message: `starts like JSON but is not valid JSON (${why}); fix it, or start it with text`,
      },
    ];
  }
}

function checkPaths(paths: unknown): Problem[] {
  if (!isRecord(paths)) return [{ pointer: '/paths', message: 'must be a map of placeholder names to JSON paths' }];
  const entries = Object.entries(paths);
  const problems: Problem[] = [];
  if (entries.length > MAX_TRANSFORM_PATHS) {
    problems.push({ pointer: '/paths', message: `has ${entries.length} entries; at most ${MAX_TRANSFORM_PATHS}` });
  }
  for (const [name, text] of entries) {
    const pointer = `/paths/${pointerSegment(name)}`;
    if (!NAME.test(name)) {
      problems.push({
        pointer,
        message: `'${name}' is not a placeholder name; use letters, digits, '_', '.', '-' (starting with a letter or '_')`,
      });
    } else if (typeof text !== 'string') {
      problems.push({ pointer, message: 'must be a JSON path string such as $.data.status' });
    } else {
      const path = parseJsonPath(text);
      if (typeof path === 'string') problems.push({ pointer, message: `the path ${path}` });
    }
  }
  return problems;
}

/**
 * Checks an `input` block of a rule target; pointers are relative to it (`/paths/status`). Use it
 * in the manifest parser; `compileTransform` throws on the same problems.
 */
export function checkTransform(spec: unknown): Problem[] {
  if (!isRecord(spec)) return [{ pointer: '', message: 'must be an object with `path`, or `paths` and `template`' }];
  const problems: Problem[] = [];
  for (const key of Object.keys(spec)) {
    if (!FIELDS.has(key))
      problems.push({ pointer: `/${pointerSegment(key)}`, message: `unknown field; allowed: path, paths, template` });
  }
  const { path, paths, template } = spec;
  if (path !== undefined) {
    const parsed = typeof path === 'string' ? parseJsonPath(path) : 'must be a JSON path string such as $.data';
    if (typeof parsed === 'string') problems.push({ pointer: '/path', message: parsed });
    if (paths !== undefined || template !== undefined) {
      problems.push({
        pointer: '/path',
        message: 'cannot be combined with paths/template; use paths and template to pick several fields',
      });
    }
  }
  if (paths !== undefined) problems.push(...checkPaths(paths));
  if (paths !== undefined && template === undefined) {
    problems.push({
      pointer: '/paths',
      message: 'needs a template that uses the placeholders (e.g. template: \'{"status": <status>}\')',
    });
  }
  if (template !== undefined && typeof template !== 'string') {
    problems.push({
      pointer: '/template',
      message: 'must be a string (JSON text or plain text with <name> placeholders)',
    });
  } else if (typeof template === 'string' && problems.length === 0) {
    problems.push(...checkTemplate(template, isRecord(paths) ? (paths as Record<string, string>) : {}));
  }
  return problems;
}

/** A compiled transform: applied to each event before delivery. */
export type Transform = (event: CloudEvent) => TransformResult;

function compilePathOnly(text: string): Transform {
  const path = parseJsonPath(text) as JsonPath;
  return (event) => {
    const r = resolveJsonPath(event, path);
    if (r.found) return { ok: true, payload: r.value };
    const message = `input.path ${text} matches nothing: ${r.why}; require the field in the rule's match ({"exists": true}) or change input.path`;
    return { ok: false, error: { code: DeliveryErrorCode.TRANSFORM, message, details: { path: text } } };
  };
}

/**
 * Compiles a target's `input` (throws E_INVALID listing the problems of `checkTransform`). With no
 * spec, or an empty one, the payload is the whole event; with `path`, that part of the event; with
 * a template, the rendered template: parsed as JSON when it starts with `{` or `[` (placeholders
 * outside quotes insert JSON values, inside quotes escaped text), else a plain string.
 */
export function compileTransform(spec: InputTransform | undefined): Transform {
  if (spec === undefined) return (event) => ({ ok: true, payload: event });
  const problems = checkTransform(spec);
  if (problems.length > 0) throw invalid('invalid input transform', problems);
  if (spec.path !== undefined) return compilePathOnly(spec.path);
  if (spec.template === undefined) return (event) => ({ ok: true, payload: event });
  const json = looksLikeJson(spec.template);
  const pieces = tokenize(spec.template, json, namedLookup(spec.paths ?? {})) as Piece[];
  const hint = (p: Piece): string =>
    'name' in p && p.name
      ? `require the field in the rule's match ({"exists": true}) or change input.paths.${p.name}`
      : `require the field in the rule's match ({"exists": true}) or change the template`;
  return (event) => {
    const r = render(pieces, event, json, hint);
    if (!r.ok) return r;
    if (!json) return { ok: true, payload: r.value };
    try {
      return { ok: true, payload: JSON.parse(r.value as string) as unknown };
    } catch (err) {
      const message = `the template's result is not valid JSON (${(err as Error).message}); a value inserted outside quotes must fit where it stands`;
      return { ok: false, error: { code: DeliveryErrorCode.TRANSFORM, message, details: { path: '$' } } };
    }
  };
}

/** A string option with `<$.path>` placeholders, compiled. */
export interface Interpolation {
  /** How many placeholders the text has (0: it renders to itself). */
  readonly placeholders: number;
  /**
   * Resolves the placeholders against `root`. A text that is exactly one placeholder renders to
   * the value itself (any JSON type); otherwise to a string (strings inserted raw, other values as JSON).
   */
  render(root: unknown): RenderResult;
}

/**
 * Compiles a string that may hold `<$.json.path>` placeholders (`<$>` is the whole root); other
 * `<...>` text stays literal. Returns a problem message when a placeholder's path is invalid.
 */
export function compileInterpolation(text: string): Interpolation | string {
  const pieces = tokenize(text, false, inlinePath);
  if (typeof pieces === 'string') return pieces;
  const holes = pieces.filter((p) => !('literal' in p)).length;
  const only = pieces.length === 1 && holes === 1 ? pieces[0] : undefined;
  const hint = (): string => 'require the field in the rule\'s match ({"exists": true}) or change the placeholder';
  return {
    placeholders: holes,
    render(root) {
      if (holes === 0) return { ok: true, value: text };
      if (only && 'path' in only) {
        const r = resolveJsonPath(root, only.path);
        return r.found ? { ok: true, value: r.value } : { ok: false, error: missing(only, r.why, hint()) };
      }
      return render(pieces, root, false, hint);
    },
  };
}

/** A JSON value whose strings (at any depth) may hold `<$.path>` placeholders, compiled. */
export type JsonInterpolation = (root: unknown) => RenderResult;

/**
 * Compiles every string inside `value` with `compileInterpolation`. Throws E_INVALID whose problems
 * point (relative to `value`, under `pointer`) at the strings with invalid placeholders.
 */
export function compileJsonInterpolation(value: unknown, pointer = ''): JsonInterpolation {
  if (typeof value === 'string') {
    const compiled = compileInterpolation(value);
    if (typeof compiled === 'string') throw invalid('invalid placeholder', [{ pointer, message: compiled }]);
    return compiled.placeholders === 0 ? () => ({ ok: true, value }) : (root) => compiled.render(root);
  }
  if (Array.isArray(value)) {
    const items = value.map((v, i) => compileJsonInterpolation(v, `${pointer}/${i}`));
    return (root) =>
      collect(
        items.map((f) => f(root)),
        (vs) => vs,
      );
  }
  if (isRecord(value)) {
    const keys = Object.keys(value);
    const items = keys.map((k) => compileJsonInterpolation(value[k], `${pointer}/${pointerSegment(k)}`));
    return (root) =>
      collect(
        items.map((f) => f(root)),
        (vs) => Object.fromEntries(keys.map((k, i) => [k, vs[i]])),
      );
  }
  return () => ({ ok: true, value });
}

function collect(results: readonly RenderResult[], build: (values: unknown[]) => unknown): RenderResult {
  const values: unknown[] = [];
  for (const r of results) {
    if (!r.ok) return r;
    values.push(r.value);
  }
  return { ok: true, value: build(values) };
}
