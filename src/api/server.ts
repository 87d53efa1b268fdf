/** @module The HTTP API server: Fastify wired to the engine's services, auth, errors and health. */
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { hasScope, verifyToken } from '../auth/tokens.js';
import type { Clock } from '../core/clock.js';
import { ErrorCode, HomeostatError } from '../core/errors.js';
import type { ActionGateAdmin } from '../engine/automation/types.js';
import type { DeliveryAdmin } from '../engine/delivery-admin.js';
import type { InfraService } from '../engine/infra/service.js';
import type { EngineOperations } from '../engine/operations.js';
import type { RuleService } from '../engine/rule-service.js';
import type { Ingestor } from '../ingest/ingest.js';
import type { SchemaRegistry } from '../ingest/schema-registry.js';
import type { EventLog } from '../ports/event-log.js';
import type { Scope, TokenStore } from '../ports/token-store.js';
import { registerActionRoutes } from './action-routes.js';
import { type ComplianceReader, registerComplianceRoutes } from './compliance-routes.js';
import { type CostApi, registerCostRoutes } from './cost-routes.js';
import { registerDlqRoutes } from './dlq-routes.js';
import { sendError, statusOf, toHomeostatError } from './errors.js';
import { registerEventsRoutes } from './events-routes.js';
import { registerInfraRoutes } from './infra-routes.js';
import { registerPolicyRoutes } from './policy-routes.js';
import { registerIncidentRoutes } from './incident-routes.js';
import type { Incidents } from '../engine/incidents.js';
import type { WhyService } from '../engine/why/service.js';
import { registerWhyRoutes } from './why-routes.js';
import type { PolicyService } from '../engine/policies/service.js';
import { registerOperationsRoutes } from './operations-routes.js';
import { registerRuleRoutes } from './rules-routes.js';
import { registerSchemaRoutes } from './schemas-routes.js';
import { registerTokenRoutes } from './tokens-routes.js';
import { registerTraceRoutes } from './trace-routes.js';
import { registerWorkflowRoutes } from './workflow-routes.js';
import { registerDashboardRoutes } from './dashboard-routes.js';
import { registerSeriesRoutes } from './series-routes.js';
import type { LagSampler } from '../engine/series.js';
import { registerApprovalRoutes } from './approval-routes.js';
import { type ClusterApi, registerClusterRoutes } from './cluster-routes.js';
import type { WorkflowService } from '../engine/workflow/service.js';
import type { Approvals } from '../engine/automation/types.js';

export interface ApiDeps {
  readonly log: EventLog;
  readonly ingestor: Ingestor;
  readonly schemas: SchemaRegistry;
  readonly tokens: TokenStore;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly authRequired: boolean;
  readonly maxRequestBytes: number;
  readonly maxDepth: number;
  /** Reasons the server is not ready; empty when ready. */
  readonly notReady: () => readonly string[];
  /** Dead letters and trace (/v1/dlq, /v1/events/:id/trace); those routes exist only when set. */
  readonly deliveries?: DeliveryAdmin;
  /** Rules (/v1/rules); those routes exist only when set. */
  readonly rules?: RuleService;
  /** Replay and backtest (/v1/replay, /v1/backtest); those routes exist only when set. */
  readonly operations?: EngineOperations;
  /** Stacks and resources (/v1/stacks, /v1/resources); those routes exist only when set. */
  readonly infra?: InfraService;
  /** Workflows and runs (/v1/workflows, /v1/runs); those routes exist only when set. */
  readonly workflows?: WorkflowService;
  /** Approval requests (/v1/approvals); those routes exist only when set. */
  readonly approvals?: Approvals;
  /** Cost report (/v1/cost); that route exists only when set. */
  readonly cost?: CostApi;
  /** Automated actions and freezes (/v1/actions); those routes exist only when set. */
  readonly actions?: ActionGateAdmin;
  /** Policies (/v1/policies); those routes exist only when set. */
  readonly policies?: PolicyService;
  /** Prometheus metrics (GET /metrics, scope read); the route exists only when set. */
  readonly metrics?: { readonly contentType: string; render(): Promise<string> };
  /** The compliance report (/v1/compliance); that route exists only when set. */
  readonly compliance?: ComplianceReader;
  /** Incidents kept by HealingPolicies (/v1/incidents); those routes exist only when set. */
  readonly incidents?: Incidents;
  /** Causal explanations (/v1/why/{id}, /v1/why-not); those routes exist only when set. */
  readonly why?: WhyService;
  /** Consumer-lag samples for GET /v1/series (the route always exists; `lag` is empty without them). */
  readonly lagSampler?: LagSampler;
  /** Cluster mode: GET /v1/cluster, and management requests on a follower go to the leader. */
  readonly cluster?: ClusterApi;
  /** Serve the dashboard's assets at / and /ui/ (docs/DASHBOARD.md). Default true. */
  readonly dashboard?: boolean;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The token scope a route needs when auth is required. */
    scope?: Scope;
  }
}

async function authenticate(req: FastifyRequest, tokens: TokenStore): Promise<void> {
  const scope = req.routeOptions.config.scope;
  if (scope === undefined) return;
  const header = req.headers.authorization;
  const token = header?.startsWith('Bearer ') ? header.slice(7).trim() : undefined;
  const record = token ? await verifyToken(token, tokens) : undefined;
  if (!record) {
    throw new HomeostatError(
      ErrorCode.UNAUTHENTICATED,
      token
        ? 'the bearer token is not valid (revoked or mistyped)'
        : 'this server requires an API token: send Authorization: Bearer <token> (create one with `homeostat tokens create`)',
    );
  }
  if (!hasScope(record, scope)) {
    throw new HomeostatError(
      ErrorCode.FORBIDDEN,
      `token '${record.name}' lacks the '${scope}' scope needed here (it has: ${record.scopes.join(', ')})`,
    );
  }
}

export function createApiServer(deps: ApiDeps): FastifyInstance {
  const app = Fastify({
    // Per-request logs would cost more than ingest itself; warnings and errors still come through.
    loggerInstance: deps.logger.child({}, { level: 'warn' }) as FastifyBaseLogger,
    bodyLimit: deps.maxRequestBytes,
    routerOptions: { maxParamLength: 500 },
    return503OnClosing: true,
  });

  if (deps.authRequired) app.addHook('onRequest', async (req) => authenticate(req, deps.tokens));

  if (deps.cluster) registerClusterRoutes(app, deps.cluster);

  app.setErrorHandler((err, req, reply) => {
    const e = toHomeostatError(err, req, deps.maxRequestBytes);
    if (statusOf(e.code) >= 500) req.log.error({ err, code: e.code }, e.message);
    return sendError(reply, e);
  });
  app.setNotFoundHandler((req, reply) =>
    sendError(reply, new HomeostatError(ErrorCode.NOT_FOUND, `no route ${req.method} ${req.url}; see docs/API.md`)),
  );

  app.get('/healthz', async () => ({ status: 'ok' }));
  const metrics = deps.metrics;
  if (metrics)
    app.get('/metrics', { config: { scope: 'read' } }, async (_req, reply) =>
      reply.type(metrics.contentType).send(await metrics.render()),
    );
  app.get('/readyz', async (_req, reply) => {
    const reasons = deps.notReady();
    return reasons.length === 0 ? { status: 'ready' } : reply.code(503).send({ status: 'not-ready', reasons });
  });

  registerEventsRoutes(app, deps);
  registerSchemaRoutes(app, deps.schemas);
  registerTokenRoutes(app, deps.tokens, deps.clock);
  if (deps.rules) registerRuleRoutes(app, deps.rules, { maxDepth: deps.maxDepth });
  if (deps.deliveries) {
    registerDlqRoutes(app, deps.deliveries, deps.clock);
    registerTraceRoutes(app, deps.deliveries);
  }
  if (deps.operations) registerOperationsRoutes(app, deps.operations, deps.clock);
  if (deps.infra) registerInfraRoutes(app, deps.infra);
  if (deps.workflows) registerWorkflowRoutes(app, deps.workflows, { maxDepth: deps.maxDepth });
  if (deps.approvals) registerApprovalRoutes(app, deps.approvals);
  if (deps.cost) registerCostRoutes(app, deps.cost, deps.clock);
  if (deps.actions) registerActionRoutes(app, deps.actions);
  if (deps.policies) registerPolicyRoutes(app, deps.policies);
  if (deps.compliance) registerComplianceRoutes(app, deps.compliance);
  if (deps.incidents) registerIncidentRoutes(app, deps.incidents);
  if (deps.why) registerWhyRoutes(app, deps.why);
  registerSeriesRoutes(app, { log: deps.log, clock: deps.clock, ...(deps.lagSampler ? { lag: deps.lagSampler } : {}) });
  if (deps.dashboard !== false) registerDashboardRoutes(app);
  return app;
}
