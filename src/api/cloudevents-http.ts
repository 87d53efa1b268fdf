/** @module The CloudEvents HTTP binding: structured, batch and binary modes into a list of entries. */
import type { IncomingHttpHeaders } from 'node:http';
import { ErrorCode, HomeostatError } from '../core/errors.js';
import { exceedsDepth } from '../ingest/json-depth.js';

export interface ParsedEvents {
  readonly entries: unknown[];
  readonly batch: boolean;
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

/** Parses JSON text after checking its nesting depth; errors say where and what is allowed. */
export function parseJson(text: string, maxDepth: number): unknown {
  if (exceedsDepth(text, maxDepth)) {
    throw new HomeostatError(
      ErrorCode.TOO_DEEP,
      `request body nests deeper than ${maxDepth} levels (ingest.maxDepth); flatten the payload`,
      {
        details: { limit: maxDepth },
      },
    );
  }
  try {
    return JSON.parse(text);
  } catch (cause) {
    throw new HomeostatError(ErrorCode.MALFORMED_JSON, `request body is not valid JSON: ${(cause as Error).message}`, {
      cause,
    });
  }
}

/** Turns a POST /v1/events request into entries, by mode. */
export function parseEventsRequest(headers: IncomingHttpHeaders, body: Buffer, maxDepth: number): ParsedEvents {
  const type = mediaType(headers['content-type']);
  if (headers['ce-specversion'] !== undefined && type !== STRUCTURED && type !== BATCH) {
    return { entries: [binaryEvent(headers, body, type, maxDepth)], batch: false };
  }
  if (type === STRUCTURED) return { entries: [parseJson(body.toString('utf8'), maxDepth)], batch: false };
  if (type === BATCH || type === 'application/json') {
    const value = parseJson(body.toString('utf8'), maxDepth);
    if (Array.isArray(value)) return { entries: value, batch: true };
    if (type === BATCH) {
      throw new HomeostatError(ErrorCode.EVENT_INVALID, `a ${BATCH} body must be a JSON array of events`, {
        problems: [{ pointer: '/', message: 'expected an array' }],
      });
    }
    return { entries: [value], batch: false };
  }
  throw new HomeostatError(
    ErrorCode.UNSUPPORTED_MEDIA_TYPE,
    `Content-Type ${JSON.stringify(headers['content-type'] ?? '')} is not accepted for events; use ${ACCEPTED_TYPES}`,
  );
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
  if (isJsonMediaType(type)) event.data = parseJson(body.toString('utf8'), maxDepth);
  else if (type.startsWith('text/') || type === '') event.data = body.toString('utf8');
  else event.data_base64 = body.toString('base64');
  return event;
}
