/** @module The HTTP client the CLI uses to talk to a Homeostat server (docs/API.md). */
import { ErrorCode, HomeostatError, type Problem } from '../core/errors.js';
import { usageError } from './output.js';

/** Where the server is and how to authenticate. */
export interface ClientOptions {
  /** Base URL, e.g. `http://127.0.0.1:8420`; a path prefix is kept. */
  readonly url: string;
  /** Bearer token; omitted when undefined or empty. */
  readonly token?: string;
}

/** Query parameters; arrays repeat the parameter, undefined values are left out. */
export type Query = Readonly<Record<string, string | number | boolean | readonly string[] | undefined>>;

export interface RequestOptions {
  readonly query?: Query;
  /** A JSON value to send; serialized unless already a string. */
  readonly body?: unknown;
  readonly contentType?: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly signal?: AbortSignal;
}

export interface ApiResponse<T = unknown> {
  readonly status: number;
  readonly headers: Headers;
  readonly body: T;
}

export interface HomeostatClient {
  readonly url: string;
  /** Sends a request; throws only when the server cannot be reached. */
  send<T = unknown>(method: string, path: string, options?: RequestOptions): Promise<ApiResponse<T>>;
  /** Sends a request; throws a HomeostatError built from the error body on a non-2xx status. */
  request<T = unknown>(method: string, path: string, options?: RequestOptions): Promise<ApiResponse<T>>;
  /** Opens a streaming response (GET unless `method`); the caller reads `body`. Throws on a non-2xx status. */
  open(path: string, options?: RequestOptions, method?: string): Promise<Response>;
}

const UNREACHABLE_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

/** Creates a client; an invalid URL is a usage error. */
export function createClient(options: ClientOptions): HomeostatClient {
  const base = checkUrl(options.url);
  const fetchRaw = (method: string, path: string, opts: RequestOptions = {}) =>
    doFetch(base, options.token, method, path, opts);
  return {
    url: base,
    async send(method, path, opts) {
      return readResponse(await fetchRaw(method, path, opts));
    },
    async request(method, path, opts) {
      const res = await readResponse(await fetchRaw(method, path, opts));
      if (res.status >= 400) throw httpError(res, options.token);
      return res as ApiResponse<never>;
    },
    async open(path, opts, method = 'GET') {
      const res = await fetchRaw(method, path, opts);
      if (res.status >= 400) throw httpError(await readResponse(res), options.token);
      return res;
    },
  };
}

function checkUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch (cause) {
    throw usageError(`--url: '${raw}' is not a URL; use e.g. http://127.0.0.1:8420`, cause);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw usageError(`--url: '${raw}' must use http or https`);
  }
  return raw.replace(/\/+$/, '');
}

/** Builds `path?query` with repeated parameters for arrays. */
export function buildPath(path: string, query: Query = {}): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined) continue;
    const values = Array.isArray(value) ? value : [String(value)];
    for (const v of values) params.append(key, v);
  }
  const qs = params.toString();
  return qs ? `${path}?${qs}` : path;
}

async function doFetch(
  base: string,
  token: string | undefined,
  method: string,
  path: string,
  opts: RequestOptions,
): Promise<Response> {
  const headers: Record<string, string> = { accept: 'application/json', ...opts.headers };
  if (token) headers.authorization = `Bearer ${token}`;
  let body: string | undefined;
  if (opts.body !== undefined) {
    body = typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body);
    headers['content-type'] = opts.contentType ?? 'application/json';
  }
  let url = base + buildPath(path, opts.query);
  try {
    // A cluster follower answers management requests with a 307 to the leader (docs/API.md).
    // Followed here rather than by fetch, which would drop the token on the way to another origin.
    for (let hops = 0; ; hops++) {
      const res = await fetch(url, { method, headers, body, signal: opts.signal, redirect: 'manual' });
      const location = res.headers.get('location');
      if ((res.status !== 307 && res.status !== 308) || location === null || hops >= 3) return res;
      await res.body?.cancel();
      url = new URL(location, url).toString();
    }
  } catch (cause) {
    throw connectionError(base, cause);
  }
}

/** Maps a failed fetch to a HomeostatError; connection refused gets the "is it running?" hint. */
export function connectionError(base: string, cause: unknown): unknown {
  if ((cause as Error | undefined)?.name === 'AbortError') return cause;
  const code = causeCode(cause);
  if (code && UNREACHABLE_CODES.has(code)) {
    return new HomeostatError(
      ErrorCode.UNAVAILABLE,
      `cannot reach Homeostat at ${base}: is it running? (start it with \`homeostat up\`)`,
      { cause },
    );
  }
  const reason = (cause as { cause?: Error })?.cause?.message ?? (cause as Error)?.message ?? String(cause);
  return new HomeostatError(ErrorCode.UNAVAILABLE, `request to ${base} failed: ${reason}`, { cause });
}

function causeCode(err: unknown): string | undefined {
  let current: unknown = err;
  for (let depth = 0; current && depth < 5; depth++) {
    const c = current as { code?: unknown; cause?: unknown; errors?: unknown[] };
    if (typeof c.code === 'string') return c.code;
    current = c.cause ?? c.errors?.[0];
  }
  return undefined;
}

async function readResponse(res: Response): Promise<ApiResponse<never>> {
  const text = await res.text();
  let body: unknown = text;
  if (text && (res.headers.get('content-type') ?? '').includes('json')) {
    try {
      body = JSON.parse(text);
    } catch {
      body = text;
    }
  }
  return { status: res.status, headers: res.headers, body: (text ? body : undefined) as never };
}

interface ErrorBody {
  error?: { code?: string; message?: string; problems?: Problem[]; details?: Record<string, unknown> };
}

/** A HomeostatError from an error response: the server's code, message and problems. */
export function httpError(res: ApiResponse<unknown>, token?: string): HomeostatError {
  const error = (res.body as ErrorBody | undefined)?.error;
  const code = (error?.code as ErrorCode | undefined) ?? ErrorCode.UNAVAILABLE;
  let message = error?.message ?? `HTTP ${res.status}${typeof res.body === 'string' ? `: ${res.body}` : ''}`;
  if (code === ErrorCode.UNAUTHENTICATED && !token) message += ' (pass --token or set HOMEOSTAT_TOKEN)';
  return new HomeostatError(code, message, {
    problems: error?.problems ?? [],
    details: { ...error?.details, status: res.status },
  });
}
