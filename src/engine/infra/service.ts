/**
 * @module The infrastructure service: providers, stacks and the reconciler wired together.
 * Provider events become `infra.*` CloudEvents on the log (in order, with causation); applying a
 * stack validates it, stores it and converges the providers to it; out-of-band changes are
 * compared with the stacks and reported as drift, then reverted, accepted or only reported as the
 * stack's `drift` setting says.
 */
import type { Clock } from '../../core/clock.js';
import { ErrorCode, HomeostatError } from '../../core/errors.js';
import { driftOf, formatPlan, type Plan, planStack } from '../../core/infra/plan.js';
import { parseStackManifest, type StackSpec, type StackValidationContext } from '../../core/infra/stack.js';
import type { DesiredResource, Resource, ResourceKind } from '../../core/infra/types.js';
import { resourceRef } from '../../core/infra/types.js';
import type { Provider, ProviderChange, ProviderEvent } from '../../ports/provider.js';
import type { StackStore, StoredRule } from '../../ports/rule-store.js';
import { createInfraEventFactory, createOrderedPublisher, type Publish } from './events.js';
import { createInfraControl } from './control.js';
import { createReconciler, type Reconciler } from './reconciler.js';
import type { InfraControl } from '../automation/types.js';

export interface InfraServiceOptions {
  readonly providers: ReadonlyMap<string, Provider>;
  readonly stacks: StackStore;
  readonly publish: Publish;
  readonly clock: Clock;
  readonly reconcileIntervalMs?: number;
  readonly onError?: (err: unknown) => void;
}

export interface StackApplyResult {
  readonly stack: string;
  readonly created: boolean;
  readonly plan: Plan;
  readonly lines: readonly string[];
}

export interface StackStatus {
  readonly stack: string;
  readonly converged: boolean;
  readonly groups: readonly { name: string; desired: number; live: number; healthy: number }[];
  readonly drift: number;
}

export interface InfraService {
  start(): Promise<void>;
  plan(manifest: unknown, options?: { prune?: boolean }): Promise<StackApplyResult>;
  applyStack(manifest: unknown, options?: { prune?: boolean }): Promise<StackApplyResult>;
  getStack(name: string): Promise<StoredRule | undefined>;
  listStacks(): Promise<StoredRule[]>;
  deleteStack(name: string, options?: { prune?: boolean }): Promise<boolean>;
  status(name: string): Promise<StackStatus>;
  resources(): Promise<Resource[]>;
  /** An out-of-band change through the provider (standing in for a console click). */
  set(kind: ResourceKind, name: string, patch: Readonly<Record<string, unknown>>): Promise<void>;
  readonly reconciler: Reconciler;
  /** What automated actions may do to resources (policies, rule targets, workflows). */
  readonly control: InfraControl;
  /**
   * Marks a group's size as owned by automation: applying its stack again keeps the size the
   * automation set (the declared `desired` is the initial size).
   */
  manageSize(group: string): void;
  /** Stops the loop and the providers; `stopAll` also stops every instance (tests, uninstall). */
  close(options?: { readonly stopAll?: boolean }): Promise<void>;
}

export function createInfraService(o: InfraServiceOptions): InfraService {
  const makeEvent = createInfraEventFactory(o.clock);
  const onError = o.onError ?? (() => undefined);
  const publisher = createOrderedPublisher(o.publish, onError);
  const stacks = new Map<string, StackSpec>();
  const context: StackValidationContext = {
    providers: Object.fromEntries(
      [...o.providers].map(([name, p]) => [name, { kinds: p.kinds, instanceTypes: p.instanceTypes }]),
    ),
  };
  let changeSeq = 0;
  const sizeManaged = new Set<string>();
  const reconciler = createReconciler({
    providers: o.providers,
    clock: o.clock,
    intervalMs: o.reconcileIntervalMs,
    onError,
    decide: (partial) => {
      const event = {
        specversion: '1.0' as const,
        id: `reconcile-${o.clock.now().toString(36)}-${changeSeq++}`,
        source: 'homeostat/reconciler',
        ...partial,
      };
      publisher.push(event);
      return event.id;
    },
  });

  const onProviderEvent = (provider: string) => (e: ProviderEvent) => {
    const event = makeEvent(provider, e);
    publisher.push(event);
    if (e.type !== 'metrics') {
      reconciler.noteEvent(e.subject, event.id, e.type);
      reconciler.poke();
    }
    if (e.type === 'resource.changed' && e.cause === undefined) void checkDrift(provider, e, event.id);
  };

  async function observedBy(provider: string): Promise<Resource[]> {
    const p = o.providers.get(provider);
    return p ? p.observe() : [];
  }

  async function checkDrift(provider: string, e: ProviderEvent, causeId: string): Promise<void> {
    try {
      const observed = await observedBy(provider);
      for (const stack of stacks.values()) {
        const declared = stack.resources.filter(
          (r) => r.provider === provider && resourceRef(r.kind, r.name) === e.subject,
        );
        for (const item of driftOf(declared, observed)) {
          publisher.push({
            ...makeEvent(provider, {
              type: 'resource.drifted',
              subject: item.ref,
              time: o.clock.now(),
              data: { stack: stack.name, policy: stack.drift, missing: item.missing, differences: item.differences },
              cause: causeId,
            }),
          });
          await handleDrift(stack, item.ref);
        }
      }
    } catch (err) {
      onError(err);
    }
  }

  async function handleDrift(stack: StackSpec, ref: string): Promise<void> {
    if (stack.drift === 'alert') return;
    if (stack.drift === 'revert') {
      await converge(stack, { prune: false }, `drift-revert-${ref}`);
      return;
    }
    // accept: the observed spec becomes the declared one.
    const stored = await o.stacks.get(stack.name);
    const resource = stack.resources.find((r) => resourceRef(r.kind, r.name) === ref);
    if (!stored || !resource) return;
    const observed = (await observedBy(resource.provider)).find(
      (r) => r.kind === resource.kind && r.name === resource.name,
    );
    if (!observed) return;
    const manifest = acceptObserved(stored.manifest, resource, observed);
    await o.stacks.put(stack.name, manifest);
    stacks.set(stack.name, parseStackManifest(manifest, context));
  }

  async function planFor(spec: StackSpec, prune: boolean): Promise<Plan> {
    const observed: Resource[] = [];
    for (const name of new Set([spec.provider, ...spec.resources.map((r) => r.provider)]))
      observed.push(...(await observedBy(name)));
    return planStack(spec.resources, observed, { stack: spec.name, prune, keepSize: (g) => sizeManaged.has(g) });
  }

  async function converge(spec: StackSpec, options: { prune?: boolean }, cause: string): Promise<Plan> {
    const plan = await planFor(spec, options.prune ?? false);
    for (const change of plan.changes) {
      const provider = o.providers.get(change.resource.provider)!;
      const apply = (c: ProviderChange) => provider.apply(c);
      if (change.op === 'delete')
        await apply({ op: 'delete', kind: change.resource.kind, name: change.resource.name, cause });
      else if (change.op === 'update' && change.replace) {
        const old = o.providers.get(change.observed.provider);
        await old?.apply({ op: 'delete', kind: change.observed.kind, name: change.observed.name, cause });
        await apply({ op: 'create', resource: change.resource, cause });
      } else await apply({ op: change.op, resource: change.resource, cause });
    }
    reconciler.poke();
    return plan;
  }

  const parse = (manifest: unknown) => parseStackManifest(manifest, context);
  const manageSize = (group: string): void => void sizeManaged.add(group);
  const control = createInfraControl({
    providers: o.providers,
    stacks: () => stacks.values(),
    reconciler,
    converge: (spec, cause) => converge(spec, { prune: false }, cause),
    manageSize,
  });

  return {
    reconciler,
    control,
    manageSize,
    async start() {
      for (const [name, provider] of o.providers) await provider.start(onProviderEvent(name));
      for (const stored of await o.stacks.list()) {
        try {
          stacks.set(stored.name, parse(stored.manifest));
        } catch (err) {
          onError(err);
        }
      }
      reconciler.start();
    },
    async plan(manifest, options = {}) {
      const spec = parse(manifest);
      const plan = await planFor(spec, options.prune ?? false);
      return { stack: spec.name, created: !stacks.has(spec.name), plan, lines: formatPlan(plan) };
    },
    async applyStack(manifest, options = {}) {
      const spec = parse(manifest);
      const created = !(await o.stacks.get(spec.name));
      await o.stacks.put(spec.name, manifest as Record<string, unknown>);
      stacks.set(spec.name, spec);
      const plan = await converge(spec, options, `stack-${spec.name}-${o.clock.now().toString(36)}`);
      return { stack: spec.name, created, plan, lines: formatPlan(plan) };
    },
    getStack: (name) => o.stacks.get(name),
    listStacks: () => o.stacks.list(),
    async deleteStack(name, options = {}) {
      const spec = stacks.get(name);
      const removed = await o.stacks.delete(name);
      stacks.delete(name);
      if (spec && options.prune) await converge({ ...spec, resources: [] }, { prune: true }, `stack-${name}-deleted`);
      return removed;
    },
    async status(name) {
      const spec = stacks.get(name);
      if (!spec)
        throw new HomeostatError(
          ErrorCode.NOT_FOUND,
          `no stack named '${name}'; list them with \`homeostat get stacks\``,
        );
      const observed: Resource[] = [];
      for (const p of new Set(spec.resources.map((r) => r.provider))) observed.push(...(await observedBy(p)));
      const groups = spec.resources
        .filter((r): r is DesiredResource & { kind: 'InstanceGroup' } => r.kind === 'InstanceGroup')
        .map((g) => {
          const instances = observed.filter(
            (r): r is Resource<'Instance'> =>
              r.kind === 'Instance' && (r as Resource<'Instance'>).status?.group === g.name,
          );
          const live = instances.filter((i) => i.status!.phase === 'running' || i.status!.phase === 'starting').length;
          const healthy = instances.filter((i) => i.status!.phase === 'running' && i.status!.healthy).length;
          const desired =
            (
              observed.find((r) => r.kind === 'InstanceGroup' && r.name === g.name)?.spec as
                { desired?: number } | undefined
            )?.desired ?? (g.spec as { desired: number }).desired;
          return { name: g.name, desired, live, healthy };
        });
      const drift = driftOf(spec.resources, observed).length;
      return {
        stack: name,
        converged: drift === 0 && groups.every((g) => g.healthy === g.desired && g.live === g.desired),
        groups,
        drift,
      };
    },
    async resources() {
      const all: Resource[] = [];
      for (const p of o.providers.values()) all.push(...(await p.observe()));
      return all;
    },
    async set(kind, name, patch) {
      for (const p of o.providers.values()) {
        if ((await p.observe()).some((r) => r.kind === kind && r.name === name)) return p.set(kind, name, patch);
      }
      throw new HomeostatError(
        ErrorCode.NOT_FOUND,
        `no ${kind} named '${name}'; list resources with \`homeostat infra list\``,
      );
    },
    async close(options = {}) {
      await reconciler.close();
      await publisher.flush();
      for (const p of o.providers.values()) await p.close(options);
    },
  };
}

/** The stack manifest with one resource's declared spec replaced by what is observed. */
function acceptObserved(
  manifest: Readonly<Record<string, unknown>>,
  resource: DesiredResource,
  observed: Resource,
): Record<string, unknown> {
  const copy = JSON.parse(JSON.stringify(manifest)) as {
    spec: { resources: { kind: string; name: string; spec: Record<string, unknown> }[] };
  };
  const entry = copy.spec.resources.find((r) => r.kind === resource.kind && r.name === resource.name);
  if (entry) {
    const observedSpec = observed.spec as unknown as Record<string, unknown>;
    for (const key of Object.keys(entry.spec)) if (key in observedSpec) entry.spec[key] = observedSpec[key];
  }
  return copy;
}
