/**
 * @module The `http` action: sends the payload to a URL (signed webhook) over a shared keep-alive
 * connection pool, with the delivery's idempotency key and event headers.
 */
import { Agent, request } from 'undici';
import type { Clock } from '../../core/clock.js';
import { DeliveryErrorCode } from '../../core/delivery/codes.js';
import type { Problem } from '../../core/errors.js';
import type { DeliveryOutcome, DeliveryRequest, Target } from '../../ports/target.js';
import {
  createOptionCache,
  elapsed,
  failure,
  invalidOptions,
  isRecord,
  type Options,
  unknownKeys,
} from '../options.js';
import {
  HEADER_NAME,
  RESERVED_HEADERS,
  SIGNATURE_HEADER,
  headerValue,
  parseRetryAfter,
  signatureHeader,
} from './headers.js';

/** Methods the http action can send. */
export const HTTP_METHODS = ['POST', 'PUT', 'PATCH', 'GET', 'DELETE'] as const;
/** The most of an error response's body that is read (for the error message). */
export const MAX_ERROR_BODY_BYTES = 65_536;
const RETRYABLE_STATUS = new Set([408, 425, 429]);
const KEYS = ['url', 'method', 'headers', 'secret', 'secretEnv'] as const;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

interface HttpOptions {
  readonly url: string;
  /** scheme://host:port, for messages (the path may hold a secret token, as Slack's does). */
  readonly origin: string;
  readonly method: (typeof HTTP_METHODS)[number];
  /** Lower-case names. */
  readonly headers: Readonly<Record<string, string>>;
  readonly secret?: string;
  readonly secretEnv?: string;
}

export interface HttpTargetDeps {
  readonly clock: Clock;
  /** Where `secretEnv` names are looked up at delivery. Default process.env. */
  readonly env?: NodeJS.ProcessEnv;
}

/** The http Target plus `close`, which ends the shared connection pool. */
export interface HttpTarget extends Target {
  close(): Promise<void>;
}

function checkUrl(url: unknown): Problem[] {
  if (typeof url !== 'string' || url === '') {
    return [{ pointer: '/url', message: 'is required: the http(s) URL to send to, e.g. https://hooks.example/oncall' }];
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return [
      { pointer: '/url', message: `'${url}' is not a valid URL; write it in full, e.g. https://hooks.example/path` },
    ];
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    return [{ pointer: '/url', message: `scheme '${parsed.protocol}' is not supported; use http: or https:` }];
  }
  return [];
}

function checkHeaders(headers: unknown): Problem[] {
  if (headers === undefined) return [];
  if (!isRecord(headers)) return [{ pointer: '/headers', message: 'must be a map of header names to string values' }];
  const problems: Problem[] = [];
  for (const [name, value] of Object.entries(headers)) {
    const pointer = `/headers/${name.replaceAll('~', '~0').replaceAll('/', '~1')}`;
    const lower = name.toLowerCase();
    const reserved =
      RESERVED_HEADERS.get(lower) ?? (lower.startsWith('homeostat-') ? 'is set by Homeostat' : undefined);
    if (!HEADER_NAME.test(name)) problems.push({ pointer, message: `'${name}' is not a valid header name` });
    else if (reserved) problems.push({ pointer, message: `${name} ${reserved}; remove it` });
    else if (typeof value !== 'string') problems.push({ pointer, message: 'must be a string (quote numbers)' });
    else if (/[\r\n\0]/.test(value)) problems.push({ pointer, message: 'must not contain CR, LF or NUL' });
  }
  return problems;
}

function checkSecret(options: Options): Problem[] {
  const { secret, secretEnv } = options;
  const problems: Problem[] = [];
  if (secret !== undefined && (typeof secret !== 'string' || secret.length === 0)) {
    problems.push({
      pointer: '/secret',
      message: 'must be a non-empty string (prefer secretEnv to keep it out of the manifest)',
    });
  }
  if (secretEnv !== undefined && (typeof secretEnv !== 'string' || !ENV_NAME.test(secretEnv))) {
    problems.push({ pointer: '/secretEnv', message: 'must be an environment variable name such as WEBHOOK_SECRET' });
  }
  if (secret !== undefined && secretEnv !== undefined) {
    problems.push({ pointer: '/secretEnv', message: 'give either secret or secretEnv, not both' });
  }
  return problems;
}

function validateHttp(options: Options): Problem[] {
  const problems = [...unknownKeys(options, KEYS), ...checkUrl(options.url), ...checkHeaders(options.headers)];
  const method = options.method;
  if (method !== undefined && !HTTP_METHODS.includes(String(method).toUpperCase() as 'POST')) {
    problems.push({ pointer: '/method', message: `must be one of ${HTTP_METHODS.join(', ')} (default POST)` });
  }
  return [...problems, ...checkSecret(options)];
}

function compileHttp(options: Options): HttpOptions | Problem[] {
  const problems = validateHttp(options);
  if (problems.length > 0) return problems;
  const url = options.url as string;
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries((options.headers ?? {}) as Record<string, string>)) headers[k.toLowerCase()] = v;
  return {
    url,
    origin: new URL(url).origin,
    method: (typeof options.method === 'string' ? options.method.toUpperCase() : 'POST') as HttpOptions['method'],
    headers,
    ...(typeof options.secret === 'string' ? { secret: options.secret } : {}),
    ...(typeof options.secretEnv === 'string' ? { secretEnv: options.secretEnv } : {}),
  };
}

function encodeBody(payload: unknown): { body: string; contentType: string } {
  if (typeof payload === 'string') return { body: payload, contentType: 'text/plain; charset=utf-8' };
  return { body: JSON.stringify(payload ?? null), contentType: 'application/json' };
}

function eventHeaders(req: DeliveryRequest): Record<string, string> {
  const ev = req.record.event;
  const h: Record<string, string> = {
    'idempotency-key': req.idempotencyKey,
    'homeostat-event-id': headerValue(ev.id),
    'homeostat-event-source': headerValue(ev.source),
    'homeostat-event-type': headerValue(ev.type),
    'homeostat-rule': headerValue(req.rule),
    'homeostat-target': headerValue(req.target.id),
    'homeostat-attempt': String(req.attempt),
  };
  if (req.replayed) h['homeostat-replayed'] = 'true';
  if (typeof ev.traceparent === 'string') h.traceparent = ev.traceparent;
  if (typeof ev.tracestate === 'string') h.tracestate = headerValue(ev.tracestate);
  return h;
}

/** Reads at most MAX_ERROR_BODY_BYTES of a body, then drops the rest. */
async function readSome(body: AsyncIterable<Buffer> & { destroy(): unknown }): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of body) {
      chunks.push(chunk);
      size += chunk.length;
      if (size >= MAX_ERROR_BODY_BYTES) break;
    }
  } finally {
    body.destroy();
  }
  return Buffer.concat(chunks).subarray(0, MAX_ERROR_BODY_BYTES).toString('utf8');
}

function statusOutcome(
  opts: HttpOptions,
  status: number,
  text: string,
  retryAfterMs: number | undefined,
  ms: number,
): DeliveryOutcome {
  const snippet = text.replace(/\s+/g, ' ').trim().slice(0, 300);
  const what = `${opts.method} ${opts.origin} answered ${status}${snippet ? `: ${snippet}` : ''}`;
  const details = { status, body: text, ms };
  if (status >= 500 || RETRYABLE_STATUS.has(status)) {
    return failure(DeliveryErrorCode.HTTP_STATUS, what, 'yes', details, retryAfterMs);
  }
  const fix = status < 400 ? '; redirects are not followed, use the final URL' : '';
  return failure(DeliveryErrorCode.HTTP_STATUS, `${what}${fix}`, 'no', details);
}

function thrownOutcome(opts: HttpOptions, err: unknown, why: 'timeout' | 'shutdown' | undefined, req: DeliveryRequest) {
  if (why === 'timeout') {
    const message = `${opts.method} ${opts.origin} did not answer within ${req.target.timeoutMs} ms (the target's timeout)`;
    return failure(DeliveryErrorCode.TIMEOUT, message, 'yes', { timeoutMs: req.target.timeoutMs });
  }
  if (why === 'shutdown') return failure(DeliveryErrorCode.ABORTED, 'the attempt was stopped by shutdown', 'yes');
  const e = err as { code?: string; message?: string; cause?: { code?: string; message?: string } };
  const code = e.cause?.code ?? e.code;
  const reason = e.cause?.message ?? e.message ?? String(err);
  const message = `${opts.method} ${opts.origin} failed: ${reason}${code ? ` (${code})` : ''}`;
  return failure(DeliveryErrorCode.HTTP_NETWORK, message, 'yes', code ? { cause: code } : undefined);
}

/** Creates the http action with its own keep-alive connection pool (one pool per origin). */
export function createHttpTarget(deps: HttpTargetDeps): HttpTarget {
  const agent = new Agent({ keepAliveTimeout: 30_000, keepAliveMaxTimeout: 600_000 });
  const compile = createOptionCache(compileHttp);
  const env = deps.env ?? process.env;

  async function send(opts: HttpOptions, req: DeliveryRequest, secret: string | undefined): Promise<DeliveryOutcome> {
    const hasBody = opts.method !== 'GET';
    const { body, contentType } = hasBody ? encodeBody(req.payload) : { body: '', contentType: undefined };
    const headers: Record<string, string> = { ...opts.headers, ...eventHeaders(req) };
    if (contentType && headers['content-type'] === undefined) headers['content-type'] = contentType;
    if (secret !== undefined) headers[SIGNATURE_HEADER] = signatureHeader(secret, deps.clock.now(), body);
    const controller = new AbortController();
    let why: 'timeout' | 'shutdown' | undefined;
    const stop = (reason: 'timeout' | 'shutdown'): void => {
      why ??= reason;
      controller.abort();
    };
    const timer = setTimeout(() => stop('timeout'), req.target.timeoutMs);
    const onAbort = (): void => stop('shutdown');
    if (req.signal.aborted) onAbort();
    else req.signal.addEventListener('abort', onAbort, { once: true });
    const start = performance.now();
    try {
      const res = await request(opts.url, {
        method: opts.method,
        headers,
        body: hasBody ? body : null,
        signal: controller.signal,
        dispatcher: agent,
      });
      if (res.statusCode >= 200 && res.statusCode < 300) {
        await res.body.dump({ limit: MAX_ERROR_BODY_BYTES });
        return { ok: true, detail: { status: res.statusCode, ms: elapsed(start) } };
      }
      const text = await readSome(res.body);
      const retryAfter = parseRetryAfter(res.headers['retry-after'], deps.clock.now());
      return statusOutcome(opts, res.statusCode, text, retryAfter, elapsed(start));
    } catch (err) {
      return thrownOutcome(opts, err, why, req);
    } finally {
      clearTimeout(timer);
      req.signal.removeEventListener('abort', onAbort);
    }
  }

  return {
    action: 'http',
    validate: validateHttp,
    async deliver(req) {
      const opts = compile(req.target.with);
      if (Array.isArray(opts)) return invalidOptions('http', opts);
      const secret = opts.secretEnv === undefined ? opts.secret : env[opts.secretEnv];
      if (opts.secretEnv !== undefined && !secret) {
        const message = `the signing secret's environment variable ${opts.secretEnv} is not set (or empty) on the server; set it and restart, then redrive`;
        return failure(DeliveryErrorCode.ACTION_CONFIG, message, 'no', { secretEnv: opts.secretEnv });
      }
      return send(opts, req, secret);
    },
    async close() {
      await agent.close();
    },
  };
}
