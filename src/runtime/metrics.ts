/**
 * @module Prometheus metrics of the embedded runtime (GET /metrics), read from the components'
 * own state when scraped: nothing is counted twice and the hot paths are not touched.
 */
import { Counter, Gauge, Registry } from 'prom-client';
import type { ActionGate } from '../engine/automation/types.js';
import type { Engine } from '../engine/engine.js';
import type { InfraService } from '../engine/infra/service.js';
import type { EventLog } from '../ports/event-log.js';

export interface MetricsSources {
  readonly log: EventLog;
  readonly engine: Engine;
  readonly infra: InfraService;
  readonly gate: ActionGate;
}

export interface RuntimeMetrics {
  readonly contentType: string;
  render(): Promise<string>;
}

/** A counter that follows a monotonic total read at scrape time. */
function followingCounter(registry: Registry, name: string, help: string, read: () => number): void {
  let seen = 0;
  new Counter({
    name,
    help,
    registers: [registry],
    collect() {
      const now = read();
      if (now > seen) this.inc(now - seen);
      seen = Math.max(seen, now);
    },
  });
}

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
  fromStats('homeostat_log_events', 'Events retained on the log', (st) => st.count);
  fromStats('homeostat_log_bytes', 'Stored bytes of the retained events', (st) => st.bytes);
  fromStats('homeostat_log_next_offset', 'The offset the next appended event gets', (st) => st.nextOffset);
  new Gauge({
    name: 'homeostat_consumer_lag_events',
    help: 'Events appended that a consumer has not read yet',
    labelNames: ['consumer'],
    registers: [registry],
    async collect() {
      const next = (await s.log.stats()).nextOffset;
      this.set({ consumer: 'router' }, Math.max(0, next - s.engine.router.position));
    },
  });
  followingCounter(
    registry,
    'homeostat_router_events_routed_total',
    'Events the router matched against the rules',
    () => s.engine.router.stats.routed,
  );
  followingCounter(
    registry,
    'homeostat_rule_matches_total',
    'Rule matches (one per matching rule per event)',
    () => s.engine.router.stats.matched,
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
  new Gauge({
    name: 'homeostat_actions_recent',
    help: 'Automated actions among the most recent ones the gate keeps, by outcome and rail',
    labelNames: ['outcome', 'rail'],
    registers: [registry],
    collect() {
      this.reset();
      for (const r of s.gate.recent({ limit: 1_000 })) this.inc({ outcome: r.outcome, rail: r.rail ?? '' });
    },
  });
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
  return { contentType: registry.contentType, render: () => registry.metrics() };
}
