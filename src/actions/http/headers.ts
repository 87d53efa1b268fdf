/** @module HTTP target wire details: option headers rules, the signature header, Retry-After. */
import { createHmac } from 'node:crypto';
import { MAX_RETRY_AFTER_MS } from '../../core/delivery/backoff.js';

/** Header names users may not set: hop-by-hop, framing, and the ones Homeostat sets itself. */
export const RESERVED_HEADERS: ReadonlyMap<string, string> = new Map([
  ...['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade'].map(
    (h) => [h, 'is a hop-by-hop header; the HTTP client manages connections'] as const,
  ),
  ...['proxy-authenticate', 'proxy-authorization'].map((h) => [h, 'is a hop-by-hop header'] as const),
  ['content-length', 'is computed from the body'],
  ['host', 'comes from the url; change the url instead'],
  ['expect', 'is not supported'],
  ['idempotency-key', 'is set by Homeostat (the delivery idempotency key)'],
  ['traceparent', "is copied from the event's traceparent"],
  ['tracestate', "is copied from the event's tracestate"],
]);

/** RFC 9110 token characters: what a header name may contain. */
export const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** The signature header; see signatureHeader. */
export const SIGNATURE_HEADER = 'homeostat-signature';

/**
 * `t=<unix ms>,v1=<hex HMAC-SHA256 of "<t>.<body>">`: receivers recompute the HMAC with the shared
 * secret, compare in constant time, and reject old `t` values to stop replays.
 */
export function signatureHeader(secret: string, timestamp: number, body: string): string {
  const mac = createHmac('sha256', secret).update(`${timestamp}.`).update(body).digest('hex');
  return `t=${timestamp},v1=${mac}`;
}

/**
 * A Retry-After value (delay in seconds, or an HTTP date) as ms from `now`, capped at 1 h;
 * undefined when absent or unreadable.
 */
export function parseRetryAfter(value: string | string[] | undefined, now: number): number | undefined {
  const text = (Array.isArray(value) ? value[0] : value)?.trim();
  if (!text) return undefined;
  let ms: number;
  if (/^\d+$/.test(text)) {
    ms = Number(text) * 1000;
  } else {
    // Every HTTP-date form names a month; this keeps Date.parse from reading '-5' as a year.
    const at = /[A-Za-z]{3}/.test(text) ? Date.parse(text) : Number.NaN;
    if (Number.isNaN(at)) return undefined;
    ms = at - now;
  }
  return Math.min(MAX_RETRY_AFTER_MS, Math.max(0, ms));
}

/** Makes a value safe for a header: characters outside printable ASCII are percent-encoded. */
export function headerValue(value: string): string {
  return /^[\x20-\x7e]*$/.test(value) ? value : value.replace(/[^\x20-\x7e]/gu, (c) => encodeURIComponent(c));
}
