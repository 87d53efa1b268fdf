/** @module The `local` provider's LoadBalancer and SecurityRule resources: running balancers, their targets and allow lists. */
import type { DesiredResource, LoadBalancerSpec, SecurityRuleSpec } from '../../core/infra/types.js';
import { type Balancer, type BalancerMetrics, type BalancerTarget, createBalancer } from './balancer.js';

export type LbResource = DesiredResource & { readonly kind: 'LoadBalancer'; readonly spec: LoadBalancerSpec };
export type RuleResource = DesiredResource & { readonly kind: 'SecurityRule'; readonly spec: SecurityRuleSpec };

export interface RunningLb {
  resource: LbResource;
  balancer?: Balancer;
}

/** Addresses no client connects from: an allow list of only these admits nobody. */
const NOBODY = ['0.0.0.0/32', '::/128'];

export interface BalancerSet {
  readonly lbs: ReadonlyMap<string, RunningLb>;
  readonly rules: ReadonlyMap<string, RuleResource>;
  /** The port each balancer last listened on, kept in the provider's state file. */
  readonly ports: Readonly<Record<string, number>>;
  /** Takes resources from the state file (nothing is opened yet). */
  restore(resources: readonly DesiredResource[], ports: Readonly<Record<string, number>>): void;
  /** Opens every restored balancer; one that cannot listen is reported and left closed. */
  openAll(onFailed: (name: string, err: unknown) => void): Promise<void>;
  upsertBalancer(lb: LbResource): Promise<void>;
  upsertRule(rule: RuleResource): void;
  removeBalancer(name: string): Promise<void>;
  removeRule(name: string): void;
  /** Sets the targets of every balancer routing to `group`, synchronously. */
  syncTargets(group: string): void;
  /** Each open balancer's metrics window (and starts the next), with the group it routes to. */
  takeMetrics(): { readonly group: string; readonly metrics: BalancerMetrics }[];
  close(): Promise<void>;
}

/**
 * Creates the set. `targetsFor(group)` gives a group's routing targets (healthy only when ready
 * and passing checks). A security rule guards its balancer's port (or every port without `port`);
 * a guarded balancer admits only the union of its rules' allow lists, an unguarded one everyone.
 */
export function createBalancerSet(targetsFor: (group: string) => BalancerTarget[]): BalancerSet {
  const lbs = new Map<string, RunningLb>();
  const rules = new Map<string, RuleResource>();
  const ports: Record<string, number> = {};

  const allowFor = (lb: string): string[] | undefined => {
    const port = ports[lb];
    const guarding = [...rules.values()].filter(
      (r) => r.spec.loadBalancer === lb && (r.spec.port === undefined || r.spec.port === port),
    );
    if (guarding.length === 0) return undefined;
    const allow = guarding.flatMap((r) => r.spec.allow);
    return allow.length > 0 ? allow : NOBODY;
  };

  const syncAllow = (lb: string): void => {
    const l = lbs.get(lb);
    if (l?.balancer) l.balancer.setAllow(allowFor(lb));
  };

  async function open(l: RunningLb): Promise<void> {
    const { name } = l.resource;
    const { listen, algorithm } = l.resource.spec;
    const previous = ports[name];
    const start = (at: string): Promise<Balancer> => createBalancer({ listen: at, algorithm });
    // A restarted provider takes the port it had, so clients of a `:0` listener keep working.
    const reuse = listen.endsWith(':0') && previous !== undefined ? listen.replace(/:0$/, `:${previous}`) : undefined;
    l.balancer = reuse === undefined ? await start(listen) : await start(reuse).catch(() => start(listen));
    ports[name] = Number(/:(\d+)$/.exec(l.balancer.address)?.[1] ?? 0);
    syncAllow(name);
    l.balancer.setTargets(targetsFor(l.resource.spec.targetGroup));
  }

  return {
    lbs,
    rules,
    ports,

    restore(resources, stored) {
      for (const r of resources) {
        if (r.kind === 'LoadBalancer') lbs.set(r.name, { resource: r as LbResource });
        else if (r.kind === 'SecurityRule') rules.set(r.name, r as RuleResource);
      }
      Object.assign(ports, stored);
    },

    async openAll(onFailed) {
      for (const l of lbs.values()) await open(l).catch((err: unknown) => onFailed(l.resource.name, err));
    },

    async upsertBalancer(lb) {
      const old = lbs.get(lb.name);
      const before = old?.resource.spec;
      if (old && before?.listen === lb.spec.listen && before.algorithm === lb.spec.algorithm) {
        old.resource = lb;
        old.balancer?.setTargets(targetsFor(lb.spec.targetGroup));
        return;
      }
      if (before !== undefined && before.listen !== lb.spec.listen) delete ports[lb.name];
      await old?.balancer?.close();
      const next: RunningLb = { resource: lb };
      lbs.set(lb.name, next);
      try {
        await open(next);
      } catch (err) {
        // A new balancer that cannot listen is not created; a changed one stays declared, closed.
        if (old === undefined) lbs.delete(lb.name);
        throw err;
      }
    },

    upsertRule(rule) {
      const before = rules.get(rule.name);
      rules.set(rule.name, rule);
      syncAllow(rule.spec.loadBalancer);
      if (before && before.spec.loadBalancer !== rule.spec.loadBalancer) syncAllow(before.spec.loadBalancer);
    },

    async removeBalancer(name) {
      const l = lbs.get(name);
      lbs.delete(name);
      delete ports[name];
      await l?.balancer?.close();
    },

    removeRule(name) {
      const rule = rules.get(name);
      rules.delete(name);
      if (rule) syncAllow(rule.spec.loadBalancer);
    },

    syncTargets(group) {
      let targets: BalancerTarget[] | undefined;
      for (const l of lbs.values()) {
        if (l.resource.spec.targetGroup !== group || l.balancer === undefined) continue;
        targets ??= targetsFor(group);
        l.balancer.setTargets(targets);
      }
    },

    takeMetrics() {
      const out: { group: string; metrics: BalancerMetrics }[] = [];
      for (const l of lbs.values()) {
        if (l.balancer) out.push({ group: l.resource.spec.targetGroup, metrics: l.balancer.takeMetrics() });
      }
      return out;
    },

    async close() {
      await Promise.all([...lbs.values()].map((l) => l.balancer?.close()));
    },
  };
}
