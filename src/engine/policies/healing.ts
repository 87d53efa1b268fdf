/**
 * @module The HealingPolicy kind: one compiled rule hands the target group's instance events to
 * the running policy (healing-run.ts), which replaces failed instances through the action gate,
 * verifies the replacements and keeps an incident per outage. While it runs (not in dry-run) the
 * group is *delegated*: the reconciler leaves its failures to the policy, so every healing action
 * passes the safety rails, and remains the backstop for the group's desired size.
 */
import { parseHealingPolicy } from '../../core/healing/parse.js';
import { HEALING_KIND, type HealingSpec, type Incident } from '../../core/healing/types.js';
import type { Incidents } from '../incidents.js';
import { type HealingInstance, startHealingRun } from './healing-run.js';
import type { CompiledRule, PolicyContext, PolicyKind } from './types.js';

export type { HealingInstance } from './healing-run.js';

/** The hook the compiled rule delivers instance events to. */
export const HEALING_HOOK = 'instance';
/** Events from providers only: an event emitted by hand cannot make the policy replace anything. */
const PROVIDER_SOURCE = 'homeostat/provider/';

export interface HealingOptions {
  readonly incidents: Incidents;
  /**
   * Hands a group's failure handling to the policy (on) or back to the reconciler (off): the
   * runtime passes `(group, on) => infra.reconciler.delegate(group, on)`. Counted per group, so
   * two policies on one group keep it delegated until both stop. Not called in dry-run mode (the
   * reconciler keeps healing, the policy records what it would do).
   */
  readonly delegate?: (group: string, on: boolean) => void;
}

export interface HealingKind extends PolicyKind<HealingSpec> {
  start(spec: HealingSpec, context: PolicyContext): Promise<HealingInstance>;
  /** Stops listening for resolved incidents (when the runtime closes). */
  close(): void;
}

/** The event types the compiled rule matches for a spec. */
export function healingEventTypes(spec: HealingSpec): string[] {
  const types = ['infra.instance.started', 'infra.instance.ready', 'infra.instance.healthy', 'infra.instance.stopped'];
  if (spec.on.includes('crashed')) types.push('infra.instance.crashed');
  if (spec.on.includes('hung') || spec.on.includes('unhealthy')) types.push('infra.instance.unhealthy');
  return types;
}

/** One rule: every lifecycle event of the group's instances, in order per instance. */
export function compileHealing(spec: HealingSpec): CompiledRule[] {
  return [
    {
      suffix: 'instances',
      spec: {
        description: `instance events of group ${spec.group} for ${HEALING_KIND}/${spec.name}`,
        match: {
          source: [{ prefix: PROVIDER_SOURCE }],
          type: healingEventTypes(spec),
          data: { group: [spec.group] },
        },
        targets: [
          {
            name: 'heal',
            action: 'policy',
            with: { policy: `${HEALING_KIND}/${spec.name}`, hook: HEALING_HOOK },
            ordered: true,
            retry: { maxAttempts: 5, maxAge: '5m' },
          },
        ],
      },
    },
  ];
}

/**
 * Creates the HealingPolicy kind over an incidents service. Register the result with the policy
 * service; call `close()` when the runtime stops.
 */
export function createHealing(options: HealingOptions): HealingKind {
  /** The latest run of each policy, kept after close: a person may resolve its incident later. */
  const runs = new Map<string, HealingInstance>();
  const delegations = new Map<string, number>();
  const delegate = (group: string, on: boolean): void => {
    const n = (delegations.get(group) ?? 0) + (on ? 1 : -1);
    if (n > 0) delegations.set(group, n);
    else delegations.delete(group);
    if ((on && n === 1) || (!on && n === 0)) options.delegate?.(group, on);
  };
  const unsubscribe = options.incidents.onResolved((incident: Incident) =>
    runs.get(incident.policy)?.onIncidentResolved(incident),
  );

  return {
    kind: HEALING_KIND,
    parse: (manifest) => parseHealingPolicy(manifest),
    compile: compileHealing,
    async start(spec, context) {
      const delegated = spec.safety.mode !== 'dry-run';
      if (delegated) delegate(spec.group, true);
      let run: HealingInstance;
      try {
        run = await startHealingRun(spec, context, options.incidents);
      } catch (err) {
        if (delegated) delegate(spec.group, false);
        throw err;
      }
      runs.set(`${HEALING_KIND}/${spec.name}`, run);
      let closed = false;
      return {
        ...run,
        async close() {
          if (closed) return;
          closed = true;
          await run.close();
          if (delegated) delegate(spec.group, false);
        },
      };
    },
    close: unsubscribe,
  };
}
