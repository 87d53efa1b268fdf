/**
 * @module A tiny dependency-free web service for the `local` provider's instance groups.
 *
 * Environment: PORT (default 0: any free port), HOST (default 127.0.0.1), HOMEOSTAT_INSTANCE,
 * HOMEOSTAT_GROUP, WORK_MS (CPU burnt per request, default 5), ERROR_RATE (0..1, share of work
 * requests answered 500, default 0), EXIT_ON_START (an exit code: exit with it at once, before
 * listening, like a release that dies on start; unset: run normally).
 *
 * Routes:
 *   GET  /healthz               200 "ok"
 *   GET  /  and  GET /work?ms=N burn N ms of CPU (default WORK_MS), answer JSON with instance and pid
 *   POST /admin/hang            from now on no request is answered (not even /healthz): a hung process
 *   POST /admin/error-rate?value=0.3   change the injected error rate
 *   POST /admin/exit?code=N     exit at once with code N (a crash with an exit code)
 * SIGTERM (or SIGINT): stop accepting connections, finish requests in flight, exit 0. Requests
 * held by /admin/hang are dropped at that point, since they would never finish.
 */
import { Buffer } from 'node:buffer';
import { createServer } from 'node:http';
import { performance } from 'node:perf_hooks';
import process from 'node:process';
import { setTimeout } from 'node:timers';
import { URL } from 'node:url';

const port = Number(process.env.PORT ?? 0);
const host = process.env.HOST ?? '127.0.0.1';
const instance = process.env.HOMEOSTAT_INSTANCE ?? 'web';
const group = process.env.HOMEOSTAT_GROUP ?? '';
if (process.env.EXIT_ON_START !== undefined && process.env.EXIT_ON_START !== '') {
  process.stderr.write(`web: ${instance} exits on start (EXIT_ON_START=${process.env.EXIT_ON_START})\n`);
  process.exit(Number(process.env.EXIT_ON_START) || 1);
}
const defaultWorkMs = nonNegative(process.env.WORK_MS, 5);
let errorRate = rate(process.env.ERROR_RATE, 0);
let hung = false;
let stopping = false;
const held = new Set();
/** Requests in progress per open connection, so shutdown can close the connections that have none. */
const busy = new Map();

function nonNegative(text, fallback) {
  const n = Number(text);
  return text !== undefined && text !== '' && Number.isFinite(n) && n >= 0 ? n : fallback;
}

function rate(text, fallback) {
  const n = nonNegative(text, fallback);
  return Math.min(1, n);
}

/** Busy-waits: real CPU time, so load on the service shows up as CPU and latency. */
function burn(ms) {
  const end = performance.now() + ms;
  let x = 0;
  while (performance.now() < end) x += Math.sqrt(x + 1);
  return x;
}

function send(res, status, body) {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  const type = typeof body === 'string' ? 'text/plain; charset=utf-8' : 'application/json';
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function work(url, res) {
  const ms = nonNegative(url.searchParams.get('ms') ?? undefined, defaultWorkMs);
  burn(Math.min(ms, 60_000));
  const body = { instance, group, pid: process.pid, workMs: ms };
  if (Math.random() < errorRate) send(res, 500, { ...body, error: 'injected error' });
  else send(res, 200, body);
}

function admin(url, res) {
  switch (url.pathname) {
    case '/admin/hang':
      hung = true;
      send(res, 200, { hung: true });
      return;
    case '/admin/error-rate': {
      const value = Number(url.searchParams.get('value'));
      if (!Number.isFinite(value) || value < 0 || value > 1) {
        send(res, 400, { error: 'value must be a number from 0 to 1, e.g. /admin/error-rate?value=0.3' });
        return;
      }
      errorRate = value;
      send(res, 200, { errorRate });
      return;
    }
    case '/admin/exit':
      res.on('finish', () => process.exit(nonNegative(url.searchParams.get('code') ?? undefined, 1)));
      send(res, 200, { exiting: true });
      return;
    default:
      send(res, 404, { error: `no admin endpoint ${url.pathname}` });
  }
}

const server = createServer((req, res) => {
  if (hung) {
    // Never answer: the socket stays open until the client gives up or the process stops.
    held.add(req.socket);
    req.socket.once('close', () => held.delete(req.socket));
    return;
  }
  const socket = req.socket;
  busy.set(socket, (busy.get(socket) ?? 0) + 1);
  res.once('close', () => {
    if (!busy.has(socket)) return;
    const left = busy.get(socket) - 1;
    busy.set(socket, left);
    if (stopping && left === 0) socket.end();
  });
  const url = new URL(req.url ?? '/', 'http://service');
  if (stopping) res.setHeader('connection', 'close');
  if (req.method === 'GET' && url.pathname === '/healthz') send(res, 200, 'ok');
  else if (req.method === 'GET' && (url.pathname === '/' || url.pathname === '/work')) work(url, res);
  else if (req.method === 'POST' && url.pathname.startsWith('/admin/')) admin(url, res);
  else send(res, 404, { error: `no route ${req.method} ${url.pathname}` });
});

server.on('connection', (socket) => {
  busy.set(socket, 0);
  socket.once('close', () => busy.delete(socket));
});

function shutdown() {
  if (stopping) return;
  stopping = true;
  server.close(() => process.exit(0));
  // Connections without a request in progress (keep-alive, or opened and not used yet) close now;
  // the others close after their response (it carries `connection: close`).
  for (const [socket, n] of busy) if (n === 0) socket.destroy();
  for (const socket of held) socket.destroy();
  // Keep-alive connections that never go idle must not keep the process alive forever.
  setTimeout(() => process.exit(0), 10_000).unref();
}

process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);

server.listen(port, host, () => {
  const address = server.address();
  process.stdout.write(`web: ${instance} (pid ${process.pid}) listening on ${host}:${address.port}\n`);
});
