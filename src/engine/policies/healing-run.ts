/**
 * @module A running HealingPolicy: follows its group's instances from their events (started, ready,
 * healthy, unhealthy, crashed, stopped), replaces each failed one through the action gate, verifies
 * the replacement (ready: healthy and in rotation), and keeps the group's incident: opened on the
 * first failure, every event and action on its timeline, resolved when the group is back at its
 * desired healthy size. A crash loop holds the group instead, escalates the incident to critical
 * and waits for a person to resolve it (which releases the hold).
 */
import type { CloudEvent } from '../../core/event.js';
import { LOOP_KINDS, classifyFailure, noteCrash } from '../../core/healing/failure.js';
import { appendTimeline, withDetails } from '../../core/healing/incident.js';
import { type FailureKind, type HealingSpec, type Incident, type TimelineEntry } from '../../core/healing/types.js';
import { formatDuration } from '../../core/rules/manifest-reader.js';
import type { ActionRecord } from '../automation/types.js';
import type { Incidents } from '../incidents.js';
import type { PolicyContext, PolicyInstance } from './types.js';
import { notifyIncident, submitHold, submitRelease, submitReplace } from './healing-actions.js';
import { actionEntry, failureEntry, failurePhrase } from './healing-text.js';

export interface HealingInstance extends PolicyInstance {
  /** Checks verification deadlines now (also done on a timer and before every event). */
  sweep(): Promise<void>;
  /** Any resolved incident: when it is this policy's and its group is held, releases the hold. */
  onIncidentResolved(incident: Incident): Promise<void>;
}

/** One failure being handled: the replaced instance, the action, and its replacement. */
interface Failure {
  readonly instance: string;
  readonly kind: FailureKind;
  /** When the failure was observed (its event's time). */
  readonly at: number;
  readonly event?: string;
  incident?: string;
  action?: string;
  actedAt?: number;
  replacement?: string;
}

interface Watched {
  state: 'starting' | 'ready' | 'failed';
  /** Verification deadline (clock ms) while starting. */
  deadline?: number;
}

/** Instances remembered at most (oldest forgotten first). */
const MAX_TRACKED = 10_000;

const iso = (ms: number): string => new Date(ms).toISOString();
const instanceOf = (subject: string | undefined): string | undefined =>
  subject?.startsWith('instance/') ? subject.slice('instance/'.length) : undefined;

export async function startHealingRun(
  spec: HealingSpec,
  ctx: PolicyContext,
  incidents: Incidents,
): Promise<HealingInstance> {
  const ref = `HealingPolicy/${spec.name}`;
  const groupRef = `instancegroup/${spec.group}`;
  const watched = new Map<string, Watched>();
  /** Instances whose failure was handled: a second failure event of the same life is ignored. */
  const handled = new Set<string>();
  /** Replacements in flight, by action id, until the replacement is ready. */
  const pending = new Map<string, Failure>();
  let window: number[] = [];
  let held = false;
  let incidentId: string | undefined;
  let closed = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let nextDeadline = Number.POSITIVE_INFINITY;
  let last: Record<string, unknown> | undefined;
  const counts = { events: 0, failures: 0, replacements: 0, verified: 0, notReplaced: 0, crashLoops: 0, resolved: 0 };
  let chain: Promise<unknown> = Promise.resolve();
  const serial = <T>(fn: () => Promise<T>): Promise<T> => {
    const run = chain.then(fn);
    chain = run.catch(() => undefined);
    return run;
  };

  const timeOf = (e: CloudEvent): number => {
    const t = e.time === undefined ? Number.NaN : Date.parse(e.time);
    return Number.isFinite(t) ? t : ctx.clock.now();
  };
  /** Re-inserts `key` (newest last) and forgets the oldest entries past MAX_TRACKED. */
  const remember = (set: Set<string>, key: string): void => {
    set.delete(key);
    set.add(key);
    if (set.size > MAX_TRACKED) set.delete(set.values().next().value!);
  };
  const watch = (instance: string, w: Watched): void => {
    watched.delete(instance);
    watched.set(instance, w);
    if (watched.size > MAX_TRACKED) watched.delete(watched.keys().next().value!);
    if (w.deadline !== undefined && w.deadline < nextDeadline) arm();
  };

  const notify = (incident: Incident, what: 'opened' | 'escalated' | 'resolved'): void =>
    notifyIncident(ctx, spec, incidents, incident, what);

  /** Appends to the group's open incident (opening one first) and updates its figures. */
  async function record(f: Failure, entries: TimelineEntry[], patch: Record<string, unknown> = {}, replaced = false) {
    const count = (i: Incident, key: string, add: number): number =>
      ((i.details[key] as number | undefined) ?? 0) + add;
    const figures = (i: Incident): Record<string, unknown> => ({
      failures: count(i, 'failures', 1),
      replacements: count(i, 'replacements', replaced ? 1 : 0),
      lastFailureAt: iso(f.at),
      ...(f.actedAt !== undefined && i.details.toActionMs === undefined ? { toActionMs: f.actedAt - f.at } : {}),
      ...patch,
    });
    if (incidentId !== undefined) {
      const id = incidentId;
      f.incident = id;
      await incidents.update(id, (i) => withDetails(appendTimeline(i, entries), figures(i)));
      return id;
    }
    const opened = await incidents.open({
      title: `${spec.group}: ${f.instance} ${failurePhrase(f.kind)}`,
      severity: spec.severity,
      resource: groupRef,
      group: spec.group,
      policy: ref,
      at: f.at,
      ...(f.event === undefined ? {} : { cause: f.event }),
      timeline: entries,
      details: { firstFailureAt: iso(f.at), held: false },
    });
    incidentId = opened.id;
    f.incident = opened.id;
    const incident = await incidents.update(opened.id, (i) => withDetails(i, figures(i)));
    notify(incident, 'opened');
    return opened.id;
  }

  const replace = (f: Failure): Promise<ActionRecord> =>
    submitReplace(ctx, spec, {
      instance: f.instance,
      reason: `${f.instance} ${failurePhrase(f.kind)}: take it out of rotation, start a replacement, verify it healthy`,
      inputs: { failure: f.kind, failedAt: iso(f.at), ...(f.event === undefined ? {} : { event: f.event }) },
      ...(f.event === undefined ? {} : { event: f.event }),
      starting: (actionId) => {
        f.action = actionId;
        f.actedAt = ctx.clock.now();
        pending.set(actionId, f);
      },
      done: (actionId, ok) => {
        if (ok) counts.replacements++;
        else pending.delete(actionId);
      },
    });

  async function crashLoop(f: Failure, entries: TimelineEntry[]): Promise<Record<string, unknown>> {
    held = true;
    counts.crashLoops++;
    const now = ctx.clock.now();
    const within = formatDuration(spec.crashLoop.withinMs);
    const why = `crash loop: ${window.length} failures (crashed or never ready) within ${within}; stop replacing and hold ${spec.group}`;
    entries.push({ at: now, kind: 'note', summary: why });
    const hold = await submitHold(ctx, spec, why, {
      inputs: { failures: window.map(iso), crashes: spec.crashLoop.crashes, withinMs: spec.crashLoop.withinMs },
      ...(f.event === undefined ? {} : { cause: f.event }),
    });
    entries.push(actionEntry(hold, `hold ${spec.group}: no new instances until released`));
    const id = await record(f, entries, { held: true, crashLoopAt: iso(now), holdAction: hold.id });
    await incidents.update(id, (i) => ({ ...i, title: `${spec.group}: crash loop, replacements held` }));
    const escalated = await incidents.escalate(
      id,
      'critical',
      {
        at: now,
        kind: 'note',
        summary: `severity critical: resolve this incident (homeostat incident ${id} --resolve) to release ${spec.group}`,
      },
      hold.id,
    );
    notify(escalated, 'escalated');
    last = { at: iso(now), decision: 'hold', instance: f.instance, outcome: hold.outcome, incident: id };
    return { failure: f.kind, instance: f.instance, crashLoop: true, action: hold.id, outcome: hold.outcome };
  }

  async function onFailure(instance: string, kind: FailureKind, at: number, e?: CloudEvent) {
    if (!spec.on.includes(kind)) return { ignored: `${kind} is not in spec.on` };
    if (handled.has(instance)) return { ignored: `${instance} is already handled` };
    remember(handled, instance);
    const w = watched.get(instance);
    if (w) Object.assign(w, { state: 'failed', deadline: undefined });
    counts.failures++;
    const f: Failure = { instance, kind, at, ...(e === undefined ? {} : { event: e.id }) };
    const entries: TimelineEntry[] = [failureEntry(instance, kind, at, e)];
    for (const [id, p] of pending) {
      if (p.replacement !== instance) continue;
      pending.delete(id);
      entries.push({
        at,
        kind: 'note',
        summary: `replacement ${instance} (for ${p.instance}) failed before it was ready`,
      });
    }
    if (LOOP_KINDS.includes(kind)) {
      const r = noteCrash(window, at, spec.crashLoop);
      window = r.window;
      if (r.loop && !held) return crashLoop(f, entries);
    }
    if (held) {
      counts.notReplaced++;
      entries.push({ at: ctx.clock.now(), kind: 'note', summary: `${instance} not replaced: ${spec.group} is held` });
      await record(f, entries);
      return { failure: kind, instance, replaced: false, why: 'group held (crash loop)' };
    }
    const action = await replace(f);
    if (action.outcome !== 'executed') counts.notReplaced++;
    entries.push(actionEntry(action, `replace ${instance}: out of rotation and stopped, a new instance started`));
    await record(f, entries, {}, action.outcome === 'executed');
    last = {
      at: iso(ctx.clock.now()),
      decision: 'replace',
      instance,
      failure: kind,
      outcome: action.outcome,
      action: action.id,
    };
    return { failure: kind, instance, action: action.id, outcome: action.outcome };
  }

  async function onStarted(instance: string, e: CloudEvent) {
    const at = timeOf(e);
    handled.delete(instance);
    const deadline = spec.on.includes('not-ready') ? ctx.clock.now() + spec.verifyTimeoutMs : undefined;
    watch(instance, { state: 'starting', ...(deadline === undefined ? {} : { deadline }) });
    const f = e.causationid === undefined ? undefined : pending.get(e.causationid);
    if (f === undefined || f.replacement !== undefined) return { watching: instance };
    f.replacement = instance;
    const summary = `replacement ${instance} started for ${f.instance} (${at - f.at} ms after it ${failurePhrase(f.kind)})`;
    if (f.incident !== undefined) {
      await incidents.update(f.incident, (i) =>
        withDetails(appendTimeline(i, [{ at, kind: 'event', summary, ref: e.id }]), {
          ...(i.details.toReplacementMs === undefined ? { toReplacementMs: at - f.at } : {}),
        }),
      );
    }
    return { replacement: instance, for: f.instance };
  }

  async function onRecovered(instance: string, e: CloudEvent) {
    const at = timeOf(e);
    const w = watched.get(instance);
    const wasFailed = handled.has(instance) || w?.state === 'failed';
    watch(instance, { state: 'ready' });
    handled.delete(instance);
    const f =
      (e.causationid === undefined ? undefined : pending.get(e.causationid)) ??
      [...pending.values()].find((p) => p.replacement === instance);
    if (f !== undefined) {
      pending.delete(f.action!);
      counts.verified++;
      const summary = `${instance} ready: healthy and in rotation, replacing ${f.instance} (${at - f.at} ms after it ${failurePhrase(f.kind)})`;
      if (f.incident !== undefined) {
        await incidents.update(f.incident, (i) =>
          withDetails(appendTimeline(i, [{ at, kind: 'event', summary, ref: e.id }]), {
            verified: ((i.details.verified as number | undefined) ?? 0) + 1,
            ...(i.details.toVerifiedMs === undefined ? { toVerifiedMs: at - f.at } : {}),
          }),
        );
      }
    } else if (wasFailed && incidentId !== undefined) {
      await incidents.append(incidentId, [{ at, kind: 'event', summary: `${instance} healthy again`, ref: e.id }]);
    }
    await resolveIfRecovered();
    return { verified: f !== undefined, instance };
  }

  /** Resolves the open incident once nothing is pending and the group is at its desired healthy size. */
  async function resolveIfRecovered(): Promise<void> {
    if (incidentId === undefined || held || pending.size > 0) return;
    const view = await ctx.infra.group(spec.group);
    if (view === undefined) return;
    const healthy = view.instances.filter((i) => i.status?.phase === 'running' && i.status.healthy).length;
    if (healthy < view.desired) return;
    const id = incidentId;
    incidentId = undefined;
    const resolved = await incidents.resolve(id, {
      by: ref,
      comment: `${spec.group} is back at ${healthy}/${view.desired} healthy instances`,
    });
    counts.resolved++;
    notify(resolved, 'resolved');
  }

  async function sweepNow(): Promise<void> {
    const now = ctx.clock.now();
    if (now < nextDeadline) return;
    for (const [instance, w] of [...watched]) {
      if (w.state !== 'starting' || w.deadline === undefined || w.deadline > now) continue;
      w.deadline = undefined;
      await onFailure(instance, 'not-ready', now);
    }
    arm();
  }

  /** Sets the timer for the earliest verification deadline. */
  function arm(): void {
    if (timer) clearTimeout(timer);
    timer = undefined;
    nextDeadline = Number.POSITIVE_INFINITY;
    for (const w of watched.values()) if (w.deadline !== undefined) nextDeadline = Math.min(nextDeadline, w.deadline);
    if (closed || nextDeadline === Number.POSITIVE_INFINITY) return;
    timer = setTimeout(() => void serial(sweepNow).catch(onError), Math.max(0, nextDeadline - ctx.clock.now()) + 5);
    timer.unref?.();
  }

  const onError = (err: unknown): void => ctx.logger.error({ err, policy: ref }, 'healing policy failed');

  async function handle(e: CloudEvent): Promise<Record<string, unknown>> {
    if (closed) return { skipped: 'policy closed' };
    counts.events++;
    await sweepNow();
    const instance = instanceOf(e.subject);
    if (instance === undefined) return { ignored: 'not an instance event' };
    const failure = classifyFailure(e.type, e.data);
    if (failure !== undefined) return onFailure(instance, failure, timeOf(e), e);
    if (e.type === 'infra.instance.started') return onStarted(instance, e);
    if (e.type === 'infra.instance.ready' || e.type === 'infra.instance.healthy') return onRecovered(instance, e);
    if (e.type === 'infra.instance.stopped') {
      watched.delete(instance);
      return { forgot: instance };
    }
    return { ignored: e.type };
  }

  async function release(incident: Incident): Promise<void> {
    if (incident.id === incidentId) incidentId = undefined;
    if (!held && incident.details.held !== true) return;
    held = false;
    window = [];
    const action = await submitRelease(ctx, spec, incident);
    const entry = actionEntry(action, `release ${spec.group}: the reconciler fills it to its desired size again`);
    await incidents.update(incident.id, (i) =>
      withDetails(appendTimeline(i, [entry]), action.outcome === 'executed' ? { held: false } : {}),
    );
    last = { at: iso(ctx.clock.now()), decision: 'release', outcome: action.outcome, action: action.id };
  }

  // Adopt the group's open incident (a re-apply or a restart), and restore its hold.
  const open = await incidents.findOpen(ref, groupRef);
  if (open !== undefined) {
    incidentId = open.id;
    held = open.details.held === true;
    const view = held ? await ctx.infra.group(spec.group) : undefined;
    if (view !== undefined && !view.held) {
      await submitHold(ctx, spec, `incident ${open.id} is still open after a crash loop: hold ${spec.group} again`);
    }
  }

  return {
    onEvent: (_hook, event) => serial(() => handle(event)),
    sweep: () => serial(sweepNow),
    async onIncidentResolved(incident) {
      // The policy's own resolution runs inside its queue already; only a person's needs a release.
      if (incident.policy !== ref || incident.resolvedBy === ref) return;
      await serial(() => release(incident));
    },
    status: () => ({
      group: spec.group,
      on: spec.on,
      held,
      incident: incidentId ?? null,
      pending: [...pending.entries()].map(([action, f]) => ({
        action,
        instance: f.instance,
        failure: f.kind,
        replacement: f.replacement ?? null,
      })),
      crashWindow: window.map(iso),
      counts: { ...counts },
      ...(last === undefined ? {} : { last }),
    }),
    async close() {
      closed = true;
      if (timer) clearTimeout(timer);
      await chain;
    },
  };
}
