/**
 * @module `kind: Schedule`: stop and start a stack's (or a group's, or tagged groups') instances on
 * cron expressions in a time zone, e.g. stop at 19:00 and start at 08:00 on weekdays. The FinOps
 * scheduler publishes a `schedule.fired` event at each fire time; the policy's rule hands it to
 * the policy, which scales each group to 0 (remembering its size in the ledger) or back to the
 * remembered size, through the action gate. A fire delivered twice acts once.
 *
 * ```yaml
 * apiVersion: homeostat/v1
 * kind: Schedule
 * metadata: { name: office-hours }
 * spec: { target: { stack: web }, timezone: Europe/Paris, stop: "0 19 * * 1-5", start: "0 8 * * 1-5" }
 * ```
 */
import type { CostScope } from '../../core/cost/types.js';
import type { CloudEvent } from '../../core/event.js';
import type { CostLedger } from '../../ports/cost-ledger.js';
import type { GroupView } from '../automation/types.js';
import { describeScope, finish, readPolicyHeader, readScope } from '../finops/manifest.js';
import { checkCron, isTimeZone, SCHEDULE_FIRED, SCHEDULE_SOURCE, type Scheduler } from '../finops/scheduler.js';
import type { CompiledRule, PolicyBase, PolicyContext, PolicyInstance, PolicyKind } from './types.js';

const KIND = 'Schedule';

export interface ScheduleSpec extends PolicyBase {
  readonly kind: 'Schedule';
  readonly target: CostScope;
  readonly timezone: string;
  readonly stop?: string;
  readonly start?: string;
}

export function parseSchedule(manifest: Readonly<Record<string, unknown>>): ScheduleSpec {
  const h = readPolicyHeader(manifest, KIND, ['target', 'timezone', 'stop', 'start']);
  const { r, spec } = h;
  const target = readScope(r, spec.target, '/spec/target', true);
  const timezone = spec.timezone ?? 'UTC';
  const tzOk = typeof timezone === 'string' && isTimeZone(timezone);
  if (!tzOk)
    r.add(
      '/spec/timezone',
      `must be an IANA time zone such as Europe/Paris or UTC (default), not ${JSON.stringify(timezone)}`,
    );
  if (spec.stop === undefined && spec.start === undefined)
    r.add('/spec', "needs stop, start or both: cron expressions such as stop: '0 19 * * 1-5'");
  for (const key of ['stop', 'start'] as const) {
    if (spec[key] !== undefined)
      r.problems.push(...checkCron(spec[key], tzOk ? (timezone as string) : 'UTC', `/spec/${key}`));
  }
  finish(h, KIND);
  return Object.freeze({
    kind: KIND,
    name: h.name,
    ...(h.description === undefined ? {} : { description: h.description }),
    safety: h.safety,
    target,
    timezone: timezone as string,
    ...(spec.stop === undefined ? {} : { stop: spec.stop as string }),
    ...(spec.start === undefined ? {} : { start: spec.start as string }),
  });
}

export function compileSchedule(spec: ScheduleSpec): CompiledRule[] {
  return [
    {
      suffix: 'fire',
      spec: {
        description: `stop/start ${describeScope(spec.target)} on schedule (${spec.timezone})`,
        match: { source: [SCHEDULE_SOURCE], type: [SCHEDULE_FIRED], data: { schedule: [spec.name] } },
        targets: [{ action: 'policy', with: { policy: `${KIND}/${spec.name}`, hook: 'fire' } }],
      },
    },
  ];
}

/** The policy kind; `scheduler` publishes the fires and `ledger` keeps remembered sizes (createFinOps wires them). */
export function createScheduleKind(scheduler: Scheduler, ledger: CostLedger): PolicyKind<ScheduleSpec> {
  return {
    kind: KIND,
    parse: parseSchedule,
    compile: compileSchedule,
    async start(spec, context) {
      const entries = (['stop', 'start'] as const).flatMap((action) =>
        spec[action] === undefined ? [] : [{ action, cron: spec[action]! }],
      );
      await scheduler.add(spec.name, entries, spec.timezone);
      return startSchedule(spec, context, scheduler, ledger);
    },
  };
}

function inTarget(g: GroupView, target: CostScope): boolean {
  if (target.stack !== undefined && g.stack !== target.stack) return false;
  if (target.group !== undefined && g.name !== target.group) return false;
  return Object.entries(target.tags ?? {}).every(([k, v]) => g.tags[k] === v);
}

function startSchedule(
  spec: ScheduleSpec,
  context: PolicyContext,
  scheduler: Scheduler,
  ledger: CostLedger,
): PolicyInstance {
  const ref = `${KIND}/${spec.name}`;
  const sizesKey = `schedule/${spec.name}/sizes`;
  const handledKey = `schedule/${spec.name}/handled`;
  let last: Readonly<Record<string, unknown>> | undefined;

  async function scale(g: GroupView, to: number, action: 'stop' | 'start', event: CloudEvent, cron: unknown) {
    const record = await context.gate.submit(
      {
        policy: ref,
        action: 'scale',
        resource: `instancegroup/${g.name}`,
        group: g.name,
        groupSize: g.instances.length,
        direction: action,
        params: { from: g.desired, to },
        reason: `scheduled ${action} of ${describeScope(spec.target)} (${String(cron)} ${spec.timezone})`,
        inputs: { schedule: spec.name, fire: event.data ?? null, desired: g.desired },
        cause: event.id,
      },
      async (actionId) => ({
        ...(await context.infra.scaleGroup(g.name, to, actionId, { allowBelowMin: action === 'stop' })),
      }),
    );
    return {
      group: g.name,
      action: record.id,
      outcome: record.outcome,
      from: g.desired,
      to,
      ...(record.why ? { why: record.why } : {}),
      ...(record.result ? { result: record.result } : {}),
    };
  }

  async function fire(event: CloudEvent): Promise<Readonly<Record<string, unknown>>> {
    const d = (event.data ?? {}) as Record<string, unknown>;
    if (d.schedule !== spec.name) return { skipped: `fire of another schedule (${String(d.schedule)})` };
    if ((await ledger.getState(handledKey)) === event.id) return { skipped: `fire ${event.id} already handled` };
    const action = d.action === 'start' ? 'start' : 'stop';
    const groups = (await context.infra.groups()).filter((g) => inTarget(g, spec.target));
    const sizes = { ...((await ledger.getState(sizesKey)) as Record<string, number> | undefined) };
    const results = [];
    if (action === 'stop') {
      for (const g of groups) if (g.desired > 0 && sizes[g.name] === undefined) sizes[g.name] = g.desired;
      await ledger.putState(sizesKey, sizes); // remembered before anything is stopped
      for (const g of groups) if (g.desired > 0) results.push(await scale(g, 0, 'stop', event, d.cron));
    } else {
      for (const g of groups) {
        const to = sizes[g.name] ?? (g.desired === 0 ? Math.max(g.min, 1) : undefined);
        if (to === undefined || g.desired >= to) {
          delete sizes[g.name];
          continue;
        }
        const result = await scale(g, to, 'start', event, d.cron);
        if (result.outcome !== 'failed' && result.outcome !== 'refused') delete sizes[g.name];
        results.push(result);
      }
      await ledger.putState(sizesKey, Object.keys(sizes).length > 0 ? sizes : null);
    }
    await ledger.putState(handledKey, event.id);
    return { action, fireTime: d.fireTime ?? null, groups: results };
  }

  return {
    async onEvent(hook, event) {
      if (hook !== 'fire') return { skipped: `no hook ${hook}` };
      last = { at: new Date(context.clock.now()).toISOString(), event: event.id, ...(await fire(event)) };
      return last;
    },
    status() {
      const next = scheduler.next(spec.name);
      return {
        target: describeScope(spec.target),
        timezone: spec.timezone,
        ...(next ? { next: { action: next.action, at: new Date(next.at).toISOString() } } : {}),
        ...(last ? { last } : {}),
      };
    },
    async close() {
      scheduler.remove(spec.name);
    },
  };
}
