/**
 * @module The `local` provider's load balancer: an HTTP reverse proxy over healthy targets (round
 * robin or least connections) that admits only allowed client addresses and keeps windowed metrics.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { ErrorCode, HomeostatError, invalid, type Problem } from '../../core/errors.js';
import type { BalancerAlgorithm } from '../../core/infra/types.js';
import { cidrContains, parseCidr, parseIp, type Cidr } from '../../core/pattern/ip.js';
import { createRequestMetrics, type MetricsSnapshot, type RequestMetrics } from './metrics.js';

/** One backend the balancer may route to. */
export interface BalancerTarget {
  /** Unique among the targets; the key of `perTarget` in metrics. */
  readonly name: string;
  /** host:port, IPv6 in brackets: `127.0.0.1:8081`, `[::1]:8081`. */
  readonly address: string;
  /** Only healthy targets get new requests. */
  readonly healthy: boolean;
}

/** User input for {@link createBalancer}. */
export interface BalancerOptions {
  /** host:port to listen on; port 0 picks a free port (see {@link Balancer.address}). */
  readonly listen: string;
  readonly algorithm: BalancerAlgorithm;
  /** Client CIDRs (IPv4 or IPv6) that may connect; undefined or empty admits everyone. */
  readonly allow?: readonly string[];
  /**
   * The longest a request may go without progress (no response headers yet, or no body bytes in
   * either direction) before it fails with 504. Default 30,000.
   */
  readonly requestTimeoutMs?: number;
}

/** The window {@link Balancer.takeMetrics} returns. */
export type BalancerMetrics = MetricsSnapshot;

/**
 * A running balancer. Requests that arrive go to a healthy target chosen by the algorithm; with
 * none healthy the answer is 503. A connection error is 502 (the request moves to another target
 * only while the connection could not be opened, before anything was sent), a timeout 504, a
 * client outside `allow` 403. Error answers are JSON `{ code, message, details }`.
 */
export interface Balancer {
  /** The actual host:port after listen. */
  readonly address: string;
  /** Replaces the targets; effective for the next request. Requests in flight finish normally. */
  setTargets(targets: readonly BalancerTarget[]): void;
  /** Replaces the allow list; undefined or empty admits everyone. Throws E_INVALID on a bad CIDR. */
  setAllow(allow: readonly string[] | undefined): void;
  /** Metrics since the previous call (and starts a new window). */
  takeMetrics(): BalancerMetrics;
  /** Stops listening and ends every connection; requests in flight fail. */
  close(): Promise<void>;
}

/** The default of {@link BalancerOptions.requestTimeoutMs}. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;
const MAX_TIMEOUT_MS = 2_147_483_647;
const ALGORITHMS: readonly BalancerAlgorithm[] = ['round-robin', 'least-connections'];
const HOP_BY_HOP =
  'connection keep-alive proxy-connection proxy-authenticate proxy-authorization te trailer transfer-encoding upgrade';
/** Errors that mean the connection was never established, so nothing reached the target. */
const NOT_CONNECTED = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL']);

interface HostPort {
  readonly host: string;
  readonly port: number;
}

interface AllowRule {
  readonly text: string;
  readonly cidr: Cidr;
}

interface Target extends HostPort {
  readonly name: string;
  readonly address: string;
  readonly healthy: boolean;
}

interface ResolvedBalancerOptions {
  readonly listen: HostPort;
  readonly algorithm: BalancerAlgorithm;
  readonly allow: readonly AllowRule[] | undefined;
  readonly requestTimeoutMs: number;
}

/** Parses `host:port` or `[v6]:port`; a problem message when it is not one. */
function parseHostPort(text: unknown, minPort: number): HostPort | string {
  const example = 'write host:port, e.g. 127.0.0.1:8080 or [::1]:8080';
  if (typeof text !== 'string') return `must be a string; ${example}`;
  const match = /^\[([^\]]+)\]:(\d{1,5})$/.exec(text) ?? /^([^:[\]\s]+):(\d{1,5})$/.exec(text);
  if (!match) return `'${text}' is not host:port; ${example}`;
  const port = Number(match[2]);
  if (port < minPort || port > 65_535) return `port ${port} in '${text}' is out of range ${minPort}-65535`;
  return { host: match[1]!, port };
}

function compileAllow(allow: readonly string[] | undefined, problems: Problem[]): AllowRule[] | undefined {
  if (allow === undefined || allow.length === 0) return undefined;
  const rules: AllowRule[] = [];
  allow.forEach((text, i) => {
    const cidr = typeof text === 'string' ? parseCidr(text.trim()) : undefined;
    if (cidr) rules.push({ text: text.trim(), cidr });
    else problems.push({ pointer: `/allow/${i}`, message: `'${String(text)}' is not a CIDR; write e.g. 10.0.0.0/8` });
  });
  return rules;
}

function resolveBalancerOptions(options: BalancerOptions): ResolvedBalancerOptions {
  const problems: Problem[] = [];
  const listen = parseHostPort(options.listen, 0);
  if (typeof listen === 'string') problems.push({ pointer: '/listen', message: listen });
  if (!ALGORITHMS.includes(options.algorithm)) {
    problems.push({ pointer: '/algorithm', message: `must be ${ALGORITHMS.join(' or ')}, got '${options.algorithm}'` });
  }
  const allow = compileAllow(options.allow, problems);
  const timeout = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  if (!Number.isInteger(timeout) || timeout < 1 || timeout > MAX_TIMEOUT_MS) {
    problems.push({
      pointer: '/requestTimeoutMs',
      message: `must be a whole number of ms >= 1, got ${String(timeout)}`,
    });
  }
  if (problems.length > 0 || typeof listen === 'string') throw invalid('load balancer options', problems);
  return Object.freeze({ listen, algorithm: options.algorithm, allow, requestTimeoutMs: timeout });
}

function compileTargets(targets: readonly BalancerTarget[]): Target[] {
  const problems: Problem[] = [];
  const names = new Set<string>();
  const out: Target[] = [];
  targets.forEach((t, i) => {
    const at = parseHostPort(t.address, 1);
    if (typeof t.name !== 'string' || t.name === '') problems.push({ pointer: `/${i}/name`, message: 'is required' });
    else if (names.has(t.name)) problems.push({ pointer: `/${i}/name`, message: `'${t.name}' is given twice` });
    if (typeof at === 'string') problems.push({ pointer: `/${i}/address`, message: at });
    else out.push({ ...at, name: t.name, address: t.address, healthy: t.healthy === true });
    names.add(t.name);
  });
  if (problems.length > 0) throw invalid('load balancer targets', problems);
  return out;
}

/** The client's address for messages and X-Forwarded-For: IPv4-mapped IPv6 as plain IPv4. */
function clientText(remote: string | undefined): string {
  const text = (remote ?? '').split('%')[0]!;
  return /^::ffff:\d+\.\d+\.\d+\.\d+$/i.test(text) ? text.slice(7) : text;
}

function isAllowed(rules: readonly AllowRule[] | undefined, client: string): boolean {
  if (rules === undefined) return true;
  const bytes = parseIp(client);
  if (!bytes) return false;
  // An IPv4 client also matches rules written for IPv4-mapped IPv6 (::ffff:0:0/96).
  const forms =
    bytes.length === 4 ? [bytes, Uint8Array.from([...new Array<number>(10).fill(0), 255, 255, ...bytes])] : [bytes];
  return rules.some((rule) => forms.some((form) => cidrContains(rule.cidr, form)));
}

/** Copies headers without the hop-by-hop ones (the fixed list and those named in Connection). */
function endToEnd(headers: http.IncomingHttpHeaders): http.OutgoingHttpHeaders {
  const drop = new Set(HOP_BY_HOP.split(' '));
  for (const token of (headers.connection ?? '').split(',')) drop.add(token.trim().toLowerCase());
  const out: http.OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) if (value !== undefined && !drop.has(name)) out[name] = value;
  return out;
}

function requestHeaders(req: http.IncomingMessage, client: string): http.OutgoingHttpHeaders {
  const out = endToEnd(req.headers);
  delete out.expect; // the balancer already answered 100-continue
  // A chunked body keeps chunked framing on the next hop (Node re-chunks it).
  if (/chunked/i.test(req.headers['transfer-encoding'] ?? '')) out['transfer-encoding'] = 'chunked';
  const prior = req.headers['x-forwarded-for'];
  out['x-forwarded-for'] = prior ? `${prior}, ${client}` : client;
  out['x-forwarded-proto'] = 'http';
  return out;
}

/** One client request on its way through the balancer. */
interface Exchange {
  readonly req: http.IncomingMessage;
  readonly res: http.ServerResponse;
  readonly client: string;
  /** Targets tried so far (refused connections move the request on). */
  readonly tried: Set<string>;
  /** The target of the latest attempt. */
  target?: string;
  /** Set when the response broke off after its headers went out. */
  failed: boolean;
  /** Ends the current upstream attempt (the client went away). */
  abort?: () => void;
}

function sendError(exchange: Exchange, status: number, error: HomeostatError): void {
  const { req, res } = exchange;
  const body = JSON.stringify(error.toJSON());
  const headers: http.OutgoingHttpHeaders = {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
  };
  if (status === 503) headers['retry-after'] = '1';
  // An unread request body would have to be drained to reuse the connection: close it instead.
  if (!req.complete) headers.connection = 'close';
  res.writeHead(status, headers).end(body);
}

function upstreamError(exchange: Exchange, problem: string, cause?: Error, target?: Target): HomeostatError {
  const who = target ? `target ${target.name} (${target.address})` : 'every healthy target';
  const reason = cause ? `: ${(cause as NodeJS.ErrnoException).code ?? cause.message}` : '';
  return new HomeostatError(ErrorCode.BACKEND, `${who} ${problem}${reason}`, {
    details: { target: target?.name ?? exchange.target, tried: [...exchange.tried] },
  });
}

/** The targets and how busy each is; picks by the algorithm among healthy ones. */
interface TargetPool {
  set(targets: Target[]): void;
  /** A healthy target not in `tried`, or undefined. */
  pick(tried: ReadonlySet<string>): Target | undefined;
  /** Counts a request in flight to `target`; call the result once when it ends. */
  track(target: Target): () => void;
  describe(): string;
}

function createTargetPool(algorithm: BalancerAlgorithm): TargetPool {
  const active = new Map<string, number>();
  let all: Target[] = [];
  let healthy: Target[] = [];
  let cursor = 0;
  const load = (t: Target): number => active.get(t.name) ?? 0;
  return {
    set(targets) {
      all = targets;
      healthy = targets.filter((t) => t.healthy);
    },
    pick(tried) {
      const pool = tried.size === 0 ? healthy : healthy.filter((t) => !tried.has(t.name));
      if (pool.length === 0) return undefined;
      const start = cursor++ % pool.length;
      let best = pool[start]!;
      // Least connections starts at the round-robin position, so targets with equal load take turns.
      for (let i = 1; algorithm === 'least-connections' && i < pool.length; i++) {
        const candidate = pool[(start + i) % pool.length]!;
        if (load(candidate) < load(best)) best = candidate;
      }
      return best;
    },
    track(target) {
      active.set(target.name, load(target) + 1);
      let done = false;
      return () => {
        if (done) return;
        done = true;
        const left = load(target) - 1;
        if (left > 0) active.set(target.name, left);
        else active.delete(target.name);
      };
    },
    describe: () => `${healthy.length} of ${all.length} targets are healthy`,
  };
}

/** What every request of one balancer shares. */
interface ProxyContext {
  readonly agent: http.Agent;
  readonly pool: TargetPool;
  readonly timeoutMs: number;
  readonly metrics: RequestMetrics;
  allow: readonly AllowRule[] | undefined;
}

/** Sends the request to the next target, or answers 503 (none healthy) or 502 (none reachable). */
function attempt(ctx: ProxyContext, exchange: Exchange, lastError?: Error): void {
  const target = ctx.pool.pick(exchange.tried);
  if (target) {
    exchange.tried.add(target.name);
    exchange.target = target.name;
    return forward(ctx, exchange, target);
  }
  if (lastError) return sendError(exchange, 502, upstreamError(exchange, 'could not be reached', lastError));
  const message = `no healthy target: ${ctx.pool.describe()}; wait for instances to pass their health checks`;
  sendError(exchange, 503, new HomeostatError(ErrorCode.UNAVAILABLE, message));
}

function forward(ctx: ProxyContext, exchange: Exchange, target: Target): void {
  const { req, res } = exchange;
  const release = ctx.pool.track(target);
  let sent = false;
  let settled = false;
  const upstream = http.request({
    agent: ctx.agent,
    host: target.host,
    port: target.port,
    method: req.method,
    path: req.url,
    headers: requestHeaders(req, exchange.client),
  });
  const finish = (): void => {
    settled = true;
    clearTimeout(timer);
    release();
    upstream.destroy();
  };
  const fail = (status: number, problem: string, cause?: Error): void => {
    finish();
    if (!res.headersSent) return sendError(exchange, status, upstreamError(exchange, problem, cause, target));
    exchange.failed = true;
    res.destroy();
  };
  const timer = setTimeout(() => fail(504, `did not answer within ${ctx.timeoutMs} ms`), ctx.timeoutMs);
  const touch = (): void => void (settled || timer.refresh());
  // Nothing is read from the client until the connection is open, so a refused one can move on.
  const send = (): void => {
    sent = true;
    req.on('data', touch).pipe(upstream);
  };
  exchange.abort = () => settled || finish();
  upstream.once('socket', (socket) => (socket.connecting ? socket.once('connect', send) : send()));
  upstream.on('error', (err: NodeJS.ErrnoException) => {
    if (settled) return;
    if (sent || !NOT_CONNECTED.has(err.code ?? '')) return fail(502, 'failed', err);
    finish();
    attempt(ctx, exchange, err);
  });
  upstream.on('response', (upRes) => {
    touch();
    res.writeHead(upRes.statusCode ?? 502, upRes.statusMessage, endToEnd(upRes.headers));
    upRes.on('data', touch).on('error', () => undefined); // a broken response shows in 'close'
    upRes.once('end', () => {
      settled = true;
      clearTimeout(timer);
      release();
    });
    upRes.once('close', () => settled || upRes.complete || fail(502, 'broke off its response'));
    upRes.pipe(res);
  });
}

function handle(ctx: ProxyContext, req: http.IncomingMessage, res: http.ServerResponse): void {
  const started = performance.now();
  ctx.metrics.begin();
  const client = clientText(req.socket.remoteAddress);
  const exchange: Exchange = { req, res, client, tried: new Set(), failed: false };
  res.once('close', () => {
    if (!res.writableFinished) exchange.abort?.();
    const error = exchange.failed || res.statusCode >= 500;
    ctx.metrics.end({ latencyMs: performance.now() - started, error, target: exchange.target });
  });
  if (isAllowed(ctx.allow, client)) return attempt(ctx, exchange);
  const rules = ctx.allow?.map((r) => r.text) ?? [];
  const message = `client ${client} is not in this load balancer's allow list (${rules.join(', ')}); add its address to a SecurityRule`;
  sendError(exchange, 403, new HomeostatError(ErrorCode.FORBIDDEN, message, { details: { client, allow: rules } }));
}

function listen(server: http.Server, at: HostPort, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const onError = (cause: NodeJS.ErrnoException): void => {
      const message = `load balancer cannot listen on ${text}: ${cause.code ?? cause.message}; pick a free port or port 0`;
      reject(new HomeostatError(ErrorCode.BACKEND, message, { cause }));
    };
    server.once('error', onError);
    server.listen({ host: at.host, port: at.port }, () => {
      server.off('error', onError);
      const info = server.address() as AddressInfo;
      resolve(info.family === 'IPv6' ? `[${info.address}]:${info.port}` : `${info.address}:${info.port}`);
    });
  });
}

/**
 * Starts a balancer listening on `options.listen`, with no targets yet. Rejects with E_INVALID on
 * bad options (every problem with its pointer) and E_BACKEND when it cannot listen.
 */
export async function createBalancer(options: BalancerOptions): Promise<Balancer> {
  const resolved = resolveBalancerOptions(options);
  // Idle upstream connections close before a Node target's default 5 s keep-alive timeout.
  const agent = new http.Agent({ keepAlive: true, timeout: 4_000, scheduling: 'lifo' });
  const pool = createTargetPool(resolved.algorithm);
  const metrics = createRequestMetrics();
  const ctx: ProxyContext = { agent, pool, metrics, timeoutMs: resolved.requestTimeoutMs, allow: resolved.allow };
  const server = http.createServer((req, res) => handle(ctx, req, res));
  const address = await listen(server, resolved.listen, options.listen);
  let closing: Promise<void> | undefined;
  return {
    address,
    setTargets: (targets) => pool.set(compileTargets(targets)),
    setAllow(allow) {
      const problems: Problem[] = [];
      const rules = compileAllow(allow, problems);
      if (problems.length > 0) throw invalid('load balancer allow list', problems);
      ctx.allow = rules;
    },
    takeMetrics: () => ctx.metrics.take(),
    close: () =>
      (closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
        agent.destroy();
      })),
  };
}
