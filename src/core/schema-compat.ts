/** @module Backward-compatibility rules between two versions of an event type's JSON Schema. */
import { type Problem, pointerSegment } from './errors.js';

/** The rules a new schema version must keep; each problem's message starts with `rule <name>:`. */
export const CompatRule = {
  /** A property required in the new version must have been required before. */
  noNewRequired: 'no-new-required',
  /** A property declared in the previous version's `properties` must still be declared. */
  noRemovedProperty: 'no-removed-property',
  /** `type`, `enum`/`const` and `additionalProperties` may only widen. */
  noNarrowedType: 'no-narrowed-type',
} as const;
export type CompatRule = (typeof CompatRule)[keyof typeof CompatRule];

/** A JSON Schema (draft 2020-12): an object or a boolean schema. */
export type JsonSchema = Readonly<Record<string, unknown>> | boolean;

export interface CompatOptions {
  /** The previous schema's version, used in messages ("... not in version 3"). */
  readonly previousVersion?: number;
}

interface Context {
  readonly problems: Problem[];
  /** How messages name the previous version. */
  readonly was: string;
}

type SchemaObject = Readonly<Record<string, unknown>>;

const JSON_TYPES = ['array', 'boolean', 'integer', 'null', 'number', 'object', 'string'] as const;

/**
 * Lists every way `next` breaks consumers of `previous` (both schemas of an event's `data`).
 * Pointers point into `next` (where a removed property would be, for no-removed-property).
 * Recurses into `properties` both versions declare and into `items`; `$ref`s are not followed.
 * @returns an empty array when `next` is backward compatible.
 */
export function checkBackwardCompatible(
  previous: JsonSchema,
  next: JsonSchema,
  options: CompatOptions = {},
): Problem[] {
  const was = options.previousVersion === undefined ? 'the previous version' : `version ${options.previousVersion}`;
  const ctx: Context = { problems: [], was };
  compare(previous, next, '', ctx);
  return ctx.problems;
}

/** Deep equality of two JSON values (object key order does not matter). */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((v, i) => jsonEqual(v, b[i]));
  }
  const ra = a as Record<string, unknown>;
  const rb = b as Record<string, unknown>;
  const keys = Object.keys(ra);
  return keys.length === Object.keys(rb).length && keys.every((k) => Object.hasOwn(rb, k) && jsonEqual(ra[k], rb[k]));
}

function compare(previous: unknown, next: unknown, at: string, ctx: Context): void {
  // A schema that accepted nothing cannot be narrowed.
  if (previous === false) return;
  if (next === false) {
    report(ctx, CompatRule.noNarrowedType, at, `the new version rejects every value, which ${ctx.was} did not`);
    return;
  }
  const prev = asObject(previous);
  const cur = asObject(next);
  compareTypes(prev, cur, at, ctx);
  compareValues(prev, cur, at, ctx);
  compareAdditional(prev, cur, at, ctx);
  compareRequired(prev, cur, at, ctx);
  compareProperties(prev, cur, at, ctx);
  if (prev.items !== undefined || cur.items !== undefined) {
    compare(prev.items ?? true, cur.items ?? true, `${at}/items`, ctx);
  }
}

function compareTypes(prev: SchemaObject, cur: SchemaObject, at: string, ctx: Context): void {
  const before = typeSet(prev);
  const after = typeSet(cur);
  if (after === undefined) return;
  const lost = (before ?? JSON_TYPES).filter((t) => !accepts(after, t));
  if (lost.length === 0) return;
  const from = before === undefined ? 'any type' : listTypes(before);
  report(
    ctx,
    CompatRule.noNarrowedType,
    `${at}/type`,
    `type ${listTypes(after)} no longer accepts ${listTypes(lost)}; ${ctx.was} allowed ${from}`,
  );
}

function compareValues(prev: SchemaObject, cur: SchemaObject, at: string, ctx: Context): void {
  const after = allowedValues(cur);
  if (after === undefined) return;
  const pointer = `${at}/${Array.isArray(cur.enum) ? 'enum' : 'const'}`;
  const before = allowedValues(prev);
  if (before === undefined) {
    report(ctx, CompatRule.noNarrowedType, pointer, `values are now restricted; ${ctx.was} allowed any value`);
    return;
  }
  const removed = before.filter((v) => !after.some((w) => jsonEqual(v, w)));
  if (removed.length === 0) return;
  const list = removed.map((v) => JSON.stringify(v)).join(', ');
  report(ctx, CompatRule.noNarrowedType, pointer, `value(s) ${list} allowed in ${ctx.was} are no longer allowed`);
}

function compareAdditional(prev: SchemaObject, cur: SchemaObject, at: string, ctx: Context): void {
  if (cur.additionalProperties !== false || prev.additionalProperties === false) return;
  report(
    ctx,
    CompatRule.noNarrowedType,
    `${at}/additionalProperties`,
    `additionalProperties is now false; ${ctx.was} allowed additional properties`,
  );
}

function compareRequired(prev: SchemaObject, cur: SchemaObject, at: string, ctx: Context): void {
  if (!Array.isArray(cur.required)) return;
  const before = new Set(Array.isArray(prev.required) ? prev.required : []);
  cur.required.forEach((name: unknown, i) => {
    if (before.has(name)) return;
    report(
      ctx,
      CompatRule.noNewRequired,
      `${at}/required/${i}`,
      `property '${String(name)}' is required in the new version but not in ${ctx.was}`,
    );
  });
}

function compareProperties(prev: SchemaObject, cur: SchemaObject, at: string, ctx: Context): void {
  const before = asObject(prev.properties);
  const after = asObject(cur.properties);
  for (const name of Object.keys(before)) {
    const pointer = `${at}/properties/${pointerSegment(name)}`;
    if (Object.hasOwn(after, name)) {
      compare(before[name], after[name], pointer, ctx);
    } else {
      report(
        ctx,
        CompatRule.noRemovedProperty,
        pointer,
        `property '${name}' declared in ${ctx.was} is missing from the new version`,
      );
    }
  }
}

function report(ctx: Context, rule: CompatRule, pointer: string, message: string): void {
  ctx.problems.push({ pointer, message: `rule ${rule}: ${message}` });
}

/** `true`, and anything that is not a schema object, accepts everything: treat it as `{}`. */
function asObject(schema: unknown): SchemaObject {
  return typeof schema === 'object' && schema !== null && !Array.isArray(schema) ? (schema as SchemaObject) : {};
}

/** The declared types, or undefined for "any type" (no `type` keyword). */
function typeSet(schema: SchemaObject): readonly string[] | undefined {
  const t = schema.type;
  if (typeof t === 'string') return [t];
  if (Array.isArray(t)) return t.filter((x): x is string => typeof x === 'string');
  return undefined;
}

/** Whether a type list accepts every value of type `t`; every integer is a number. */
function accepts(types: readonly string[], t: string): boolean {
  return types.includes(t) || (t === 'integer' && types.includes('number'));
}

/** The values `enum` or `const` allows, or undefined when neither restricts them. */
function allowedValues(schema: SchemaObject): readonly unknown[] | undefined {
  if (Array.isArray(schema.enum)) return schema.enum;
  if (Object.hasOwn(schema, 'const')) return [schema.const];
  return undefined;
}

function listTypes(types: readonly string[]): string {
  return types.map((t) => `'${t}'`).join(' | ');
}
