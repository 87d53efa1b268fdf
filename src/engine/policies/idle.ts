/**
 * @module `kind: IdlePolicy`: a group whose metric stays below a threshold for a while (e.g. under
 * 1 request per second for 30 minutes) is scaled to its minimum, or stopped (scaled to 0 where
 * the group allows it). It compiles to one rule on the group's metrics events whose value is below
 * the threshold, with a sustained condition (`when: { for }`); the condition's firing reaches the
 * policy, which scales the group through the action gate (safety rails apply).
 *
 * ```yaml
 * apiVersion: homeostat/v1
 * kind: IdlePolicy
 * metadata: { name: web-idle }
 * spec: { target: group/web, metric: { field: data.rps, below: 1 }, for: 30m, action: scale-to-min }
 * ```
 */
import type { CloudEvent } from '../../core/event.js';
import { formatDuration } from '../../core/rules/manifest-reader.js';
import type { ActionRecord } from '../automation/types.js';
import { finish, readPolicyHeader } from '../finops/manifest.js';
import type { CompiledRule, PolicyBase, PolicyContext, PolicyInstance, PolicyKind } from './types.js';

const KIND = 'IdlePolicy';
const ACTIONS = ['scale-to-min', 'stop'] as const;
const FIELD = /^(data(\.[A-Za-z_][A-Za-z0-9_]*)+)$/;
const DAY = 86_400_000;

export interface IdleSpec extends PolicyBase {
  readonly kind: 'IdlePolicy';
  readonly group: string;
  readonly metric: { readonly type: string; readonly field: string; readonly below: number };
  readonly forMs: number;
  readonly action: (typeof ACTIONS)[number];
  /** After acting, the condition does not fire again for this long. Default: `for`. */
  readonly cooldownMs: number;
}

export function parseIdle(manifest: Readonly<Record<string, unknown>>): IdleSpec {
  const h = readPolicyHeader(manifest, KIND, ['target', 'metric', 'for', 'action', 'cooldown']);
  const { r, spec } = h;
  const m =
    typeof spec.target === 'string'
      ? /^(?:group|instancegroup)\/([a-z0-9]([a-z0-9.-]*[a-z0-9])?)$/i.exec(spec.target)
      : null;
  if (!m) r.add('/spec/target', `must name an instance group as 'group/<name>', not ${JSON.stringify(spec.target)}`);
  const metric = r.object(
    spec.metric,
    '/spec/metric',
    "an object { field: data.rps, below: 1 } (type defaults to 'infra.metrics')",
  );
  let type = 'infra.metrics';
  let field = 'data.rps';
  let below = 0;
  if (metric) {
    r.fields(metric, '/spec/metric', ['type', 'field', 'below']);
    if (metric.type !== undefined) {
      if (typeof metric.type === 'string' && metric.type !== '') type = metric.type;
      else r.add('/spec/metric/type', 'must be an event type such as infra.metrics');
    }
    if (typeof metric.field === 'string' && FIELD.test(metric.field)) field = metric.field;
    else
      r.add(
        '/spec/metric/field',
        `must be a field of the event's data such as 'data.rps', not ${JSON.stringify(metric.field)}`,
      );
    if (typeof metric.below === 'number' && Number.isFinite(metric.below)) below = metric.below;
    else
      r.add(
        '/spec/metric/below',
        `required: the threshold (a number) under which the group is idle, not ${JSON.stringify(metric.below)}`,
      );
  }
  if (spec.for === undefined) r.add('/spec/for', "required: how long the metric must stay below, e.g. '30m'");
  const forMs = r.duration(spec.for, '/spec/for', 1_000, 30 * DAY, 30 * 60_000);
  const cooldownMs = r.duration(spec.cooldown, '/spec/cooldown', 0, 30 * DAY, forMs);
  const action = spec.action ?? 'scale-to-min';
  if (!ACTIONS.includes(action as IdleSpec['action']))
    r.add('/spec/action', `must be one of ${ACTIONS.join(', ')} (default scale-to-min)`);
  finish(h, KIND);
  return Object.freeze({
    kind: KIND,
    name: h.name,
    ...(h.description === undefined ? {} : { description: h.description }),
    safety: h.safety,
    group: m![1]!,
    metric: Object.freeze({ type, field, below }),
    forMs,
    action: action as IdleSpec['action'],
    cooldownMs,
  });
}

/** `data.rps` below 1 → `{ data: { rps: [{ numeric: ['<', 1] }] } }`. */
function fieldPattern(field: string, below: number): Record<string, unknown> {
  const path = field.split('.');
  let pattern: unknown = [{ numeric: ['<', below] }];
  for (let i = path.length - 1; i >= 0; i--) pattern = { [path[i]!]: pattern };
  return pattern as Record<string, unknown>;
}

export function compileIdle(spec: IdleSpec): CompiledRule[] {
  return [
    {
      suffix: 'idle',
      spec: {
        description: `${spec.metric.field} of group ${spec.group} below ${spec.metric.below} for ${formatDuration(spec.forMs)} → ${spec.action}`,
        match: {
          type: [spec.metric.type],
          subject: [`instancegroup/${spec.group}`],
          ...fieldPattern(spec.metric.field, spec.metric.below),
        },
        // Busy metrics do not match the rule, so a gap of a minute (or of `for`, if shorter) in the
        // low readings means the group was busy: the idle period starts again.
        when: {
          for: formatDuration(spec.forMs),
          maxGap: formatDuration(Math.min(spec.forMs, 60_000)),
          cooldown: formatDuration(spec.cooldownMs),
        },
        targets: [{ action: 'policy', with: { policy: `${KIND}/${spec.name}`, hook: 'idle' } }],
      },
    },
  ];
}

/** What the condition reported (the firing's detail), without the trigger event it carries. */
function conditionOf(event: CloudEvent): Record<string, unknown> {
  const { trigger: _trigger, ...rest } = (event.data ?? {}) as Record<string, unknown>;
  return rest;
}

export const idlePolicyKind: PolicyKind<IdleSpec> = {
  kind: KIND,
  parse: parseIdle,
  compile: compileIdle,
  start: (spec, context) => startIdle(spec, context),
};

function startIdle(spec: IdleSpec, context: PolicyContext): PolicyInstance {
  const ref = `${KIND}/${spec.name}`;
  let last: Readonly<Record<string, unknown>> | undefined;
  let actions = 0;
  const decide = async (event: CloudEvent): Promise<Readonly<Record<string, unknown>>> => {
    const group = await context.infra.group(spec.group);
    if (!group) return { skipped: `no group ${spec.group}` };
    const to = spec.action === 'stop' ? 0 : group.min;
    if (group.desired <= to) return { skipped: `group ${spec.group} already at ${group.desired} (target ${to})` };
    const record: ActionRecord = await context.gate.submit(
      {
        policy: ref,
        action: 'scale',
        resource: `instancegroup/${spec.group}`,
        group: spec.group,
        groupSize: group.instances.length,
        direction: spec.action === 'stop' ? 'stop' : 'down',
        params: { from: group.desired, to },
        reason: `${spec.metric.field} below ${spec.metric.below} for ${formatDuration(spec.forMs)}: idle, ${spec.action === 'stop' ? 'stop' : `scale to min ${to}`}`,
        inputs: {
          metric: spec.metric,
          forMs: spec.forMs,
          condition: conditionOf(event),
          desired: group.desired,
          min: group.min,
        },
        cause: event.id,
      },
      async (actionId) => ({
        ...(await context.infra.scaleGroup(spec.group, to, actionId, { allowBelowMin: spec.action === 'stop' })),
      }),
    );
    actions++;
    return {
      action: record.id,
      outcome: record.outcome,
      from: group.desired,
      to,
      ...(record.why ? { why: record.why } : {}),
    };
  };
  return {
    async onEvent(hook, event) {
      if (hook !== 'idle') return { skipped: `no hook ${hook}` };
      last = { at: new Date(context.clock.now()).toISOString(), event: event.id, ...(await decide(event)) };
      return last;
    },
    status: () => ({ group: spec.group, action: spec.action, actions, ...(last ? { last } : {}) }),
    async close() {},
  };
}
