/**
 * @module InfraControl over the providers, the stacks and the reconciler: what automated actions
 * (policies, rule targets, workflow steps) may do to resources. Every change carries `cause`, the
 * action id, which the provider's resulting events carry back as their causation.
 */
import { ErrorCode, HomeostatError } from '../../core/errors.js';
import { STACK_TAG } from '../../core/infra/stack.js';
import type { StackSpec } from '../../core/infra/stack.js';
import type { Resource, ResourceKind } from '../../core/infra/types.js';
import type { Provider } from '../../ports/provider.js';
import type { GroupView, InfraControl } from '../automation/types.js';
import type { Reconciler } from './reconciler.js';

/** What the reconciler offers the control: replacements, and groups held (no new instances). */
export type ReconcilerControls = Pick<Reconciler, 'hold' | 'isHeld' | 'replace' | 'poke'>;

export interface InfraControlDeps {
  readonly providers: ReadonlyMap<string, Provider>;
  readonly stacks: () => Iterable<StackSpec>;
  readonly reconciler: ReconcilerControls;
  /** Converges the given resources of a stack (no pruning), with `cause`. */
  readonly converge: (stack: StackSpec, cause: string) => Promise<unknown>;
  /** Marks a group's size as owned by automation (plans keep its observed size). */
  readonly manageSize: (group: string) => void;
}

type Group = Resource<'InstanceGroup'>;
type Instance = Resource<'Instance'>;

const notFound = (what: string, name: string): HomeostatError =>
  new HomeostatError(ErrorCode.NOT_FOUND, `no ${what} named '${name}'; list resources with \`homeostat infra list\``, {
    details: { name },
  });

export function createInfraControl(d: InfraControlDeps): InfraControl {
  async function find(kind: ResourceKind, name: string): Promise<{ provider: Provider; resource: Resource }> {
    for (const provider of d.providers.values()) {
      const resource = (await provider.observe()).find((r) => r.kind === kind && r.name === name);
      if (resource) return { provider, resource };
    }
    throw notFound(kind, name);
  }

  function stackOf(group: Group): string | undefined {
    for (const stack of d.stacks()) {
      if (stack.resources.some((r) => r.kind === 'InstanceGroup' && r.name === group.name)) return stack.name;
    }
    return group.tags[STACK_TAG];
  }

  function view(group: Group, all: readonly Resource[]): GroupView {
    const instances = all.filter(
      (r): r is Instance => r.kind === 'Instance' && (r as Instance).status?.group === group.name,
    );
    const stack = stackOf(group);
    return {
      name: group.name,
      provider: group.provider,
      ...(stack === undefined ? {} : { stack }),
      desired: group.spec.desired,
      min: group.spec.min,
      max: group.spec.max,
      instanceType: group.spec.instanceType,
      pricePerHour: group.pricePerHour,
      tags: group.tags,
      instances,
      held: d.reconciler.isHeld(group.name),
    };
  }

  async function all(): Promise<Resource[]> {
    const out: Resource[] = [];
    for (const p of d.providers.values()) out.push(...(await p.observe()));
    return out;
  }

  async function instanceOf(name: string): Promise<{ provider: Provider; instance: Instance }> {
    const { provider, resource } = await find('Instance', name);
    return { provider, instance: resource as Instance };
  }

  return {
    resources: all,
    async groups() {
      const resources = await all();
      return resources.filter((r): r is Group => r.kind === 'InstanceGroup').map((g) => view(g, resources));
    },
    async group(name) {
      const resources = await all();
      const group = resources.find((r): r is Group => r.kind === 'InstanceGroup' && r.name === name);
      return group && view(group, resources);
    },
    async scaleGroup(name, desired, cause, options = {}) {
      const { provider, resource } = await find('InstanceGroup', name);
      const group = resource as Group;
      const from = group.spec.desired;
      const floor = options.allowBelowMin ? 0 : group.spec.min;
      const to = Math.max(floor, Math.min(group.spec.max, Math.round(desired)));
      d.manageSize(name);
      if (to !== from) {
        const { status: _status, ...declared } = group;
        await provider.apply({ op: 'update', resource: { ...declared, spec: { ...group.spec, desired: to } }, cause });
        d.reconciler.poke();
      }
      return { from, to };
    },
    async replaceInstance(name, cause) {
      // The reconciler stops it and starts the replacement, counting both so no pass doubles them.
      await d.reconciler.replace(name, cause);
    },
    async restartInstance(name, cause) {
      const { provider } = await instanceOf(name);
      await provider.apply({ op: 'restart-instance', name, cause });
    },
    async stopInstance(name, cause) {
      const { provider, instance } = await instanceOf(name);
      const groupName = instance.status?.group;
      if (groupName !== undefined) {
        const { resource } = await find('InstanceGroup', groupName);
        const group = resource as Group;
        if (group.spec.desired > group.spec.min) {
          const { status: _status, ...declared } = group;
          d.manageSize(groupName);
          const spec = { ...group.spec, desired: group.spec.desired - 1 };
          await provider.apply({ op: 'update', resource: { ...declared, spec }, cause });
        }
      }
      await provider.apply({ op: 'stop-instance', name, drain: true, cause });
      d.reconciler.poke();
    },
    async holdGroup(group) {
      await find('InstanceGroup', group);
      d.reconciler.hold(group, true);
    },
    async releaseGroup(group) {
      await find('InstanceGroup', group);
      d.reconciler.hold(group, false);
    },
    async revert(kind, name, cause) {
      for (const stack of d.stacks()) {
        const declared = stack.resources.filter((r) => r.kind === kind && r.name === name);
        if (declared.length === 0) continue;
        await d.converge({ ...stack, resources: declared }, cause);
        return true;
      }
      return false;
    },
    async patch(kind, name, patch, cause) {
      const { provider, resource } = await find(kind, name);
      const { status: _status, ...declared } = resource;
      const spec = { ...(resource.spec as unknown as Record<string, unknown>), ...patch };
      await provider.apply({ op: 'update', resource: { ...declared, spec } as typeof declared, cause });
    },
  };
}
