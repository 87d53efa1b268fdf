/**
 * @module Prometheus metrics of a runtime (GET /metrics). Two kinds of source, so the hot paths
 * are not touched:
 * - state and running totals read from the components when scraped (log, ingest, router,
 *   dispatcher, DLQ, resources, cost);
 * - outcomes read from the log by the activity follower (actions with their rails and durations,
 *   workflow runs, incidents, condition firings): what is counted is what was recorded.
 * Names follow the Prometheus conventions: `_total` counters, base units (`_seconds`, `_bytes`).
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { ActionRecord } from '../engine/automation/types.js';
import type { Engine } from '../engine/engine.js';
import type { InfraService } from '../engine/infra/service.js';
import type { IngestStats } from '../ingest/ingest.js';
import type { EventLog, LogRecord } from '../ports/event-log.js';
import { CONDITION_FIRED_TYPE } from '../core/rules/types.js';
import type { ActivityObserver } from './activity.js';

export interface MetricsSources {
  readonly log: EventLog;
  readonly engine: Engine;
  readonly infra: InfraService;
  readonly ingest: IngestStats;
  /** The log's retention settings (0: no limit). */
  readonly retention: { readonly maxAgeMs: number; readonly maxBytes: number };
}

export interface RuntimeMetrics {
  readonly contentType: string;
  render(): Promise<string>;
  /** Feed of the activity follower (actions, workflows, incidents, condition firings). */
  readonly observe: ActivityObserver;
  /** Events retention removed (the runtime's retention loop reports them). */
  retentionRemoved(count: number): void;
}

/** A counter that follows monotonic totals read at scrape time, one per label set. */
function followingCounter(
  registry: Registry,
  name: string,
  help: string,
  labelNames: readonly string[],
  read: () => Iterable<readonly [Record<string, string>, number]>,
): void {
  const seen = new Map<string, number>();
  new Counter({
    name,
    help,
    labelNames,
    registers: [registry],
    collect() {
      for (const [labels, total] of read()) {
        const key = JSON.stringify(labels);
        const before = seen.get(key) ?? 0;
        if (total > before) this.inc(labels, total - before);
        else if (!seen.has(key)) this.inc(labels, 0);
        seen.set(key, Math.max(before, total));
      }
    },
  });
}

/** Action and workflow durations: from a millisecond to ten minutes. */
const DURATION_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600];

export function createRuntimeMetrics(s: MetricsSources): RuntimeMetrics {
  const registry = new Registry();
  // Each gauge reads what it shows in its own collect: collection runs in registration order.
  const fromStats = (name: string, help: string, pick: (st: Awaited<ReturnType<EventLog['stats']>>) => number) =>
    new Gauge({
      name,
      help,
      registers: [registry],
      async collect() {
        this.set(pick(await s.log.stats()));
      },
    });

  // Ingest
  followingCounter(
    registry,
    'homeostat_events_ingested_total',
    'Events appended to the log, by origin: external (the HTTP API) or internal (Homeostat itself)',
    ['origin'],
    () => [
      [{ origin: 'external' }, s.ingest.accepted.external],
      [{ origin: 'internal' }, s.ingest.accepted.internal],
    ],
  );
  followingCounter(
    registry,
    'homeostat_events_duplicate_total',
    'Events not appended again because their (source, id) was seen within the dedup window',
    [],
    () => [[{}, s.ingest.duplicates]],
  );
  followingCounter(
    registry,
    'homeostat_events_rejected_total',
    'Events refused at ingest, by error code (E_EVENT_INVALID, E_EVENT_TOO_LARGE, E_SCHEMA_VIOLATION)',
    ['code'],
    () => [...s.ingest.rejected].map(([code, n]) => [{ code }, n] as const),
  );

  // Log
  fromStats('homeostat_log_events', 'Events retained on the log', (st) => st.count);
  fromStats('homeostat_log_bytes', 'Stored bytes of the retained events', (st) => st.bytes);
  fromStats('homeostat_log_next_offset', 'The offset the next appended event gets', (st) => st.nextOffset);
  new Gauge({
    name: 'homeostat_log_oldest_event_age_seconds',
    help: 'Age of the oldest retained event (how far back the log reaches)',
    registers: [registry],
    async collect() {
      const [first] = await s.log.read({ limit: 1 });
      this.set(first === undefined ? 0 : Math.max(0, (Date.now() - first.appendedAt) / 1000));
    },
  });
  new Gauge({
    name: 'homeostat_log_retention_max_age_seconds',
    help: 'Events older than this are removed (0: kept)',
    registers: [registry],
  }).set(s.retention.maxAgeMs / 1000);
  new Gauge({
    name: 'homeostat_log_retention_max_bytes',
    help: 'The log is trimmed, oldest first, beyond this many bytes (0: no limit)',
    registers: [registry],
  }).set(s.retention.maxBytes);
  const removed = new Counter({
    name: 'homeostat_log_retention_removed_events_total',
    help: 'Events removed by retention',
    registers: [registry],
  });

  // Routing and delivery
  new Gauge({
    name: 'homeostat_consumer_lag_events',
    help: 'Events appended that a consumer has not read yet',
    labelNames: ['consumer'],
    registers: [registry],
    async collect() {
      const next = (await s.log.stats()).nextOffset;
      for (const [consumer, position] of Object.entries(s.engine.positions())) {
        this.set({ consumer }, Math.max(0, next - position));
      }
    },
  });
  followingCounter(
    registry,
    'homeostat_router_events_routed_total',
    'Events the router matched against the rules',
    [],
    () => [[{}, s.engine.router.stats.routed]],
  );
  followingCounter(
    registry,
    'homeostat_rule_matches_total',
    'Events a rule matched (a rule with `when` counts the events fed to its condition and its firings)',
    ['rule'],
    () => [...s.engine.router.stats.byRule].map(([rule, n]) => [{ rule }, n] as const),
  );
  followingCounter(
    registry,
    'homeostat_delivery_attempts_total',
    "Attempts to deliver a matched event to a rule's target",
    ['rule'],
    () => [...s.engine.dispatcher.stats].map(([rule, c]) => [{ rule }, c.attempts] as const),
  );
  followingCounter(
    registry,
    'homeostat_deliveries_total',
    'Delivery outcomes: delivered, retried (a failed attempt that will be tried again) or dead (dead-lettered)',
    ['rule', 'outcome'],
    function* () {
      for (const [rule, c] of s.engine.dispatcher.stats) {
        yield [{ rule, outcome: 'delivered' }, c.delivered] as const;
        yield [{ rule, outcome: 'retried' }, c.retried] as const;
        yield [{ rule, outcome: 'dead' }, c.dead] as const;
      }
    },
  );
  new Gauge({
    name: 'homeostat_dispatcher_backlog',
    help: 'Deliveries waiting in the dispatcher',
    registers: [registry],
    collect() {
      this.set(s.engine.dispatcher.backlog);
    },
  });
  new Gauge({
    name: 'homeostat_dlq_depth',
    help: 'Dead letters waiting to be inspected, redriven or purged',
    registers: [registry],
    async collect() {
      this.set(await s.engine.admin.countDead());
    },
  });

  // Automation outcomes (from the activity follower)
  const actions = new Counter({
    name: 'homeostat_actions_total',
    help: 'Automated actions by policy, action and outcome (executed, failed, refused, dry-run, pending-approval, rejected)',
    labelNames: ['policy', 'action', 'outcome'],
    registers: [registry],
  });
  const actionSeconds = new Histogram({
    name: 'homeostat_action_duration_seconds',
    help: 'Time to perform an automated action (executed or failed)',
    labelNames: ['action', 'outcome'],
    buckets: DURATION_BUCKETS,
    registers: [registry],
  });
  const refusals = new Counter({
    name: 'homeostat_rail_refusals_total',
    help: 'Actions a safety rail refused, by rail and policy',
    labelNames: ['rail', 'policy'],
    registers: [registry],
  });
  const runs = new Counter({
    name: 'homeostat_workflow_runs_total',
    help: 'Workflow runs that ended, by workflow and outcome (completed, failed, cancelled)',
    labelNames: ['workflow', 'outcome'],
    registers: [registry],
  });
  const runSeconds = new Histogram({
    name: 'homeostat_workflow_run_duration_seconds',
    help: 'Workflow run durations from start to end',
    labelNames: ['workflow', 'outcome'],
    buckets: DURATION_BUCKETS,
    registers: [registry],
  });
  const steps = new Counter({
    name: 'homeostat_workflow_steps_total',
    help: 'Workflow steps that ended, by outcome (completed, failed)',
    labelNames: ['workflow', 'outcome'],
    registers: [registry],
  });
  const incidents = new Counter({
    name: 'homeostat_incidents_total',
    help: 'Incident changes (opened, acknowledged, resolved) by severity',
    labelNames: ['change', 'severity'],
    registers: [registry],
  });
  const firings = new Counter({
    name: 'homeostat_condition_firings_total',
    help: 'Times a rule condition (`when`) fired',
    labelNames: ['rule'],
    registers: [registry],
  });

  // Infrastructure
  new Gauge({
    name: 'homeostat_resources',
    help: 'Resources the providers own, by kind and state (instances by phase and health)',
    labelNames: ['provider', 'kind', 'state'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const r of await s.infra.resources()) {
        const status = r.status as { phase?: string; healthy?: boolean } | undefined;
        const state =
          r.kind === 'Instance' ? `${status?.phase ?? 'unknown'}${status?.healthy ? '-healthy' : ''}` : 'present';
        this.inc({ provider: r.provider, kind: r.kind, state });
      }
    },
  });
  new Gauge({
    name: 'homeostat_cost_rate_per_hour',
    help: 'Cost rate of each instance group now (price per hour of its live instances)',
    labelNames: ['provider', 'group'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const g of await s.infra.control.groups()) this.set({ provider: g.provider, group: g.name }, g.pricePerHour);
    },
  });

  const text = (v: unknown): string => (typeof v === 'string' ? v : '');
  function observe({ event }: LogRecord): void {
    const d = (event.data ?? {}) as Record<string, unknown>;
    if (event.type.startsWith('homeostat.action.')) {
      const outcome = event.type.slice('homeostat.action.'.length);
      if (outcome === 'frozen') return; // the refusal that froze is counted on its own event
      const r = d as Partial<ActionRecord>;
      actions.inc({ policy: text(r.policy), action: text(r.action), outcome });
      if (outcome === 'refused') refusals.inc({ rail: text(r.rail), policy: text(r.policy) });
      if (typeof r.durationMs === 'number')
        actionSeconds.observe({ action: text(r.action), outcome }, r.durationMs / 1000);
    } else if (event.type.startsWith('homeostat.workflow.')) {
      const what = event.type.slice('homeostat.workflow.'.length);
      const workflow = text(d.workflow);
      if (what === 'completed' || what === 'failed' || what === 'cancelled') {
        runs.inc({ workflow, outcome: what });
        if (typeof d.durationMs === 'number') runSeconds.observe({ workflow, outcome: what }, d.durationMs / 1000);
      } else if (what === 'step.completed' || what === 'step.failed') {
        steps.inc({ workflow, outcome: what.slice('step.'.length) });
      }
    } else if (event.type.startsWith('homeostat.incident.')) {
      incidents.inc({ change: event.type.slice('homeostat.incident.'.length), severity: text(d.severity) });
    } else if (event.type === CONDITION_FIRED_TYPE) {
      firings.inc({ rule: text(d.rule) });
    }
  }

  return {
    contentType: registry.contentType,
    render: () => registry.metrics(),
    observe,
    retentionRemoved: (count) => removed.inc(count),
  };
}
