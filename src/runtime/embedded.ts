/** @module The embedded runtime: one process, SQLite log and state in the data directory. */
import { join } from 'node:path';
import type { Logger } from 'pino';
import { createTargetRegistry } from '../actions/registry.js';
import { createApiServer } from '../api/server.js';
import { type Clock, systemClock } from '../core/clock.js';
import { ErrorCode, HomeostatError } from '../core/errors.js';
import { createEngine } from '../engine/engine.js';
import { createInfraService } from '../engine/infra/service.js';
import { createOperations } from '../engine/operations.js';
import { createRuleService, ruleValidationContext } from '../engine/rule-service.js';
import { createWhyService } from '../engine/why/service.js';
import { createIngestor } from '../ingest/ingest.js';
import { createSchemaRegistry } from '../ingest/schema-registry.js';
import type { EventLog } from '../ports/event-log.js';
import type { TargetRegistry } from '../ports/target.js';
import type { InfraService } from '../engine/infra/service.js';
import type { TokenStore } from '../ports/token-store.js';
import { createLocalProvider } from '../providers/local/provider.js';
import { createSimProvider, type SimProvider } from '../providers/sim/provider.js';
import type { Provider } from '../ports/provider.js';
import { createPrometheusSources } from '../sources/prometheus/scrape.js';
import { createAutomation } from './automation.js';
import { DataFiles, openEventLog, openStateStores } from './backends.js';
import { applyBootstrap } from './bootstrap.js';
import { createRuntimeMetrics } from './metrics.js';
import { activityLogger, followActivity } from './activity.js';
import { createLogger } from './logger.js';
import { startTracing } from './tracing.js';
import { createLagSampler } from '../engine/series.js';
import type { ResolvedConfig } from './config.js';
import { type ClusterNode, joinCluster } from './cluster-node.js';

export interface EmbeddedHomeostat {
  /** The base URL the API serves, e.g. http://127.0.0.1:8420. */
  readonly url: string;
  readonly config: ResolvedConfig;
  /** Where the log and the state are, e.g. `nats nats://127.0.0.1:4222 (stream of 'events')`. */
  readonly backends: { readonly log: string; readonly store: string };
  /** Cluster mode: this node's view of the cluster; undefined on a single node. */
  readonly cluster?: ClusterNode;
  close(): Promise<void>;
}

export interface EmbeddedOptions {
  readonly logger?: Logger;
  readonly clock?: Clock;
  /** Wraps the event log, e.g. to instrument it or, in tests, to hold appends. */
  readonly decorateLog?: (log: EventLog) => EventLog;
  /** Stop every provider instance on close (tests); by default instances outlive the process. */
  readonly stopInfraOnClose?: boolean;
  /**
   * Use this provider as `sim` instead of one built from `providers.sim` (e.g. a sim provider on
   * the same VirtualClock passed as `clock`, driven by the caller, for what-if runs and scenarios).
   */
  readonly sim?: SimProvider;
  /**
   * Cluster: this node lost the leader lease while running. Default: exit the process with code 75
   * (fail-stop; its process manager starts it again as a follower). Tests pass their own.
   */
  readonly onDeposed?: () => void;
}

/**
 * How long delivered keys (idempotency) and trace entries are kept: 7 days. Dead letters and
 * pending retries are kept until handled.
 */
export const DELIVERY_HISTORY_MS = 7 * 86_400_000;

export { DataFiles };

/**
 * For token management while the server is not running: the token store of the configured state
 * (SQLite in the data directory, or PostgreSQL with `store.url`).
 */
export async function openTokenStore(
  config: ResolvedConfig,
  clock: Clock = systemClock,
): Promise<{ store: TokenStore; close(): Promise<void> }> {
  const stores = await openStateStores(config, clock);
  return { store: stores.tokens, close: () => stores.close() };
}

function listenError(cause: unknown, config: ResolvedConfig): HomeostatError {
  const { host, port } = config.server;
  const code = (cause as { code?: string }).code;
  const why =
    code === 'EADDRINUSE'
      ? `${host}:${port} is already in use; stop the other process or pick another port with --port (0 picks a free one)`
      : code === 'EADDRNOTAVAIL'
        ? `${host} is not an address of this machine; check --host`
        : code === 'EACCES'
          ? `binding port ${port} needs privileges; use a port above 1023`
          : (cause as Error).message;
  return new HomeostatError(ErrorCode.CONFIG_INVALID, `cannot serve on ${host}:${port}: ${why}`, { cause });
}

function formatUrl(host: string, port: number): string {
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
}

/**
 * Starts Homeostat in one process: on the embedded backends by default (SQLite in the data
 * directory), or on NATS JetStream and PostgreSQL when `log.url` / `store.url` say so.
 */
export async function startEmbedded(config: ResolvedConfig, options: EmbeddedOptions = {}): Promise<EmbeddedHomeostat> {
  const logger = options.logger ?? createLogger(config);
  const clock = options.clock ?? systemClock;
  const tracer = startTracing(config.tracing, logger);
  const { tracing } = tracer;
  const stores = await openStateStores(config, clock).catch(async (err: unknown) => {
    await tracer.close();
    throw err;
  });
  const tokens = stores.tokens;
  if (config.authRequired && (await tokens.count()) === 0) {
    await stores.close();
    await tracer.close();
    throw new HomeostatError(
      ErrorCode.CONFIG_INVALID,
      `serving ${config.server.host} requires API tokens and none exist; create one with \`homeostat tokens create --data-dir ${config.dataDir} --name admin --scopes admin\` and start again`,
    );
  }
  const opened = await openEventLog(config, clock).catch(async (err: unknown) => {
    await stores.close();
    await tracer.close();
    throw err;
  });
  const log = options.decorateLog ? options.decorateLog(opened.log) : opened.log;
  /** Cluster mode: this node, once it joined (after the API listens). */
  let cluster: ClusterNode | undefined;
  const schemas = await createSchemaRegistry(stores.schemas);
  const ingestor = createIngestor({ log, schemas, limits: config.ingest, tracing });
  const publish = async (events: readonly unknown[]) =>
    (await ingestor.ingest({ entries: events, batch: true, bodyBytes: Number.POSITIVE_INFINITY })).results;
  // The infrastructure service and the registry are built below; automation reaches them lazily.
  const late: { infra?: InfraService; registry?: TargetRegistry } = {};
  const automation = await createAutomation({
    stores,
    log,
    clock,
    logger,
    publish,
    targets: () => late.registry!,
    infra: () => late.infra!,
    tracing,
    ...(config.cluster
      ? { cluster: { fence: async () => (cluster ? cluster.fence() : 'this node has not joined the cluster yet') } }
      : {}),
  });
  const actions = createTargetRegistry({
    logger,
    clock,
    exec: config.actions.exec,
    publish,
    extra: automation.targets,
  });
  late.registry = actions;
  const deliveryStore = stores.deliveries;
  const engine = createEngine({
    log,
    store: deliveryStore,
    targets: actions,
    clock,
    conditionStore: stores.conditions,
    onError: (err) => logger.error({ err }, 'rules engine error'),
    tracing,
    ...(config.cluster ? { cluster: { placement: (spec) => actions.get(spec.action)?.placement ?? 'partition' } } : {}),
  });
  const context = ruleValidationContext(actions);
  const providers = new Map<string, Provider>([
    [
      'local',
      createLocalProvider({
        dataDir: join(config.dataDir, 'providers', 'local'),
        clock,
        metricsIntervalMs: config.providers.local.metricsIntervalMs,
      }),
    ],
  ]);
  // The simulated cloud runs on its own virtual clock, driven in real time at `speed`.
  if (options.sim) providers.set('sim', options.sim);
  else if (config.providers.sim)
    providers.set('sim', createSimProvider({ seed: config.providers.sim.seed, speed: config.providers.sim.speed }));
  const infra = createInfraService({
    providers,
    stacks: stores.stacks,
    publish,
    clock,
    onError: (err) => logger.error({ err }, 'infrastructure error'),
  });
  late.infra = infra;
  const scrapes = createPrometheusSources(config, { publish, clock, logger });
  const rules = createRuleService({
    store: stores.rules,
    clock,
    context,
    onChange: (name, spec) => {
      logger.debug({ rule: name, enabled: spec?.enabled }, 'rule changed');
      engine.setRule(name, spec);
    },
    onInvalid: (name, err) =>
      logger.warn({ rule: name, err }, `rule ${name} no longer validates and is not active; re-apply or delete it`),
  });
  const policies = automation.createPolicies(rules, providers);
  let state: 'starting' | 'ready' | 'closing' = 'starting';
  const metrics = createRuntimeMetrics({
    log,
    engine,
    infra,
    ingest: ingestor.stats,
    retention: { maxAgeMs: config.log.maxAgeMs, maxBytes: config.log.maxBytes },
  });
  // What automation did, as log lines and metrics, read back from the log.
  const activity = followActivity(log, [activityLogger(logger), metrics.observe], (err) =>
    logger.error({ err }, 'activity follower error'),
  );
  // Consumer lag for the dashboard's plot (GET /v1/series): sampled, since it is not on the log.
  const lagSampler = createLagSampler({
    log,
    clock,
    positions: () => engine.positions(),
    onError: (err) => logger.debug({ err }, 'lag sample failed'),
  });
  const app = createApiServer({
    log,
    ingestor,
    schemas,
    tokens,
    rules,
    deliveries: engine.admin,
    operations: createOperations(engine, context),
    infra,
    workflows: automation.workflows,
    approvals: automation.approvals,
    actions: automation.gate,
    policies: policies.service,
    compliance: policies.compliance,
    incidents: policies.incidents,
    why: createWhyService({
      log,
      deliveries: engine.admin,
      rules,
      workflows: automation.workflows,
      incidents: policies.incidents,
      actions: automation.gate,
    }),
    cost: policies.finops,
    metrics,
    lagSampler,
    clock,
    logger,
    authRequired: config.authRequired,
    maxRequestBytes: config.ingest.maxRequestBytes,
    maxDepth: config.ingest.maxDepth,
    notReady: () => (state === 'ready' ? log.health() : [state]),
    ...(config.cluster
      ? {
          cluster: {
            route: () => cluster?.route(),
            status: async () => (cluster ? cluster.status() : { node: config.cluster?.nodeId, joining: true }),
          },
        }
      : {}),
  });
  const enforceRetention = () => {
    log.enforceRetention().then(
      ({ removed }) => {
        metrics.retentionRemoved(removed);
        if (removed > 0) logger.info({ removed }, 'retention removed events');
      },
      (err: unknown) => logger.error({ err }, 'retention failed'),
    );
    deliveryStore.prune(clock.now() - DELIVERY_HISTORY_MS).then(
      (removed) => removed > 0 && logger.info({ removed }, 'pruned delivery history'),
      (err: unknown) => logger.error({ err }, 'pruning delivery history failed'),
    );
  };
  let retention: ReturnType<typeof setInterval> | undefined;
  const startRetention = () => {
    retention = setInterval(enforceRetention, config.log.retentionIntervalMs);
    retention.unref();
  };
  // The singletons: on a single node at start; in a cluster on the leader (cluster-node.ts).
  const startSingletons = async (): Promise<void> => {
    await infra.start();
    await automation.workflows.start();
    await policies.start();
    const applied = await applyBootstrap(config.manifests, {
      stack: (m) => infra.applyStack(m),
      workflow: (m) => automation.workflows.apply(m),
      policy: (m) => policies.service.apply(m),
      rule: (m) => rules.apply(m),
    });
    if (applied.length > 0) logger.info({ applied }, `applied ${applied.length} manifest(s) from the configuration`);
  };
  try {
    await activity.start();
    await rules.load();
    if (!config.cluster) {
      await engine.start();
      await startSingletons();
      startRetention();
    }
    await app.listen({ host: config.server.host, port: config.server.port });
  } catch (cause) {
    clearInterval(retention);
    await app.close();
    await policies.close();
    await automation.close();
    await infra.close();
    await engine.close();
    await actions.close();
    await activity.close();
    await log.close();
    await stores.close();
    await tracer.close();
    throw cause instanceof HomeostatError ? cause : listenError(cause, config);
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.server.port;
  const url = formatUrl(config.server.host, port);
  if (config.cluster) {
    const settings = config.cluster;
    let deposed = false;
    cluster = await joinCluster({
      store: stores.leases,
      settings,
      partitions: (await log.stats()).partitions,
      url,
      logger,
      startPartition: (p) => engine.startPartition(p),
      stopPartition: (p, drain) => engine.stopPartition(p, { drain }),
      lead: async () => {
        await automation.restoreHistory();
        await engine.startLeader();
        await startSingletons();
        startRetention();
        scrapes.start();
      },
      deposed: () => {
        if (deposed || state === 'closing') return;
        deposed = true;
        (options.onDeposed ?? (() => process.exit(75)))();
      },
      refresh: async () => {
        await rules.sync();
        for (const { type, error } of await schemas.sync()) {
          logger.warn({ err: error, type }, `schema for '${type}' changed elsewhere and does not compile here`);
        }
      },
    });
  } else {
    scrapes.start();
  }
  state = 'ready';
  lagSampler.start();
  logger.info(
    { url, dataDir: config.dataDir, auth: config.authRequired, log: opened.describe, store: stores.describe },
    'homeostat ready',
  );

  return {
    url,
    config,
    backends: { log: opened.describe, store: stores.describe },
    ...(cluster ? { cluster } : {}),
    async close() {
      if (state === 'closing') return;
      state = 'closing';
      clearInterval(retention);
      lagSampler.close();
      await app.close();
      await scrapes.close();
      await policies.close();
      await automation.close();
      await infra.close({ stopAll: options.stopInfraOnClose ?? false });
      // Routing stops and commits before the leases go, so the next owner resumes where this one stopped.
      await engine.close();
      await cluster?.close();
      await actions.close();
      await activity.close();
      await log.close();
      await stores.close();
      await tracer.close();
    },
  };
}
