/** @module The CloudEvents 1.0 event model: validation, partition keys, size. */
import type { Problem } from './errors.js';
import { pointerSegment } from './errors.js';

/** A CloudEvents 1.0 event in its JSON form. Extension attributes sit beside the context ones. */
export interface CloudEvent {
  readonly specversion: '1.0';
  readonly id: string;
  readonly source: string;
  readonly type: string;
  readonly time?: string;
  readonly subject?: string;
  readonly datacontenttype?: string;
  readonly dataschema?: string;
  readonly data?: unknown;
  readonly data_base64?: string;
  /** Homeostat: the key that orders events (else `subject`, else `source`). */
  readonly partitionkey?: string;
  /** Homeostat: the event or action that caused this one. */
  readonly causationid?: string;
  readonly correlationid?: string;
  /** W3C trace context (CloudEvents distributed-tracing extension). */
  readonly traceparent?: string;
  readonly tracestate?: string;
  readonly [extension: string]: unknown;
}

const CONTEXT_ATTRIBUTES = new Set([
  'specversion',
  'id',
  'source',
  'type',
  'time',
  'subject',
  'datacontenttype',
  'dataschema',
]);

/** Extension names: lower-case letters and digits, 1 to 20 characters. */
export const EXTENSION_NAME = /^[a-z0-9]{1,20}$/;
const MEDIA_TYPE = /^[A-Za-z0-9!#$&^_.+-]{1,127}\/[A-Za-z0-9!#$&^_.+-]{1,127}(\s*;.*)?$/;
const ABSOLUTE_URI = /^[A-Za-z][A-Za-z0-9+.-]*:[^\s]*$/;
const NO_SPACE_OR_CONTROL = /^[^\s\u0000-\u001f\u007f-\u009f]+$/;
/** CloudEvents String values must not contain control characters (U+0000-U+001F, U+007F-U+009F). */
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
const CONTROL_MESSAGE = 'must not contain control characters (U+0000-U+001F, U+007F-U+009F)';

/** True when a string holds a character CloudEvents forbids in String values. */
export function hasControlCharacters(value: string): boolean {
  return CONTROL.test(value);
}
const TRACEPARENT = /^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/;
const STRING_EXTENSIONS = new Set(['partitionkey', 'causationid', 'correlationid', 'tracestate']);
const INT32_MIN = -2_147_483_648;
const INT32_MAX = 2_147_483_647;

function digits(s: string, at: number, n: number): number {
  let v = 0;
  for (let i = at; i < at + n; i++) {
    const c = s.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return -1;
    v = v * 10 + c;
  }
  return v;
}

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function daysInMonth(year: number, month: number): number {
  const leap = month === 2 && year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  return leap ? 29 : DAYS_IN_MONTH[month - 1]!;
}

/** Checks an RFC 3339 timestamp, including the calendar (no 2026-02-30). Hand-written: it runs per event. */
export function isRfc3339(value: string): boolean {
  if (value.length < 20) return false;
  const year = digits(value, 0, 4);
  const month = digits(value, 5, 2);
  const day = digits(value, 8, 2);
  const hour = digits(value, 11, 2);
  const minute = digits(value, 14, 2);
  const second = digits(value, 17, 2);
  const t = value[10];
  if (value[4] !== '-' || value[7] !== '-' || (t !== 'T' && t !== 't') || value[13] !== ':' || value[16] !== ':')
    return false;
  if (year < 0 || month < 1 || month > 12 || day < 1 || hour < 0 || hour > 23 || minute < 0 || minute > 59)
    return false;
  if (second < 0 || second > 60 || day > daysInMonth(year, month)) return false;
  let i = 19;
  if (value[i] === '.') {
    const fracStart = ++i;
    while (i < value.length && digits(value, i, 1) >= 0) i++;
    if (i === fracStart || i - fracStart > 9) return false;
  }
  const zone = value[i];
  if (zone === 'Z' || zone === 'z') return i + 1 === value.length;
  if ((zone !== '+' && zone !== '-') || i + 6 !== value.length || value[i + 3] !== ':') return false;
  const zh = digits(value, i + 1, 2);
  const zm = digits(value, i + 4, 2);
  return zh >= 0 && zh <= 23 && zm >= 0 && zm <= 59;
}

function requireString(ev: Record<string, unknown>, name: string, at: string, problems: Problem[]): void {
  const v = ev[name];
  if (v === undefined || v === null) {
    problems.push({ pointer: `${at}/${name}`, message: `required attribute '${name}' is missing` });
  } else if (typeof v !== 'string' || v.length === 0) {
    problems.push({ pointer: `${at}/${name}`, message: `'${name}' must be a non-empty string` });
  } else if (CONTROL.test(v)) {
    problems.push({ pointer: `${at}/${name}`, message: `'${name}' ${CONTROL_MESSAGE}` });
  }
}

function checkOptional(
  ev: Record<string, unknown>,
  name: string,
  at: string,
  problems: Problem[],
  test: (v: string) => boolean,
  allowed: string,
): void {
  const v = ev[name];
  if (v === undefined) return;
  if (typeof v !== 'string' || v.length === 0 || !test(v)) {
    problems.push({
      pointer: `${at}/${name}`,
      message: `'${name}' ${JSON.stringify(v)} is not allowed; expected ${allowed}`,
    });
  } else if (CONTROL.test(v)) {
    problems.push({ pointer: `${at}/${name}`, message: `'${name}' ${CONTROL_MESSAGE}` });
  }
}

function checkExtension(name: string, value: unknown, at: string, problems: Problem[]): void {
  const pointer = `${at}/${pointerSegment(name)}`;
  if (!EXTENSION_NAME.test(name)) {
    problems.push({
      pointer,
      message: `extension name '${name}' is not allowed; use 1 to 20 lower-case letters or digits`,
    });
    return;
  }
  if (STRING_EXTENSIONS.has(name) && (typeof value !== 'string' || value.length === 0)) {
    problems.push({ pointer, message: `'${name}' must be a non-empty string` });
  } else if (name === 'traceparent' && (typeof value !== 'string' || !TRACEPARENT.test(value))) {
    problems.push({ pointer, message: `'traceparent' must be a W3C trace context header value` });
  } else if (typeof value === 'number') {
    if (!Number.isInteger(value) || value < INT32_MIN || value > INT32_MAX) {
      problems.push({
        pointer,
        message: `extension '${name}' is a number that is not a 32-bit integer; send it as a string`,
      });
    }
  } else if (typeof value !== 'string' && typeof value !== 'boolean') {
    problems.push({
      pointer,
      message: `extension '${name}' must be a string, integer or boolean, not ${value === null ? 'null' : typeof value}`,
    });
  } else if (typeof value === 'string' && CONTROL.test(value)) {
    problems.push({ pointer, message: `extension '${name}' ${CONTROL_MESSAGE}` });
  }
}

/**
 * Validates one event against CloudEvents 1.0 and Homeostat's extensions.
 * Returns every problem found (empty when valid); `at` prefixes each JSON pointer.
 */
export function validateCloudEvent(input: unknown, at = ''): Problem[] {
  const problems: Problem[] = [];
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    problems.push({ pointer: at || '/', message: 'an event must be a JSON object' });
    return problems;
  }
  const ev = input as Record<string, unknown>;
  if (ev.specversion !== '1.0') {
    problems.push({
      pointer: `${at}/specversion`,
      message:
        ev.specversion === undefined
          ? `required attribute 'specversion' is missing; it must be "1.0"`
          : `'specversion' ${JSON.stringify(ev.specversion)} is not supported; it must be "1.0"`,
    });
  }
  requireString(ev, 'id', at, problems);
  requireString(ev, 'source', at, problems);
  requireString(ev, 'type', at, problems);
  if (typeof ev.source === 'string' && ev.source.length > 0 && !NO_SPACE_OR_CONTROL.test(ev.source)) {
    problems.push({
      pointer: `${at}/source`,
      message: `'source' must be a URI-reference without spaces or control characters`,
    });
  }
  checkOptional(ev, 'time', at, problems, isRfc3339, 'an RFC 3339 timestamp such as "2026-11-24T10:00:00Z"');
  checkOptional(ev, 'subject', at, problems, () => true, 'a non-empty string');
  checkOptional(
    ev,
    'datacontenttype',
    at,
    problems,
    (v) => MEDIA_TYPE.test(v),
    'a media type such as "application/json"',
  );
  checkOptional(
    ev,
    'dataschema',
    at,
    problems,
    (v) => ABSOLUTE_URI.test(v),
    'an absolute URI such as "https://example.com/schema.json"',
  );
  if (ev.data_base64 !== undefined) {
    if (ev.data !== undefined) {
      problems.push({ pointer: `${at}/data_base64`, message: `an event may carry 'data' or 'data_base64', not both` });
    } else if (typeof ev.data_base64 !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(ev.data_base64)) {
      problems.push({ pointer: `${at}/data_base64`, message: `'data_base64' must be a base64 string` });
    }
  }
  for (const name in ev) {
    if (CONTEXT_ATTRIBUTES.has(name) || name === 'data' || name === 'data_base64') continue;
    checkExtension(name, ev[name], at, problems);
  }
  return problems;
}

/** The key that orders an event: `partitionkey`, else `subject`, else `source`. */
export function partitionKeyOf(ev: CloudEvent): string {
  return ev.partitionkey ?? ev.subject ?? ev.source;
}

/** FNV-1a 32-bit hash of a string's UTF-16 code units; stable across backends and versions. */
export function hashKey(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** The partition (0 .. partitions-1) that a key maps to. */
export function partitionOf(key: string, partitions: number): number {
  return hashKey(key) % partitions;
}
