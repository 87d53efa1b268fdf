/** @module The CloudEvents HTTP binding: structured, batch and binary modes into a list of entries. */
import type { IncomingHttpHeaders } from 'node:http';
import { ErrorCode, HomeostatError } from '../core/errors.js';
import { scanJson } from '../ingest/json-scan.js';

export interface ParsedEvents {
  readonly entries: unknown[];
  readonly batch: boolean;
  /** Each entry's JSON text as received, when the request carried one per entry. */
  readonly texts?: string[];
}

const STRUCTURED = 'application/cloudevents+json';
const BATCH = 'application/cloudevents-batch+json';
const ACCEPTED_TYPES = `${STRUCTURED} (one event), ${BATCH} (an array), application/json, or binary mode with ce-* headers`;

function mediaType(header: string | undefined): string {
  return (header ?? '').split(';')[0]!.trim().toLowerCase();
}

function isJsonMediaType(type: string): boolean {
  return type === 'application/json' || type.endsWith('+json') || type === 'text/json';
}

function tooDeep(maxDepth: number): HomeostatError {
  return new HomeostatError(
    ErrorCode.TOO_DEEP,
    `request body nests deeper than ${maxDepth} levels (ingest.maxDepth); flatten the payload`,
    {
      details: { limit: maxDepth },
    },
  );
}

function parseText(text: string, pointer: string): unknown {
  try {
    return JSON.parse(text);
  } catch (cause) {
    const where = pointer ? ` at ${pointer}` : '';
    throw new HomeostatError(
      ErrorCode.MALFORMED_JSON,
      `request body is not valid JSON${where}: ${(cause as Error).message}`,
      {
        cause,
        problems: [{ pointer: pointer || '/', message: 'not valid JSON' }],
      },
    );
  }
}

/** Parses JSON after checking its depth; a top-level array is parsed element by element, keeping each text. */
export function parseJsonBody(body: Buffer, maxDepth: number): { value: unknown; texts?: string[] } {
  const scan = scanJson(body, maxDepth);
  if (scan.tooDeep) throw tooDeep(maxDepth);
  if (scan.elements === undefined) {
    const text = body.toString('utf8', scan.start, scan.end);
    return { value: parseText(text, ''), texts: [text] };
  }
  if (!scan.closed) {
    // e.g. `[{...}] trailing`, `[{...}`, `[{...}]]`: never accept part of a malformed batch.
    return { value: parseText(body.toString('utf8', scan.start, scan.end), '') };
  }
  const texts: string[] = [];
  const value: unknown[] = [];
  for (let i = 0; i < scan.elements.length; i += 2) {
    const text = body.toString('utf8', scan.elements[i], scan.elements[i + 1]);
    value.push(parseText(text, `/${i / 2}`));
    texts.push(text);
  }
  return { value, texts };
}

/** Turns a POST /v1/events request into entries, by mode. */
export function parseEventsRequest(headers: IncomingHttpHeaders, body: Buffer, maxDepth: number): ParsedEvents {
  const type = mediaType(headers['content-type']);
  if (headers['ce-specversion'] !== undefined && type !== STRUCTURED && type !== BATCH) {
    return { entries: [binaryEvent(headers, body, type, maxDepth)], batch: false };
  }
  if (type !== STRUCTURED && type !== BATCH && type !== 'application/json') {
    throw new HomeostatError(
      ErrorCode.UNSUPPORTED_MEDIA_TYPE,
      `Content-Type ${JSON.stringify(headers['content-type'] ?? '')} is not accepted for events; use ${ACCEPTED_TYPES}`,
    );
  }
  const { value, texts } = parseJsonBody(body, maxDepth);
  if (Array.isArray(value) && type !== STRUCTURED) return { entries: value, batch: true, texts };
  if (type === BATCH) {
    throw new HomeostatError(ErrorCode.EVENT_INVALID, `a ${BATCH} body must be a JSON array of events`, {
      problems: [{ pointer: '/', message: 'expected an array' }],
    });
  }
  return { entries: [value], batch: false, texts: Array.isArray(value) ? undefined : texts };
}

function decodeHeader(value: string | string[] | undefined): string | undefined {
  if (value === undefined) return undefined;
  const text = Array.isArray(value) ? value.join(',') : value;
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** Binary mode: attributes from ce-* headers, the body is `data`. */
function binaryEvent(headers: IncomingHttpHeaders, body: Buffer, type: string, maxDepth: number): unknown {
  const event: Record<string, unknown> = {};
  for (const name of Object.keys(headers)) {
    if (name.startsWith('ce-')) event[name.slice(3)] = decodeHeader(headers[name]);
  }
  if (headers['content-type'] !== undefined) event.datacontenttype = headers['content-type'];
  if (body.length === 0) return event;
  if (isJsonMediaType(type)) event.data = parseJsonBody(body, maxDepth).value;
  else if (type.startsWith('text/') || type === '') event.data = body.toString('utf8');
  else event.data_base64 = body.toString('base64');
  return event;
}
