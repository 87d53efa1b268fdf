/**
 * @module The embedded runtime's automation: approvals, the action gate (safety rails), workflows,
 * the infrastructure actions and the policies (scaling, healing, compliance, cost), wired on the
 * SQLite state database. Built in two steps because the actions must be in the target registry
 * before the engine exists, and the policies need the rules and the infrastructure built after it.
 */
import type { Logger } from 'pino';
import type { Clock } from '../core/clock.js';
import type { CloudEvent } from '../core/event.js';
import type { TargetSpec } from '../core/rules/types.js';
import { type ApprovalService, createApprovals } from '../engine/approvals.js';
import { createWorkflowService } from '../engine/workflow/service.js';
import type { StateStores } from './backends.js';
import { createInfraActionTargets } from '../engine/automation/actions.js';
import { createActionGate, type ManagedActionGate } from '../engine/automation/gate.js';
import { DEFAULT_HISTORY_MS, loadActionHistory } from '../engine/automation/history.js';
import { performInfraAction } from '../engine/automation/perform.js';
import type { InfraControl, Publish } from '../engine/automation/types.js';
import { createFinOps, type FinOps } from '../engine/finops/finops.js';
import { createIncidents, type Incidents } from '../engine/incidents.js';
import type { InfraService } from '../engine/infra/service.js';
import { type Compliance, createCompliance } from '../engine/policies/compliance.js';
import { createHealing, type HealingKind } from '../engine/policies/healing.js';
import { scalingPolicyKind } from '../engine/policies/scaling.js';
import { createPolicyService, type PolicyService } from '../engine/policies/service.js';
import { createPolicyTarget } from '../engine/policies/target.js';
import type { RuleService } from '../engine/rule-service.js';
import type { WorkflowService } from '../engine/workflow/service.js';
import type { EventLog } from '../ports/event-log.js';
import type { EventTracing } from '../telemetry/event-tracing.js';
import type { Provider } from '../ports/provider.js';
import type { Target, TargetRegistry } from '../ports/target.js';

export interface AutomationDeps {
  readonly stores: Pick<StateStores, 'approvals' | 'workflows' | 'incidents' | 'costLedger' | 'policies'>;
  readonly log: EventLog;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly publish: Publish;
  /** The target registry, once built (workflow steps and notifications use it). */
  readonly targets: () => TargetRegistry;
  /** The infrastructure service, once built. */
  readonly infra: () => InfraService;
  /** Spans around automated actions. */
  readonly tracing?: EventTracing;
  /**
   * Cluster: the gate's fence (ActionGateDeps.fence), and its action history is loaded by
   * `restoreHistory` when this node starts to lead instead of at creation, so the rails see what
   * the previous leader did.
   */
  readonly cluster?: { readonly fence: () => Promise<string | undefined> };
}

/** Step one: what must exist before the target registry. */
export interface Automation {
  readonly approvals: ApprovalService;
  readonly gate: ManagedActionGate;
  readonly workflows: WorkflowService;
  /** The actions automation adds to the registry: scale, replace, ..., policy, workflow. */
  readonly targets: readonly Target[];
  /** Step two: policies, once rules and infrastructure exist; `start` them after the infrastructure. */
  createPolicies(rules: RuleService, providers: ReadonlyMap<string, Provider>): Policies;
  /** Cluster: loads the action history into the gate (on becoming leader). */
  restoreHistory(): Promise<void>;
  /** Closes the gate, workflows and approvals (after the policies). */
  close(): Promise<void>;
}

export interface Policies {
  readonly service: PolicyService;
  readonly incidents: Incidents;
  readonly compliance: Compliance;
  readonly finops: FinOps;
  /** Starts cost tracking and every stored policy. */
  start(): Promise<void>;
  close(): Promise<void>;
}

const NOTIFY_ATTEMPTS = 3;

/** Sends a notification through the `http` action (signed when configured), retried a few times. */
function notifier(targets: () => TargetRegistry, clock: Clock) {
  return async (url: string, body: unknown, idempotencyKey: string): Promise<void> => {
    const http = targets().get('http');
    if (!http) throw new Error('the http action is not available');
    const event: CloudEvent = {
      specversion: '1.0',
      id: idempotencyKey,
      source: 'homeostat/notify',
      type: 'homeostat.notification',
    };
    const target = { id: 'notify', action: 'http', with: { url }, timeoutMs: 5_000 } as unknown as TargetSpec;
    let last = '';
    for (let attempt = 1; attempt <= NOTIFY_ATTEMPTS; attempt++) {
      const outcome = await http.deliver({
        record: { offset: -1, partition: 0, partitionKey: 'notify', appendedAt: clock.now(), event },
        rule: 'notify',
        target,
        attempt,
        idempotencyKey,
        payload: body,
        replayed: false,
        signal: AbortSignal.timeout(5_000),
      });
      if (outcome.ok) return;
      last = outcome.error.message;
      if (outcome.retry === 'no') break;
      await new Promise((r) => setTimeout(r, 250 * 2 ** attempt));
    }
    throw new Error(`notification to ${url} failed: ${last}`);
  };
}

/** Step one: approvals, the gate (its rails restored from the log), workflows and the actions. */
export async function createAutomation(d: AutomationDeps): Promise<Automation> {
  const onError = (what: string) => (err: unknown) => d.logger.error({ err }, what);
  const approvals = createApprovals({ store: d.stores.approvals, clock: d.clock, onError: onError('approvals') });
  const control = (): InfraControl => d.infra().control;
  const gate = createActionGate({
    clock: d.clock,
    publish: d.publish,
    approvals,
    logger: d.logger,
    history: d.cluster ? [] : await loadActionHistory(d.log, d.clock.now() - DEFAULT_HISTORY_MS),
    performRequest: (request, id) => performInfraAction(control(), request, id),
    tracing: d.tracing,
    ...(d.cluster ? { fence: d.cluster.fence } : {}),
  });
  const workflows = createWorkflowService({
    store: d.stores.workflows,
    log: d.log,
    targets: d.targets,
    approvals,
    publish: d.publish,
    clock: d.clock,
    logger: d.logger,
    onError: onError('workflow error'),
  });
  let policies: PolicyService | undefined;
  // They act on state one process owns (the gate's rails, policies, runs, the reconciler): with
  // several nodes, only the leader delivers to them.
  const targets: Target[] = [
    ...createInfraActionTargets({ gate, infra: control }),
    createPolicyTarget(() => policies?.deliver),
    workflows.target,
  ].map(onLeader);

  return {
    approvals,
    gate,
    workflows,
    targets,
    createPolicies(rules, providers) {
      const incidents = createIncidents({
        store: d.stores.incidents,
        clock: d.clock,
        publish: d.publish,
        onError: onError('incidents'),
      });
      const healing: HealingKind = createHealing({
        incidents,
        delegate: (group, on) => d.infra().reconciler.delegate(group, on),
      });
      const compliance = createCompliance({ clock: d.clock });
      const finops = createFinOps({
        log: d.log,
        clock: d.clock,
        ledger: d.stores.costLedger,
        publish: d.publish,
        infra: control(),
        instanceTypes: Object.fromEntries([...providers].map(([name, p]) => [name, p.instanceTypes])),
        onError: onError('cost tracking'),
      });
      const service = createPolicyService({
        store: d.stores.policies,
        kinds: [scalingPolicyKind, healing, compliance.kind, ...finops.kinds],
        rules,
        context: {
          clock: d.clock,
          logger: d.logger,
          infra: control(),
          gate,
          publish: d.publish,
          notify: notifier(d.targets, d.clock),
        },
        manageSize: (group) => d.infra().manageSize(group),
        onInvalid: (ref, err) =>
          d.logger.warn(
            { policy: ref, err },
            `policy ${ref} no longer validates and is not running; re-apply or delete it`,
          ),
      });
      policies = service;
      return {
        service,
        incidents,
        compliance,
        finops,
        async start() {
          await finops.start();
          await service.load();
        },
        async close() {
          await service.close();
          await healing.close();
          await compliance.close();
          await finops.close();
        },
      };
    },
    async restoreHistory() {
      gate.restore(await loadActionHistory(d.log, d.clock.now() - DEFAULT_HISTORY_MS));
    },
    async close() {
      await workflows.close();
      await gate.close();
      approvals.close();
    },
  };
}

/** The same action, delivered on the leader only when several nodes share the work. */
function onLeader(target: Target): Target {
  return {
    action: target.action,
    placement: 'leader',
    validate: (options) => target.validate(options),
    deliver: (request) => target.deliver(request),
  };
}
