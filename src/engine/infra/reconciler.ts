/**
 * @module The reconciler: a control loop that keeps each provider's instance groups at their
 * desired size. A group with fewer live instances than desired gets new ones; instances that
 * crashed, stopped or failed their health check after being ready are replaced; extra instances
 * are drained and stopped (newest first). Each decision is an `infra.reconcile.decided` event
 * whose causation is the event that revealed the need (a crash, an unhealthy check, a scaling
 * change), and the provider's resulting events carry the decision as their cause.
 *
 * A group can be *delegated* to a policy (HealingPolicy): the reconciler then leaves its failures
 * to that policy, so every healing action passes the safety rails. It neither stops its unhealthy
 * (or never-ready) instances nor starts replacements for failed ones; it still starts instances for
 * a shortfall that no failure explains (a scale-out) and scales in. A *held* group (crash loop)
 * gets no new instances at all until released.
 */
import type { Clock } from '../../core/clock.js';
import { ErrorCode, HomeostatError } from '../../core/errors.js';
import type { CloudEvent } from '../../core/event.js';
import type { InstanceGroupSpec, InstanceStatus, Resource } from '../../core/infra/types.js';
import { resourceRef } from '../../core/infra/types.js';
import type { Provider, ProviderChange } from '../../ports/provider.js';

export interface ReconcilerOptions {
  readonly providers: ReadonlyMap<string, Provider>;
  readonly clock: Clock;
  /** Publishes a decision event (in order with the provider events) and returns its id. */
  readonly decide: (event: Omit<CloudEvent, 'id' | 'specversion' | 'source'> & { readonly type: string }) => string;
  /** Full pass interval; events also trigger a pass at once. Default 1,000 ms. */
  readonly intervalMs?: number;
  /** An instance still starting this long after the reconciler first saw it is replaced. Default 120,000 ms. */
  readonly bootTimeoutMs?: number;
  readonly onError?: (err: unknown) => void;
}

export interface Reconciler {
  start(): void;
  /**
   * Tells the reconciler what an event revealed (by subject), so decisions can name their cause;
   * `instance.unhealthy` marks a running instance as failed until `instance.healthy` or `ready`.
   */
  noteEvent(subject: string, eventId: string, type?: string): void;
  /** Runs a pass soon (coalesced). */
  poke(): void;
  /** Runs one pass now; resolves when its changes are accepted by the providers. */
  pass(): Promise<number>;
  /**
   * Hands a group's failure handling to a policy (on) or takes it back (off). While delegated, the
   * reconciler does not stop the group's unhealthy or never-ready instances and does not start
   * replacements for failed ones: a shortfall is filled only beyond the failures nobody handled yet
   * (see {@link Reconciler.replace}). Taking it back (off) lets the next pass replace what is failed.
   */
  delegate(group: string, on: boolean): void;
  /**
   * Holds a group (on: no new instances at all, not for failures nor for a shortfall; scale-in
   * still happens) or releases it (off: the next pass fills the group to its desired size again,
   * replacing what failed meanwhile).
   */
  hold(group: string, on: boolean): void;
  isDelegated(group: string): boolean;
  isHeld(group: string): boolean;
  /**
   * Replaces one instance: stops it at once (no drain: it is failed) and starts a new instance in
   * its group, both changes carrying `cause`. The failed instance counts as handled, so no pass
   * starts a second replacement for it. E_NOT_FOUND when no provider has a live or failed instance
   * of that name; E_CONFLICT when its group is held (nothing is changed then).
   */
  replace(name: string, cause: string): Promise<{ readonly provider: string; readonly group: string }>;
  close(): Promise<void>;
}

type Instance = Resource<'Instance'>;

/** Gone or going: crashed, stopped, stopping. */
function isGone(i: InstanceStatus): boolean {
  return i.phase === 'crashed' || i.phase === 'stopped' || i.phase === 'stopping';
}

export function createReconciler(o: ReconcilerOptions): Reconciler {
  const lastEvent = new Map<string, string>();
  /**
   * Instances a health check reported unhealthy. Only a reported failure counts: an instance
   * re-adopted after a restart is not healthy until its first check, and must not be replaced.
   */
  const unhealthy = new Set<string>();
  const bootTimeoutMs = o.bootTimeoutMs ?? 120_000;
  /** When this reconciler first saw each instance starting (its own clock: providers' clocks may be virtual). */
  const startingSince = new Map<string, number>();
  const bootTimedOut = (i: Instance): boolean => {
    if (i.status!.phase !== 'starting') {
      startingSince.delete(i.name);
      return false;
    }
    const since = startingSince.get(i.name) ?? o.clock.now();
    startingSince.set(i.name, since);
    return o.clock.now() - since > bootTimeoutMs;
  };
  const isFailed = (i: Instance): boolean =>
    isGone(i.status!) ||
    bootTimedOut(i) ||
    (i.status!.phase === 'running' && unhealthy.has(resourceRef('Instance', i.name)));
  /**
   * A failure a delegated group's policy has yet to handle: crashed, or still running or starting
   * (unhealthy, never ready). A stop Homeostat asked for (scale-in, a replace) is no failure.
   */
  const unhandled = (i: Instance): boolean =>
    i.status!.phase !== 'stopped' && i.status!.phase !== 'stopping' && !stopping.has(i.name);
  /** Instances already being stopped by this reconciler: not counted, not stopped twice. */
  const stopping = new Set<string>();
  /** Failed instances a replacement was already started for: a later shortfall has another cause. */
  const replaced = new Set<string>();
  /** Groups whose failures a policy handles, and groups held after a crash loop. */
  const delegated = new Set<string>();
  const held = new Set<string>();
  /** Released groups whose next pass replaces what failed while they were delegated or held. */
  const backfill = new Set<string>();
  /** Starts `replace` has decided on but not yet applied, per group: passes count them as live. */
  const inflight = new Map<string, number>();
  let timer: ReturnType<typeof setInterval> | undefined;
  let running: Promise<number> | undefined;
  let again = false;
  let poked: ReturnType<typeof setTimeout> | undefined;

  const cause = (subject: string): string | undefined => lastEvent.get(subject);

  async function reconcileProvider(name: string, provider: Provider): Promise<number> {
    const observed = await provider.observe();
    const groups = observed.filter((r): r is Resource<'InstanceGroup'> => r.kind === 'InstanceGroup');
    const instances = observed.filter((r): r is Instance => r.kind === 'Instance' && r.status !== undefined);
    for (const name of stopping) {
      const i = instances.find((x) => x.name === name);
      if (!i || i.status!.phase === 'stopped' || i.status!.phase === 'crashed') stopping.delete(name);
    }
    for (const name of replaced) if (!instances.some((x) => x.name === name)) replaced.delete(name);
    for (const name of startingSince.keys()) if (!instances.some((x) => x.name === name)) startingSince.delete(name);
    let changes = 0;
    for (const group of groups) {
      const mine = instances.filter((i) => i.status!.group === group.name);
      changes += await reconcileGroup(name, provider, group, mine);
    }
    return changes;
  }

  async function reconcileGroup(
    providerName: string,
    provider: Provider,
    group: Resource<'InstanceGroup'>,
    instances: Instance[],
  ): Promise<number> {
    const spec: InstanceGroupSpec = group.spec;
    const groupRef = resourceRef('InstanceGroup', group.name);
    // Failures are the policy's while delegated, until a release hands the backlog back.
    const leaveFailures = delegated.has(group.name) && !backfill.has(group.name);
    backfill.delete(group.name);
    const apply: { change: ProviderChange; reason: string; trigger?: string }[] = [];
    for (const i of instances) {
      const phase = i.status!.phase;
      if (!leaveFailures && !stopping.has(i.name) && isFailed(i) && (phase === 'running' || phase === 'starting')) {
        // Unhealthy, or never ready within the boot timeout: stop it so a replacement takes its place.
        const ref = resourceRef('Instance', i.name);
        const reason = phase === 'starting' ? `not ready within ${bootTimeoutMs} ms` : 'unhealthy';
        apply.push({ change: { op: 'stop-instance', name: i.name, drain: false }, reason, trigger: cause(ref) });
        stopping.add(i.name);
      }
    }
    const live = instances.filter((i) => !isFailed(i) && !stopping.has(i.name));
    const missing = spec.desired - live.length;
    // A stop Homeostat asked for (scale-in, a replace) is no failure: a later start is not its replacement.
    const lost = instances.filter(
      (i) => isFailed(i) && !replaced.has(i.name) && i.status!.phase !== 'stopped' && i.status!.phase !== 'stopping',
    );
    const starts = held.has(group.name)
      ? 0
      : missing - (inflight.get(group.name) ?? 0) - (leaveFailures ? lost.filter(unhandled).length : 0);
    for (let n = 0; n < starts; n++) {
      const failed = leaveFailures ? undefined : lost[n];
      if (failed) replaced.add(failed.name);
      const trigger = failed ? cause(resourceRef('Instance', failed.name)) : cause(groupRef);
      const reason = failed ? `replace ${failed.name} (${failed.status!.phase})` : 'scale out to desired';
      apply.push({ change: { op: 'start-instance', group: group.name }, reason, trigger });
    }
    if (missing < 0) {
      const newest = [...live].sort((a, b) => (b.status!.startedAt ?? 0) - (a.status!.startedAt ?? 0));
      for (const i of newest.slice(0, -missing)) {
        apply.push({
          change: { op: 'stop-instance', name: i.name, drain: true },
          reason: 'scale in to desired',
          trigger: cause(groupRef),
        });
        stopping.add(i.name);
      }
    }
    for (const a of apply) {
      const decision = o.decide({
        type: 'infra.reconcile.decided',
        subject: groupRef,
        time: new Date(o.clock.now()).toISOString(),
        partitionkey: groupRef,
        ...(a.trigger ? { causationid: a.trigger } : {}),
        data: {
          provider: providerName,
          group: group.name,
          op: a.change.op,
          ...('name' in a.change ? { instance: a.change.name } : {}),
          reason: a.reason,
          desired: spec.desired,
          live: live.length,
        },
      });
      await provider.apply({ ...a.change, cause: decision });
    }
    return apply.length;
  }

  async function replaceInstance(name: string, cause: string): Promise<{ provider: string; group: string }> {
    for (const [providerName, provider] of o.providers) {
      const i = (await provider.observe()).find(
        (r): r is Instance => r.kind === 'Instance' && r.name === name && r.status !== undefined,
      );
      if (!i) continue;
      const group = i.status!.group;
      if (held.has(group)) {
        throw new HomeostatError(
          ErrorCode.CONFLICT,
          `instance group '${group}' is held (crash loop): ${name} is not replaced; release the group first (resolve its incident with \`homeostat incident <id> --resolve\`)`,
        );
      }
      const phase = i.status!.phase;
      // A replacement already started for it (by a pass) is not started twice.
      const start = !replaced.has(name);
      replaced.add(name);
      if (start) inflight.set(group, (inflight.get(group) ?? 0) + 1);
      try {
        if ((phase === 'running' || phase === 'starting') && !stopping.has(name)) {
          stopping.add(name);
          await provider.apply({ op: 'stop-instance', name, drain: false, cause });
        }
        if (start) await provider.apply({ op: 'start-instance', group, cause });
      } finally {
        if (start) inflight.set(group, inflight.get(group)! - 1);
      }
      return { provider: providerName, group };
    }
    throw new HomeostatError(
      ErrorCode.NOT_FOUND,
      `no instance named '${name}' to replace; list instances with \`homeostat infra list --kind Instance\``,
    );
  }

  async function pass(): Promise<number> {
    let total = 0;
    for (const [name, provider] of o.providers) {
      try {
        total += await reconcileProvider(name, provider);
      } catch (err) {
        o.onError?.(err);
      }
    }
    return total;
  }

  const run = (): Promise<number> => {
    if (running) {
      again = true;
      return running;
    }
    running = pass().finally(() => {
      running = undefined;
      if (again) {
        again = false;
        void run();
      }
    });
    return running;
  };

  const poke = (): void => {
    if (poked) return;
    poked = setTimeout(() => {
      poked = undefined;
      void run();
    }, 5);
  };

  return {
    start() {
      timer = setInterval(() => void run(), o.intervalMs ?? 1_000);
      void run();
    },
    noteEvent(subject, eventId, type) {
      lastEvent.set(subject, eventId);
      if (type === 'instance.unhealthy') unhealthy.add(subject);
      else if (
        type === 'instance.healthy' ||
        type === 'instance.ready' ||
        type === 'instance.stopped' ||
        type === 'instance.crashed'
      ) {
        unhealthy.delete(subject);
      }
      if (lastEvent.size > 100_000) lastEvent.delete(lastEvent.keys().next().value!);
    },
    poke,
    pass: run,
    delegate(group, on) {
      if (on) delegated.add(group);
      else if (delegated.delete(group)) poke();
    },
    hold(group, on) {
      if (on) held.add(group);
      else if (held.delete(group)) {
        backfill.add(group);
        poke();
      }
    },
    isDelegated: (group) => delegated.has(group),
    isHeld: (group) => held.has(group),
    replace: (name, cause) => replaceInstance(name, cause),
    async close() {
      if (timer) clearInterval(timer);
      if (poked) clearTimeout(poked);
      while (running) await running;
    },
  };
}
