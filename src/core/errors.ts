/** @module One error type for the whole engine, identified by a stable `code`. */

/** The catalogue of error codes. Keep docs/ERRORS.md in step with this object. */
export const ErrorCode = {
  /** A value in a request, manifest or config is invalid; `details.errors` lists each problem. */
  INVALID: 'E_INVALID',
  /** An event envelope breaks CloudEvents 1.0. */
  EVENT_INVALID: 'E_EVENT_INVALID',
  /** An event is larger than the per-event limit. */
  EVENT_TOO_LARGE: 'E_EVENT_TOO_LARGE',
  /** A request body is larger than the per-request limit. */
  REQUEST_TOO_LARGE: 'E_REQUEST_TOO_LARGE',
  /** A request body is nested deeper than allowed. */
  TOO_DEEP: 'E_TOO_DEEP',
  /** A request body is not valid JSON. */
  MALFORMED_JSON: 'E_MALFORMED_JSON',
  /** The request's Content-Type is not one the endpoint accepts. */
  UNSUPPORTED_MEDIA_TYPE: 'E_UNSUPPORTED_MEDIA_TYPE',
  /** An event's data violates the schema registered (in enforce mode) for its type. */
  SCHEMA_VIOLATION: 'E_SCHEMA_VIOLATION',
  /** A JSON Schema could not be compiled. */
  SCHEMA_INVALID: 'E_SCHEMA_INVALID',
  /** A new schema version is not backward compatible with the previous one. */
  SCHEMA_INCOMPATIBLE: 'E_SCHEMA_INCOMPATIBLE',
  /** The thing asked for does not exist. */
  NOT_FOUND: 'E_NOT_FOUND',
  /** The write already exists in a conflicting form (e.g. a schema version). */
  CONFLICT: 'E_CONFLICT',
  /** No valid bearer token was given. */
  UNAUTHENTICATED: 'E_UNAUTHENTICATED',
  /** The token lacks the scope the endpoint needs. */
  FORBIDDEN: 'E_FORBIDDEN',
  /** The write path is saturated; retry after the delay in `details.retryAfterMs`. */
  BACKPRESSURE: 'E_BACKPRESSURE',
  /** Configuration is invalid or contradicts stored state. */
  CONFIG_INVALID: 'E_CONFIG_INVALID',
  /** A backend (database, file, server) failed. */
  BACKEND: 'E_BACKEND',
  /** The component is closed or shutting down. */
  CLOSED: 'E_CLOSED',
  /** A remote call failed (CLI to server). */
  UNAVAILABLE: 'E_UNAVAILABLE',
  /** A bug: something that should not happen. */
  INTERNAL: 'E_INTERNAL',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** One problem inside a larger input: where (JSON pointer, or file:line:col) and what. */
export interface Problem {
  readonly pointer: string;
  readonly message: string;
}

export interface HomeostatErrorOptions {
  readonly cause?: unknown;
  readonly details?: Readonly<Record<string, unknown>>;
  readonly problems?: readonly Problem[];
  /** Whether retrying the same call can succeed. Defaults by code. */
  readonly retryable?: boolean;
}

const RETRYABLE: ReadonlySet<ErrorCode> = new Set([ErrorCode.BACKPRESSURE, ErrorCode.BACKEND, ErrorCode.UNAVAILABLE]);

/** The engine's error: a stable `code`, a message naming the field, value and fix. */
export class HomeostatError extends Error {
  readonly code: ErrorCode;
  readonly details: Readonly<Record<string, unknown>>;
  readonly problems: readonly Problem[];
  readonly retryable: boolean;

  constructor(code: ErrorCode, message: string, options: HomeostatErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'HomeostatError';
    this.code = code;
    this.details = options.details ?? {};
    this.problems = options.problems ?? [];
    this.retryable = options.retryable ?? RETRYABLE.has(code);
  }

  toJSON(): Record<string, unknown> {
    const body: Record<string, unknown> = { code: this.code, message: this.message };
    if (this.problems.length > 0) body.problems = this.problems;
    if (Object.keys(this.details).length > 0) body.details = this.details;
    return body;
  }
}

/** True when `err` is a HomeostatError with the given code (by code, not instanceof alone). */
export function hasCode(err: unknown, code: ErrorCode): err is HomeostatError {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === code;
}

/** Builds an E_INVALID (or other code) error from a list of problems, message listing them all. */
export function invalid(
  what: string,
  problems: readonly Problem[],
  code: ErrorCode = ErrorCode.INVALID,
): HomeostatError {
  const list = problems.map((p) => `${p.pointer || '/'}: ${p.message}`).join('; ');
  return new HomeostatError(code, `${what}: ${list}`, { problems });
}

/** Escapes one JSON pointer segment (RFC 6901). */
export function pointerSegment(key: string | number): string {
  return String(key).replaceAll('~', '~0').replaceAll('/', '~1');
}
