/** @module Configuration: file (YAML/JSON) < environment < flags, validated once, normalised, frozen. */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { Ajv } from 'ajv';
import { LineCounter, parseDocument } from 'yaml';
import {
  EXEC_CONFIG_SCHEMA,
  type ExecConfig,
  type ResolvedExecConfig,
  resolveExecConfig,
} from '../actions/exec/config.js';
import { parseBytes, parseDuration } from '../core/durations.js';
import { ErrorCode, HomeostatError, invalid, type Problem } from '../core/errors.js';
import {
  type PrometheusSourceConfig,
  type ResolvedPrometheusSource,
  SOURCES_CONFIG_SCHEMA,
  resolvePrometheusSources,
} from '../sources/prometheus/config.js';
import type { FsyncMode } from '../store/sqlite/database.js';

/** Configuration as users write it (all optional; units as strings like '24h', '1MiB'). */
export interface HomeostatConfig {
  server?: { host?: string; port?: number };
  dataDir?: string;
  log?: {
    /** Where the log lives: unset for SQLite in the data directory, or `nats://host:4222` (JetStream). */
    url?: string;
    /** With a NATS log: `name` names its stream (`HOMEOSTAT_<name>`), so several installations can share a server. */
    nats?: { name?: string; replicas?: number };
    fsync?: FsyncMode;
    partitions?: number;
    dedupWindow?: string | number;
    dedupMaxKeys?: number;
    retention?: { maxAge?: string | number; maxBytes?: string | number; interval?: string | number };
  };
  /** Where the state lives: unset for SQLite in the data directory, or `postgres://user@host/db`. */
  store?: { url?: string; schema?: string };
  ingest?: {
    maxEventSize?: string | number;
    maxRequestSize?: string | number;
    maxDepth?: number;
    maxPendingEvents?: number;
  };
  auth?: { required?: boolean | 'auto' };
  /** `format`: `json` (one object a line), `pretty` (human-readable) or `auto` (pretty on a terminal). */
  logging?: {
    level?: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
    format?: 'auto' | 'json' | 'pretty';
  };
  /** OpenTelemetry tracing with OTLP/HTTP export; off by default (docs/OBSERVABILITY.md). */
  tracing?: {
    enabled?: boolean;
    /** OTLP/HTTP traces endpoint. Default http://127.0.0.1:4318/v1/traces. */
    endpoint?: string;
    headers?: Record<string, string>;
    serviceName?: string;
    /** Fraction of new traces recorded (0 to 1); traces begun elsewhere follow their parent. Default 1. */
    sampleRatio?: number;
  };
  /** Server-side settings of actions; `exec.allow` lists the commands rules may run (none by default). */
  actions?: { exec?: ExecConfig };
  /** Metrics from outside processes: `prometheus` lists text-format endpoints to scrape (none by default). */
  sources?: { prometheus?: PrometheusSourceConfig[] };
  /**
   * Manifests (files or directories of YAML/JSON: stacks, workflows, policies, rules) applied at
   * every start, like `homeostat apply -f`; unchanged ones are left as they are.
   */
  manifests?: string[];
  /**
   * Several nodes sharing one NATS log and one PostgreSQL state (docs/DEPLOYMENT.md): partitions
   * are owned through leases, singletons run on the elected leader.
   */
  cluster?: {
    enabled?: boolean;
    /** This node's name in leases, logs and /v1/cluster. Default `<hostname>-<pid>`. */
    nodeId?: string;
    /** The URL other nodes send clients to when this node leads. Default the URL it serves. */
    advertiseUrl?: string;
    /** How long a lease lasts without renewal: a dead node's work moves after about this. Default 3s. */
    leaseTtl?: string | number;
    /** How often leases are renewed and partitions rebalanced. Default 1s. */
    renewEvery?: string | number;
    /** How often a node re-reads rules and schemas changed through another node. Default 1s. */
    refreshEvery?: string | number;
  };
  /** Providers besides `local` (always on): `sim` runs a simulated cloud in this process. */
  providers?: {
    local?: { metricsInterval?: string | number };
    sim?: { enabled?: boolean; seed?: number; speed?: number };
  };
}

export interface ResolvedConfig {
  readonly server: { readonly host: string; readonly port: number };
  readonly dataDir: string;
  readonly log: {
    /** undefined: SQLite in the data directory. */
    readonly url?: string;
    readonly nats: { readonly name: string; readonly replicas: number };
    readonly fsync: FsyncMode;
    readonly partitions: number;
    readonly dedupWindowMs: number;
    readonly dedupMaxKeys: number;
    readonly maxAgeMs: number;
    readonly maxBytes: number;
    readonly retentionIntervalMs: number;
  };
  /** undefined url: SQLite in the data directory. */
  readonly store: { readonly url?: string; readonly schema?: string };
  readonly ingest: {
    readonly maxEventBytes: number;
    readonly maxRequestBytes: number;
    readonly maxDepth: number;
    readonly maxPendingEvents: number;
  };
  /** True when every /v1 request needs a bearer token. */
  readonly authRequired: boolean;
  readonly logLevel: NonNullable<NonNullable<HomeostatConfig['logging']>['level']>;
  readonly logFormat: NonNullable<NonNullable<HomeostatConfig['logging']>['format']>;
  /** undefined when tracing is off. */
  readonly tracing?: {
    readonly endpoint: string;
    readonly headers: Readonly<Record<string, string>>;
    readonly serviceName: string;
    readonly sampleRatio: number;
  };
  readonly actions: { readonly exec: ResolvedExecConfig };
  readonly sources: { readonly prometheus: readonly ResolvedPrometheusSource[] };
  /** Absolute paths of the manifests applied at start. */
  readonly manifests: readonly string[];
  /** undefined: one node (the default). */
  readonly cluster?: {
    readonly nodeId: string;
    readonly advertiseUrl?: string;
    readonly leaseTtlMs: number;
    readonly renewEveryMs: number;
    readonly refreshEveryMs: number;
  };
  /** `sim`: undefined when disabled; `speed` is virtual seconds per real second. */
  readonly providers: {
    /** How often each group's `infra.metrics` event is published. Default 1 s. */
    readonly local: { readonly metricsIntervalMs: number };
    readonly sim?: { readonly seed: number; readonly speed: number };
  };
}

const unit = { type: ['string', 'number'] };
const CONFIG_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  properties: {
    server: {
      type: 'object',
      additionalProperties: false,
      properties: { host: { type: 'string', minLength: 1 }, port: { type: 'integer', minimum: 0, maximum: 65535 } },
    },
    dataDir: { type: 'string', minLength: 1 },
    log: {
      type: 'object',
      additionalProperties: false,
      properties: {
        url: { type: 'string', pattern: '^nats://' },
        nats: {
          type: 'object',
          additionalProperties: false,
          properties: {
            name: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,64}$' },
            replicas: { type: 'integer', minimum: 1, maximum: 5 },
          },
        },
        fsync: { enum: ['normal', 'always'] },
        partitions: { type: 'integer', minimum: 1, maximum: 4096 },
        dedupWindow: unit,
        dedupMaxKeys: { type: 'integer', minimum: 1000 },
        retention: {
          type: 'object',
          additionalProperties: false,
          properties: { maxAge: unit, maxBytes: unit, interval: unit },
        },
      },
    },
    store: {
      type: 'object',
      additionalProperties: false,
      properties: {
        url: { type: 'string', pattern: '^postgres(ql)?://' },
        schema: { type: 'string', pattern: '^[a-z_][a-z0-9_]{0,62}$' },
      },
    },
    ingest: {
      type: 'object',
      additionalProperties: false,
      properties: {
        maxEventSize: unit,
        maxRequestSize: unit,
        maxDepth: { type: 'integer', minimum: 2, maximum: 1000 },
        maxPendingEvents: { type: 'integer', minimum: 1 },
      },
    },
    auth: {
      type: 'object',
      additionalProperties: false,
      properties: { required: { enum: [true, false, 'auto'] } },
    },
    logging: {
      type: 'object',
      additionalProperties: false,
      properties: {
        level: { enum: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] },
        format: { enum: ['auto', 'json', 'pretty'] },
      },
    },
    tracing: {
      type: 'object',
      additionalProperties: false,
      properties: {
        enabled: { type: 'boolean' },
        endpoint: { type: 'string', pattern: '^https?://' },
        headers: { type: 'object', additionalProperties: { type: 'string' } },
        serviceName: { type: 'string', minLength: 1 },
        sampleRatio: { type: 'number', minimum: 0, maximum: 1 },
      },
    },
    actions: { type: 'object', additionalProperties: false, properties: { exec: EXEC_CONFIG_SCHEMA } },
    sources: SOURCES_CONFIG_SCHEMA,
    manifests: { type: 'array', items: { type: 'string', minLength: 1 } },
    cluster: {
      type: 'object',
      additionalProperties: false,
      properties: {
        enabled: { type: 'boolean' },
        nodeId: { type: 'string', pattern: '^[A-Za-z0-9_.-]{1,64}$' },
        advertiseUrl: { type: 'string', pattern: '^https?://' },
        leaseTtl: unit,
        renewEvery: unit,
        refreshEvery: unit,
      },
    },
    providers: {
      type: 'object',
      additionalProperties: false,
      properties: {
        local: { type: 'object', additionalProperties: false, properties: { metricsInterval: unit } },
        sim: {
          type: 'object',
          additionalProperties: false,
          properties: {
            enabled: { type: 'boolean' },
            seed: { type: 'integer' },
            speed: { type: 'number', exclusiveMinimum: 0, maximum: 10000 },
          },
        },
      },
    },
  },
} as const;

const validateConfig = new Ajv({ allErrors: true, allowUnionTypes: true }).compile(CONFIG_SCHEMA);

/** True for 127.0.0.0/8, ::1 and 'localhost'. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** Reads a YAML or JSON config file; problems carry file:line:column. */
export function readConfigFile(path: string): HomeostatConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (cause) {
    throw new HomeostatError(ErrorCode.CONFIG_INVALID, `cannot read config file ${path}: ${(cause as Error).message}`, {
      cause,
    });
  }
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter });
  if (doc.errors.length > 0) {
    const problems = doc.errors.map((e) => {
      const pos = lineCounter.linePos(e.pos[0]);
      return { pointer: `${path}:${pos.line}:${pos.col}`, message: e.message.split('\n')[0] ?? e.message };
    });
    throw invalid(`config file ${path} is not valid YAML`, problems, ErrorCode.CONFIG_INVALID);
  }
  const value = (doc.toJS() ?? {}) as HomeostatConfig;
  checkShape(value, (pointer) => {
    const node = doc.getIn(pointer.split('/').filter(Boolean), true) as { range?: [number] } | undefined;
    const pos = node?.range ? lineCounter.linePos(node.range[0]) : undefined;
    return pos ? `${path}:${pos.line}:${pos.col} (${pointer || '/'})` : `${path} (${pointer || '/'})`;
  });
  return value;
}

function checkShape(value: unknown, where: (pointer: string) => string = (p) => p || '/'): void {
  if (validateConfig(value)) return;
  const problems: Problem[] = (validateConfig.errors ?? []).map((e) => {
    const extra =
      e.keyword === 'additionalProperties'
        ? `unknown setting '${(e.params as { additionalProperty: string }).additionalProperty}'`
        : e.keyword === 'enum'
          ? `must be one of ${JSON.stringify((e.params as { allowedValues: unknown[] }).allowedValues)}`
          : (e.message ?? 'invalid');
    return { pointer: where(e.instancePath), message: extra };
  });
  throw invalid('invalid configuration', problems, ErrorCode.CONFIG_INVALID);
}

/** Settings from HOMEOSTAT_* environment variables. */
export function configFromEnv(env: NodeJS.ProcessEnv): HomeostatConfig {
  const cfg: HomeostatConfig = {};
  if (env.HOMEOSTAT_HOST || env.HOMEOSTAT_PORT) {
    cfg.server = {};
    if (env.HOMEOSTAT_HOST) cfg.server.host = env.HOMEOSTAT_HOST;
    if (env.HOMEOSTAT_PORT) cfg.server.port = toPort(env.HOMEOSTAT_PORT, 'HOMEOSTAT_PORT');
  }
  if (env.HOMEOSTAT_DATA_DIR) cfg.dataDir = env.HOMEOSTAT_DATA_DIR;
  if (env.HOMEOSTAT_FSYNC || env.HOMEOSTAT_LOG_URL) {
    cfg.log = {};
    if (env.HOMEOSTAT_FSYNC) cfg.log.fsync = env.HOMEOSTAT_FSYNC as FsyncMode;
    if (env.HOMEOSTAT_LOG_URL) cfg.log.url = env.HOMEOSTAT_LOG_URL;
  }
  if (env.HOMEOSTAT_STORE_URL) cfg.store = { url: env.HOMEOSTAT_STORE_URL };
  if (env.HOMEOSTAT_CLUSTER || env.HOMEOSTAT_NODE_ID || env.HOMEOSTAT_ADVERTISE_URL) {
    cfg.cluster = {};
    if (env.HOMEOSTAT_CLUSTER) cfg.cluster.enabled = toBoolean(env.HOMEOSTAT_CLUSTER, 'HOMEOSTAT_CLUSTER');
    if (env.HOMEOSTAT_NODE_ID) cfg.cluster.nodeId = env.HOMEOSTAT_NODE_ID;
    if (env.HOMEOSTAT_ADVERTISE_URL) cfg.cluster.advertiseUrl = env.HOMEOSTAT_ADVERTISE_URL;
  }
  if (env.HOMEOSTAT_LOG_LEVEL || env.HOMEOSTAT_LOG_FORMAT) {
    cfg.logging = {};
    if (env.HOMEOSTAT_LOG_LEVEL) cfg.logging.level = env.HOMEOSTAT_LOG_LEVEL as 'info';
    if (env.HOMEOSTAT_LOG_FORMAT) cfg.logging.format = env.HOMEOSTAT_LOG_FORMAT as 'json';
  }
  // The standard OpenTelemetry variable turns tracing on with that endpoint.
  const otlp = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT;
  if (otlp) cfg.tracing = { enabled: true, endpoint: otlp };
  return cfg;
}

function toBoolean(raw: string, field: string): boolean {
  if (/^(1|true|yes|on)$/i.test(raw)) return true;
  if (/^(0|false|no|off)$/i.test(raw)) return false;
  throw new HomeostatError(ErrorCode.CONFIG_INVALID, `${field}: '${raw}' is not a boolean; use true or false`);
}

/** Parses a port number from a flag or variable, naming it on error. */
export function toPort(raw: string, field: string): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > 65535) {
    throw new HomeostatError(
      ErrorCode.CONFIG_INVALID,
      `${field}: '${raw}' is not a port; use an integer from 0 to 65535 (0 picks a free port)`,
    );
  }
  return n;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Deep-merges configs; later ones win. */
export function mergeConfigs(...configs: HomeostatConfig[]): HomeostatConfig {
  const out: Record<string, unknown> = {};
  for (const cfg of configs) mergeInto(out, cfg as Record<string, unknown>);
  return out as HomeostatConfig;
}

function mergeInto(target: Record<string, unknown>, source: Record<string, unknown>): void {
  for (const [k, v] of Object.entries(source)) {
    if (v === undefined) continue;
    const cur = target[k];
    if (isObject(v) && isObject(cur)) mergeInto(cur, v);
    else target[k] = isObject(v) ? mergeConfigs(v as HomeostatConfig) : v;
  }
}

export interface ConfigSources {
  /** Path of a YAML/JSON config file. */
  readonly file?: string;
  readonly env?: NodeJS.ProcessEnv;
  /** Highest precedence, e.g. from CLI flags. */
  readonly overrides?: HomeostatConfig;
  /** Base directory for a relative dataDir. Default: the current directory. */
  readonly cwd?: string;
}

/** Loads, merges, validates and normalises the configuration. */
export function loadConfig(sources: ConfigSources = {}): ResolvedConfig {
  const env = sources.env ?? {};
  const file = sources.file ?? env.HOMEOSTAT_CONFIG;
  const fromFile = file ? readConfigFile(file) : {};
  const merged = mergeConfigs(fromFile, configFromEnv(env), sources.overrides ?? {});
  checkShape(merged);
  return resolveConfig(merged, sources.cwd ?? process.cwd());
}

/** Applies defaults and converts units; input must already have the right shape. */
export function resolveConfig(cfg: HomeostatConfig, cwd: string): ResolvedConfig {
  const host = cfg.server?.host ?? '127.0.0.1';
  const required = cfg.auth?.required ?? 'auto';
  return Object.freeze({
    server: Object.freeze({ host, port: cfg.server?.port ?? 8420 }),
    dataDir: resolve(cwd, cfg.dataDir ?? '.homeostat'),
    log: Object.freeze({
      ...(cfg.log?.url === undefined ? {} : { url: cfg.log.url }),
      nats: Object.freeze({ name: cfg.log?.nats?.name ?? 'events', replicas: cfg.log?.nats?.replicas ?? 1 }),
      fsync: cfg.log?.fsync ?? 'normal',
      partitions: cfg.log?.partitions ?? 16,
      dedupWindowMs: parseDuration(cfg.log?.dedupWindow ?? '24h', 'log.dedupWindow'),
      dedupMaxKeys: cfg.log?.dedupMaxKeys ?? 2_000_000,
      maxAgeMs: parseDuration(cfg.log?.retention?.maxAge ?? '7d', 'log.retention.maxAge'),
      maxBytes: parseBytes(cfg.log?.retention?.maxBytes ?? '10GiB', 'log.retention.maxBytes'),
      retentionIntervalMs: parseDuration(cfg.log?.retention?.interval ?? '1m', 'log.retention.interval'),
    }),
    store: Object.freeze({
      ...(cfg.store?.url === undefined ? {} : { url: cfg.store.url }),
      ...(cfg.store?.schema === undefined ? {} : { schema: cfg.store.schema }),
    }),
    ingest: Object.freeze({
      maxEventBytes: parseBytes(cfg.ingest?.maxEventSize ?? '256KiB', 'ingest.maxEventSize'),
      maxRequestBytes: parseBytes(cfg.ingest?.maxRequestSize ?? '1MiB', 'ingest.maxRequestSize'),
      maxDepth: cfg.ingest?.maxDepth ?? 64,
      maxPendingEvents: cfg.ingest?.maxPendingEvents ?? 100_000,
    }),
    authRequired: required === 'auto' ? !isLoopback(host) : required,
    logLevel: cfg.logging?.level ?? 'info',
    logFormat: cfg.logging?.format ?? 'auto',
    ...(cfg.tracing?.enabled
      ? {
          tracing: Object.freeze({
            endpoint: cfg.tracing.endpoint ?? 'http://127.0.0.1:4318/v1/traces',
            headers: Object.freeze({ ...cfg.tracing.headers }),
            serviceName: cfg.tracing.serviceName ?? 'homeostat',
            sampleRatio: cfg.tracing.sampleRatio ?? 1,
          }),
        }
      : {}),
    actions: Object.freeze({ exec: resolveExecConfig(cfg.actions?.exec) }),
    sources: Object.freeze({ prometheus: resolvePrometheusSources(cfg.sources?.prometheus) }),
    manifests: Object.freeze((cfg.manifests ?? []).map((m) => resolve(cwd, m))),
    ...(cfg.cluster?.enabled ? { cluster: resolveCluster(cfg) } : {}),
    providers: Object.freeze({
      local: Object.freeze({
        metricsIntervalMs: parseDuration(
          cfg.providers?.local?.metricsInterval ?? '1s',
          'providers.local.metricsInterval',
        ),
      }),
      ...(cfg.providers?.sim?.enabled
        ? { sim: Object.freeze({ seed: cfg.providers.sim.seed ?? 1, speed: cfg.providers.sim.speed ?? 1 }) }
        : {}),
    }),
  });
}

/** The cluster settings: they need the shared backends, and timings that keep a lease renewed. */
function resolveCluster(cfg: HomeostatConfig): NonNullable<ResolvedConfig['cluster']> {
  const c = cfg.cluster ?? {};
  const problems: Problem[] = [];
  if (cfg.log?.url === undefined) {
    problems.push({
      pointer: '/log/url',
      message: 'several nodes share one NATS JetStream log: set log.url (--log nats://host:4222)',
    });
  }
  if (cfg.store?.url === undefined) {
    problems.push({
      pointer: '/store/url',
      message: 'several nodes share one PostgreSQL state: set store.url (--store postgres://user@host/db)',
    });
  }
  const leaseTtlMs = parseDuration(c.leaseTtl ?? '3s', 'cluster.leaseTtl');
  const renewEveryMs = parseDuration(c.renewEvery ?? '1s', 'cluster.renewEvery');
  // The keeper gives a lease up locally a fifth of the TTL before the store could expire it.
  if (renewEveryMs <= 0 || renewEveryMs >= leaseTtlMs - Math.floor(leaseTtlMs / 5)) {
    problems.push({
      pointer: '/cluster/renewEvery',
      message: `must be shorter than 4/5 of cluster.leaseTtl (${leaseTtlMs} ms) so a lease is renewed in time; e.g. leaseTtl 3s, renewEvery 1s`,
    });
  }
  if (problems.length > 0) throw invalid('invalid cluster configuration', problems, ErrorCode.CONFIG_INVALID);
  return Object.freeze({
    nodeId:
      c.nodeId ??
      `${hostname()
        .replace(/[^A-Za-z0-9_.-]/g, '-')
        .slice(0, 40)}-${process.pid}`,
    ...(c.advertiseUrl === undefined ? {} : { advertiseUrl: c.advertiseUrl.replace(/\/+$/, '') }),
    leaseTtlMs,
    renewEveryMs,
    refreshEveryMs: parseDuration(c.refreshEvery ?? '1s', 'cluster.refreshEvery'),
  });
}
