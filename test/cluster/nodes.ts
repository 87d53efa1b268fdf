/**
 * @module Real cluster nodes for the multi-process tests and the cluster benchmark: `homeostat up
 * --cluster` processes on one NATS stream and one PostgreSQL database (start, kill -9, restart on
 * the same data directory), an HTTP sink that records every delivery it receives, and waits on
 * GET /v1/cluster. Each node writes its stdout and stderr to `<workDir>/<id>.log`.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, openSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import pg from 'pg';
import { partitionOf } from '../../src/core/event.js';
import type { ClusterStatus } from '../../src/runtime/cluster-node.js';
import { deleteStreams, NATS_URL, POSTGRES_ADMIN_URL } from './backends.js';

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
export { NATS_URL, POSTGRES_ADMIN_URL };
const SERVING = /^homeostat: serving (\S+) \(data: /m;

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `check` every `intervalMs` until it returns true; throws naming `what` after `timeoutMs`. */
export async function waitUntil(
  check: () => boolean | Promise<boolean>,
  what: string | (() => string),
  timeoutMs = 30_000,
  intervalMs = 100,
): Promise<number> {
  const started = performance.now();
  for (;;) {
    if (await check()) return performance.now() - started;
    if (performance.now() - started > timeoutMs) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${typeof what === 'string' ? what : what()}`);
    }
    await sleep(intervalMs);
  }
}

/** Whether NATS (with JetStream) and PostgreSQL answer; `reason` says which does not and how to fix it. */
export async function probeBackends(): Promise<{ available: true } | { available: false; reason: string }> {
  try {
    const nc = await connect({ servers: NATS_URL, timeout: 3_000 });
    try {
      await (await jetstreamManager(nc)).getAccountInfo();
    } finally {
      await nc.close();
    }
  } catch (err) {
    return { available: false, reason: `NATS JetStream is not reachable at ${NATS_URL}: ${(err as Error).message}` };
  }
  const client = new pg.Client({ connectionString: POSTGRES_ADMIN_URL, connectionTimeoutMillis: 3_000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
  } catch (err) {
    return {
      available: false,
      reason: `PostgreSQL is not reachable at ${POSTGRES_ADMIN_URL}: ${(err as Error).message}`,
    };
  } finally {
    await client.end().catch(() => undefined);
  }
  return { available: true };
}

/** A cluster's own PostgreSQL database and NATS stream name, and their removal. */
export interface ClusterBackends {
  readonly databaseUrl: string;
  readonly database: string;
  /** The `log.nats.name` token: the stream is `HOMEOSTAT_<stream>`. */
  readonly stream: string;
  /** Drops the database and deletes the stream and its buckets (after the nodes stopped). */
  drop(): Promise<void>;
}

/** Creates database `homeostat_<prefix>_<random>`; the stream is named `<prefix><random>`. */
export async function createClusterBackends(prefix: string): Promise<ClusterBackends> {
  const tag = randomBytes(4).toString('hex');
  const database = `homeostat_${prefix}_${tag}`;
  const stream = `${prefix}${tag}`;
  await adminQuery(`CREATE DATABASE ${database}`);
  const url = new URL(POSTGRES_ADMIN_URL);
  url.pathname = `/${database}`;
  return {
    databaseUrl: url.toString(),
    database,
    stream,
    async drop() {
      await deleteStreams(
        (name) => name.startsWith(`HOMEOSTAT_${stream}`) || name.startsWith(`KV_HOMEOSTAT_${stream}`),
      );
      await adminQuery(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    },
  };
}

async function adminQuery(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

export interface NodeGroupOptions {
  readonly backends: ClusterBackends;
  /** Data directories, config files and node logs go here. */
  readonly workDir: string;
  /** `source`: src/cli/main.ts through tsx (no build needed); `dist`: bin/homeostat.js. Default `source`. */
  readonly entry?: 'source' | 'dist';
  /** Default `3s`. */
  readonly leaseTtl?: string;
  /** Default `1s`. */
  readonly renewEvery?: string;
  /** The NATS stream's size limit. Default `64MiB`. */
  readonly maxBytes?: string;
  /** The nodes' log level. Default `info`. */
  readonly logLevel?: string;
  /** How long a node may take to print its `serving` line. Default 60 s. */
  readonly startTimeoutMs?: number;
}

export interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** One run of one node (a restart is a new NodeProcess with the same id). */
export interface NodeProcess {
  readonly id: string;
  readonly url: string;
  readonly pid: number;
  readonly logFile: string;
  readonly exited: Promise<Exit>;
  alive(): boolean;
  /** SIGKILL, like a crash; resolves once the process is gone. */
  kill(): Promise<Exit>;
  /** SIGTERM (leases released), SIGKILL after 15 s. */
  stop(): Promise<Exit>;
  /** SIGSTOP / SIGCONT: freezes the process (its leases keep running out meanwhile). */
  pause(): void;
  resume(): void;
}

export interface NodeGroup {
  readonly command: string;
  /** Starts node `id` (again, on the same data directory after a kill) and waits for its URL. */
  start(id: string): Promise<NodeProcess>;
  /** The latest process of each id that is still running. */
  live(): NodeProcess[];
  /** Processes that exited without kill() or stop() (e.g. a deposed leader's fail-stop). */
  unexpectedExits(): { id: string; exit: Exit }[];
  /** The last `lines` lines of each node's log, for failure messages. */
  tails(lines?: number): string;
  /** SIGKILLs every process this group started that still runs. */
  killAll(): Promise<void>;
}

const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

export function createNodeGroup(o: NodeGroupOptions): NodeGroup {
  const latest = new Map<string, NodeProcess>();
  const started = new Set<NodeProcess>();
  const unexpected: { id: string; exit: Exit }[] = [];
  const entry = o.entry ?? 'source';
  const prefix =
    entry === 'dist'
      ? [join(REPO_ROOT, 'bin', 'homeostat.js')]
      : [
          '--import',
          'tsx',
          '--input-type=module',
          '-e',
          `const { main } = await import(${JSON.stringify(pathToFileURL(join(REPO_ROOT, 'src/cli/main.ts')).href)});` +
            " process.exitCode = await main(['node', 'homeostat', ...process.argv.slice(1)]);",
        ];
  const command =
    entry === 'dist' ? 'node bin/homeostat.js up --config <node>.json' : 'node --import tsx src/cli/main.ts up ...';

  const writeConfig = (id: string): string => {
    const file = join(o.workDir, `${id}.json`);
    const config = {
      server: { host: '127.0.0.1', port: 0 },
      dataDir: join(o.workDir, `${id}-data`),
      log: { url: NATS_URL, nats: { name: o.backends.stream }, retention: { maxBytes: o.maxBytes ?? '64MiB' } },
      store: { url: o.backends.databaseUrl, schema: 'homeostat' },
      cluster: { enabled: true, nodeId: id, leaseTtl: o.leaseTtl ?? '3s', renewEvery: o.renewEvery ?? '1s' },
      logging: { level: o.logLevel ?? 'info', format: 'json' },
    };
    writeFileSync(file, JSON.stringify(config, null, 2));
    return file;
  };

  const start = async (id: string): Promise<NodeProcess> => {
    const config = writeConfig(id);
    const logFile = join(o.workDir, `${id}.log`);
    const fd = openSync(logFile, 'a');
    const from = readFileSync(logFile).length;
    writeSync(fd, `--- ${new Date().toISOString()} starting node ${id}\n`);
    const child = spawn(process.execPath, [...prefix, 'up', '--config', config], {
      cwd: REPO_ROOT,
      env: cleanEnv(),
      stdio: ['ignore', fd, fd],
    });
    closeSync(fd);
    running.add(child);
    let intended = false;
    let gone = false;
    const exited = new Promise<Exit>((resolve) => {
      child.once('exit', (code, signal) => {
        gone = true;
        running.delete(child);
        if (!intended) unexpected.push({ id, exit: { code, signal } });
        resolve({ code, signal });
      });
    });
    const url = await waitForServing(logFile, from, () => gone, o.startTimeoutMs ?? 60_000).catch((err: Error) => {
      intended = true;
      child.kill('SIGKILL');
      throw new Error(`node ${id} did not start: ${err.message}\n${tailOf(logFile, 40)}`);
    });
    const signal = (s: NodeJS.Signals): void => {
      if (!gone) child.kill(s);
    };
    const node: NodeProcess = {
      id,
      url,
      pid: child.pid!,
      logFile,
      exited,
      alive: () => !gone,
      kill() {
        intended = true;
        signal('SIGKILL');
        return exited;
      },
      async stop() {
        intended = true;
        signal('SIGCONT');
        signal('SIGTERM');
        const timer = setTimeout(() => signal('SIGKILL'), 15_000);
        const exit = await exited;
        clearTimeout(timer);
        return exit;
      },
      pause: () => signal('SIGSTOP'),
      resume: () => signal('SIGCONT'),
    };
    latest.set(id, node);
    started.add(node);
    void exited.then(() => started.delete(node));
    return node;
  };

  return {
    command,
    start,
    live: () => [...latest.values()].filter((n) => n.alive()),
    unexpectedExits: () => [...unexpected],
    tails: (lines = 30) =>
      [...latest.values()].map((n) => `--- ${n.id} (${n.logFile}) ---\n${tailOf(n.logFile, lines)}`).join('\n'),
    async killAll() {
      await Promise.all([...started].map((n) => n.kill()));
    },
  };
}

/** The environment without HOMEOSTAT_* variables, so a developer's settings do not leak in. */
function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { NO_COLOR: '1' };
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('HOMEOSTAT_')) env[k] = v;
  return env;
}

async function waitForServing(logFile: string, from: number, gone: () => boolean, timeoutMs: number): Promise<string> {
  let url: string | undefined;
  await waitUntil(
    () => {
      if (gone()) throw new Error('the process exited before serving');
      url = SERVING.exec(readFileSync(logFile).subarray(from).toString('utf8'))?.[1];
      return url !== undefined;
    },
    "the 'homeostat: serving' line",
    timeoutMs,
    50,
  );
  return url!.replace(/\/$/, '');
}

function tailOf(file: string, lines: number): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/** One request the sink received. */
export interface SinkRequest {
  /** 0 for the first request received, then 1, 2, ... */
  readonly arrival: number;
  /** performance.now() at arrival. */
  readonly at: number;
  readonly idempotencyKey: string;
  readonly eventId: string;
  readonly source: string;
  readonly partitionKey: string;
  readonly data: Record<string, unknown>;
}

/** A receiver for `http` targets that records every request on arrival and answers 200. */
export interface Sink {
  readonly url: string;
  readonly requests: readonly SinkRequest[];
  /** The first request of each Idempotency-Key: what a receiver that deduplicates applies. */
  readonly effects: ReadonlyMap<string, SinkRequest>;
  /** Event ids with at least one request. */
  readonly eventIds: ReadonlySet<string>;
  close(): Promise<void>;
}

/** `delayMs`: how long each answer takes (default 0: at once), so that kills find deliveries in flight. */
export async function startSink(options: { readonly delayMs?: number } = {}): Promise<Sink> {
  const requests: SinkRequest[] = [];
  const effects = new Map<string, SinkRequest>();
  const eventIds = new Set<string>();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const at = performance.now();
      let body: { source?: string; partitionkey?: string; subject?: string; data?: Record<string, unknown> } = {};
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as typeof body;
      } catch {
        // Recorded with empty fields; the checks then report the request.
      }
      const request: SinkRequest = {
        arrival: requests.length,
        at,
        idempotencyKey: String(req.headers['idempotency-key'] ?? ''),
        eventId: String(req.headers['homeostat-event-id'] ?? ''),
        source: body.source ?? '',
        partitionKey: body.partitionkey ?? body.subject ?? body.source ?? '',
        data: body.data ?? {},
      };
      requests.push(request);
      eventIds.add(request.eventId);
      if (!effects.has(request.idempotencyKey)) effects.set(request.idempotencyKey, request);
      const answer = (): void => void res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
      if (options.delayMs) setTimeout(answer, options.delayMs);
      else answer();
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    requests,
    effects,
    eventIds,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** GET /v1/cluster. */
export type ClusterView = ClusterStatus;

export async function clusterView(url: string): Promise<ClusterView> {
  const res = await fetch(`${url}/v1/cluster`, { signal: AbortSignal.timeout(2_000) });
  if (!res.ok) throw new Error(`GET ${url}/v1/cluster: ${res.status} ${await res.text()}`);
  return (await res.json()) as ClusterView;
}

/** The views of these nodes, or undefined when one of them did not answer. */
export async function clusterViews(nodes: readonly NodeProcess[]): Promise<ClusterView[] | undefined> {
  try {
    return await Promise.all(nodes.map((n) => clusterView(n.url)));
  } catch {
    return undefined;
  }
}

/**
 * Whether these views (one per live node) show a settled cluster of exactly `ids`: every node lists
 * the same members, one leader among them that calls itself leader, and the nodes' own routed
 * partitions cover every partition exactly once, each node holding its share (1 to ⌈P/N⌉).
 */
export function settled(views: readonly ClusterView[], ids: readonly string[]): boolean {
  const want = [...ids].sort().join(',');
  const total = views[0]?.partitions.total ?? 0;
  const owned = views.flatMap((v) => v.partitions.owned);
  const leaders = views.filter((v) => v.isLeader);
  return (
    views.length === ids.length &&
    views.every(
      (v) =>
        v.nodes
          .map((n) => n.node)
          .sort()
          .join(',') === want,
    ) &&
    views.every((v) => v.leader !== null && ids.includes(v.leader.node) && v.leader.node === leaders[0]?.node) &&
    leaders.length === 1 &&
    owned.length === total &&
    new Set(owned).size === total &&
    views.every((v) => v.partitions.owned.length >= 1 && v.partitions.owned.length <= Math.ceil(total / ids.length))
  );
}

/** Waits until the live nodes of `group` are exactly `ids` and settled; resolves with their views. */
export async function waitForSettled(
  group: NodeGroup,
  ids: readonly string[],
  timeoutMs = 60_000,
): Promise<ClusterView[]> {
  let views: ClusterView[] | undefined;
  await waitUntil(
    async () => {
      views = await clusterViews(group.live());
      return views !== undefined && settled(views, ids);
    },
    () => `a settled cluster of ${ids.join(', ')} (last views: ${JSON.stringify(views)})`,
    timeoutMs,
  );
  return views!;
}

/** Applies a rule manifest through `url` (a follower redirects to the leader; fetch follows). */
export interface RuleManifest {
  readonly apiVersion: 'homeostat/v1';
  readonly kind: 'Rule';
  readonly metadata: { readonly name: string };
  readonly spec: Readonly<Record<string, unknown>>;
}

export async function putRule(url: string, rule: RuleManifest): Promise<void> {
  const res = await fetch(`${url}/v1/rules/${rule.metadata.name}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(rule),
  });
  if (!res.ok) throw new Error(`PUT rule ${rule.metadata.name}: ${res.status} ${await res.text()}`);
}

/** One partition key per partition: `<prefix><n>` for the first n that hashes to each. */
export function keysForPartitions(prefix: string, partitions: number): string[] {
  const keys: (string | undefined)[] = Array.from({ length: partitions });
  for (let n = 0, found = 0; found < partitions; n++) {
    const p = partitionOf(`${prefix}${n}`, partitions);
    if (keys[p] === undefined) {
      keys[p] = `${prefix}${n}`;
      found++;
    }
  }
  return keys as string[];
}

/**
 * Posts one event to every partition (new ids each round) until the sink received one from each:
 * then every partition's owner routes with the rule just applied (rules reach other nodes on their
 * refresh). `event(key, id)` builds an event the rule matches.
 */
export async function warmUp(
  nodes: () => readonly NodeProcess[],
  sink: Sink,
  partitions: number,
  event: (key: string, id: string) => object,
  timeoutMs = 30_000,
): Promise<void> {
  const keys = keysForPartitions('warm-', partitions);
  const round = randomBytes(3).toString('hex');
  const ids = new Map<string, string[]>();
  let attempt = 0;
  await waitUntil(
    async () => {
      const missing = keys.filter((key) => !(ids.get(key) ?? []).some((id) => sink.eventIds.has(id)));
      if (missing.length === 0) return true;
      attempt++;
      const events = missing.map((key) => {
        const id = `warm-${round}-${attempt}-${key}`;
        ids.set(key, [...(ids.get(key) ?? []), id]);
        return event(key, id);
      });
      const node = nodes()[attempt % nodes().length]!;
      await postBatch(node.url, events);
      await sleep(1_000);
      return false;
    },
    'a warm-up event delivered from every partition',
    timeoutMs,
    0,
  );
}

/** POSTs a batch of CloudEvents; resolves with the HTTP status (throws on a network error). */
export async function postBatch(url: string, events: readonly object[], timeoutMs = 10_000): Promise<number> {
  const res = await fetch(`${url}/v1/events`, {
    method: 'POST',
    headers: { 'content-type': 'application/cloudevents-batch+json' },
    body: JSON.stringify(events),
    signal: AbortSignal.timeout(timeoutMs),
  });
  await res.arrayBuffer();
  return res.status;
}

/** What GET /v1/cluster on the survivors showed after one node was killed. */
export interface Takeover {
  readonly killed: string;
  readonly role: 'follower' | 'leader';
  /** performance.now() just before the SIGKILL. */
  readonly killedAt: number;
  /** The partitions the killed node routed. */
  readonly partitions: readonly number[];
  /** Kill to the survivors routing every partition between them. */
  readonly partitionsMs: number;
  /** Kill to the survivors agreeing on a leader among them (for a follower: the leader of before). */
  readonly leaderMs: number;
  readonly leaderAfter: { readonly node: string; readonly token: number };
}

/**
 * SIGKILLs node `id` (its view in `before` says what it owned and whether it led), then polls every
 * survivor's /v1/cluster every 100 ms until they route every partition between them and agree on
 * a leader (a new one, with a greater token, when the leader was killed).
 */
export async function killAndMeasure(
  group: NodeGroup,
  id: string,
  before: readonly ClusterView[],
  timeoutMs = 30_000,
): Promise<Takeover> {
  const victim = group.live().find((n) => n.id === id);
  const victimView = before.find((v) => v.node === id);
  if (!victim || !victimView?.leader) throw new Error(`node ${id} is not running or has no view`);
  const tokenBefore = victimView.leader.token;
  const total = victimView.partitions.total;
  const killedAt = performance.now();
  await victim.kill();
  const survivors = group.live();
  let partitionsMs: number | undefined;
  let leaderMs: number | undefined;
  let leaderAfter: Takeover['leaderAfter'] | undefined;
  let last: ClusterView[] | undefined;
  await waitUntil(
    async () => {
      const views = (last = await clusterViews(survivors));
      if (!views) return false;
      const elapsed = performance.now() - killedAt;
      const owned = views.flatMap((v) => v.partitions.owned);
      if (partitionsMs === undefined && owned.length === total && new Set(owned).size === total) partitionsMs = elapsed;
      const leaders = views.filter((v) => v.isLeader);
      const leader = leaders[0]?.leader;
      const agreed =
        leaders.length === 1 &&
        leader !== undefined &&
        leader !== null &&
        leader.node !== id &&
        (victimView.isLeader ? leader.token > tokenBefore : leader.token === tokenBefore) &&
        views.every((v) => v.leader?.node === leader.node && v.leader.token === leader.token);
      if (leaderMs === undefined && agreed) {
        leaderMs = elapsed;
        leaderAfter = { node: leader.node, token: leader.token };
      }
      return partitionsMs !== undefined && leaderMs !== undefined;
    },
    () => `the survivors of ${id} to route every partition under one leader (last views: ${JSON.stringify(last)})`,
    timeoutMs,
    100,
  );
  return {
    killed: id,
    role: victimView.isLeader ? 'leader' : 'follower',
    killedAt,
    partitions: victimView.partitions.owned,
    partitionsMs: partitionsMs!,
    leaderMs: leaderMs!,
    leaderAfter: leaderAfter!,
  };
}

/** Arrivals this soon after a kill may still come from the dead node's socket buffers. */
export const AFTER_KILL_MS = 100;

/**
 * Delivery on the killed node's partitions after a kill: ms from the kill to the first arrival
 * (later than AFTER_KILL_MS) of an event of those partitions, and the longest silence on them
 * around the kill (last arrival before it to that first arrival); undefined when none arrived.
 */
export function deliveryAfterKill(
  requests: readonly SinkRequest[],
  takeover: Takeover,
  partitions: number,
): { resumedMs: number; silenceMs: number } | undefined {
  const mine = (r: SinkRequest): boolean => takeover.partitions.includes(partitionOf(r.partitionKey, partitions));
  const resumed = requests.find((r) => r.at > takeover.killedAt + AFTER_KILL_MS && mine(r));
  if (!resumed) return undefined;
  const before = requests.filter((r) => r.at <= takeover.killedAt && mine(r)).at(-1);
  return {
    resumedMs: resumed.at - takeover.killedAt,
    silenceMs: resumed.at - (before?.at ?? takeover.killedAt),
  };
}
