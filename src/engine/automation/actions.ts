/**
 * @module The built-in infrastructure actions as rule targets: `scale`, `replace`, `restart`,
 * `stop`, `revert`, `patch`, `hold`, `release`. Each delivery becomes an ActionRequest of policy
 * `Rule/<rule name>` that goes through the action gate (safety rails, dry-run, approval) and is
 * performed through InfraControl. A refusal is a delivered outcome (`detail.outcome: 'refused'`),
 * not a failure to retry. docs/ACTIONS.md and docs/SAFETY.md describe the options.
 */
import { ErrorCode, type Problem, hasCode } from '../../core/errors.js';
import type { ActionDirection } from '../../core/safety/types.js';
import type { DeliveryOutcome, DeliveryRequest, Target } from '../../ports/target.js';
import { INFRA_ACTIONS, type InfraAction, parseResourceRef, performInfraAction, resourceKindOf } from './perform.js';
import type { ActionGate, ActionRecord, ActionRequest, InfraControl } from './types.js';

export interface InfraActionTargetDeps {
  readonly gate: ActionGate;
  /** The infrastructure control; a function so the runtime can create it after the targets. */
  readonly infra: () => InfraControl;
}

type Options = Readonly<Record<string, unknown>>;

const ALLOWED: Readonly<Record<InfraAction, readonly string[]>> = {
  scale: ['group', 'to', 'by'],
  replace: ['instance'],
  restart: ['instance'],
  stop: ['instance'],
  revert: ['kind', 'name'],
  patch: ['kind', 'name', 'patch'],
  hold: ['group', 'reason'],
  release: ['group'],
};

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const KIND_HELP = 'a resource kind: InstanceGroup, Instance, LoadBalancer or SecurityRule';

function text(options: Options, key: string, help: string, problems: Problem[]): void {
  const v = options[key];
  if (v !== undefined && (typeof v !== 'string' || v === '')) {
    problems.push({ pointer: `/${key}`, message: `must be a non-empty string: ${help}` });
  }
}

function validateScale(o: Options, problems: Problem[]): void {
  text(o, 'group', "the instance group (default: the event's subject when it is instancegroup/<name>)", problems);
  if ((o.to === undefined) === (o.by === undefined)) {
    problems.push({ pointer: '', message: 'give exactly one of to (the new size) or by (a step, e.g. 2 or -1)' });
  }
  if (o.to !== undefined && !(Number.isInteger(o.to) && (o.to as number) >= 0)) {
    problems.push({ pointer: '/to', message: 'must be an integer of at least 0 (the new desired size)' });
  }
  if (o.by !== undefined && !(Number.isInteger(o.by) && o.by !== 0)) {
    problems.push({
      pointer: '/by',
      message: 'must be a non-zero integer (instances to add, or remove when negative)',
    });
  }
}

function validateKindName(o: Options, problems: Problem[], required: boolean): void {
  for (const key of ['kind', 'name']) {
    if (required && o[key] === undefined) problems.push({ pointer: `/${key}`, message: `is required` });
  }
  if (o.kind !== undefined && (typeof o.kind !== 'string' || resourceKindOf(o.kind) === undefined)) {
    problems.push({ pointer: '/kind', message: `must be ${KIND_HELP}` });
  }
  text(o, 'name', 'the resource name', problems);
  if (!required && (o.kind === undefined) !== (o.name === undefined)) {
    problems.push({ pointer: '', message: "give both kind and name, or neither (then the event's subject is used)" });
  }
}

/** Checks a target's `with` for one of the infrastructure actions; pointers are relative to `with`. */
export function validateInfraAction(action: InfraAction, options: Options): Problem[] {
  const allowed = ALLOWED[action];
  const problems: Problem[] = Object.keys(options)
    .filter((k) => !allowed.includes(k))
    .map((k) => ({ pointer: `/${k}`, message: `unknown option; allowed: ${allowed.join(', ')}` }));
  if (action === 'scale') validateScale(options, problems);
  else if (action === 'revert') validateKindName(options, problems, false);
  else if (action === 'patch') {
    validateKindName(options, problems, true);
    if (!isObj(options.patch) || Object.keys(options.patch).length === 0) {
      problems.push({ pointer: '/patch', message: 'must be a non-empty object: the fields of the spec to change' });
    }
  } else if (action === 'hold' || action === 'release') {
    text(
      options,
      'group',
      "the instance group (default: the event's subject when it is instancegroup/<name>)",
      problems,
    );
    text(options, 'reason', 'why replacements are held', problems);
  } else text(options, 'instance', "the instance (default: the event's subject when it is instance/<name>)", problems);
  return problems;
}

/** The resource ref the delivery acts on, from the options or the event's subject. */
function resourceFor(action: InfraAction, o: Options, subject: string | undefined): string | undefined {
  const ref = parseResourceRef(subject);
  const named = (kind: string, key: string) =>
    typeof o[key] === 'string' ? `${kind}/${o[key] as string}` : ref?.kind.toLowerCase() === kind ? subject : undefined;
  switch (action) {
    case 'scale':
    case 'hold':
    case 'release':
      return named('instancegroup', 'group');
    case 'replace':
    case 'restart':
    case 'stop':
      return named('instance', 'instance');
    default:
      if (typeof o.kind === 'string' && typeof o.name === 'string') {
        return `${resourceKindOf(o.kind)!.toLowerCase()}/${o.name}`;
      }
      return ref === undefined ? undefined : subject;
  }
}

const DIRECTION: Readonly<Record<InfraAction, ActionDirection>> = {
  scale: 'none',
  replace: 'none',
  restart: 'none',
  stop: 'stop',
  revert: 'revert',
  patch: 'change',
  hold: 'stop',
  release: 'start',
};

/** What the rails need beyond the options: the group and its size, and scale's direction. */
async function context(
  infra: InfraControl,
  action: InfraAction,
  resource: string,
  o: Options,
): Promise<Pick<ActionRequest, 'group' | 'groupSize' | 'direction'>> {
  const ref = parseResourceRef(resource);
  if (ref?.kind === 'InstanceGroup') {
    const view = await infra.group(ref.name);
    const size = view?.instances.length;
    let direction = DIRECTION[action];
    if (action === 'scale') {
      const step = typeof o.by === 'number' ? o.by : typeof o.to === 'number' && view ? o.to - view.desired : 0;
      direction = step > 0 ? 'up' : step < 0 ? 'down' : 'none';
    }
    return { group: ref.name, ...(size === undefined ? {} : { groupSize: size }), direction };
  }
  if (ref?.kind === 'Instance') {
    const instance = (await infra.resources()).find((r) => r.kind === 'Instance' && r.name === ref.name);
    const status = instance?.status as { group?: string } | undefined;
    const group = status?.group ?? (instance?.spec as { group?: string } | undefined)?.group;
    const view = group === undefined ? undefined : await infra.group(group);
    return {
      direction: DIRECTION[action],
      ...(group === undefined ? {} : { group }),
      ...(view === undefined ? {} : { groupSize: view.instances.length }),
    };
  }
  return { direction: DIRECTION[action] };
}

function paramsFor(action: InfraAction, o: Options, resource: string): Record<string, unknown> {
  const ref = parseResourceRef(resource);
  if (action === 'revert' || action === 'patch') return { ...o, kind: ref?.kind, name: ref?.name };
  const key = action === 'scale' || action === 'hold' || action === 'release' ? 'group' : 'instance';
  return { ...o, [key]: ref?.name };
}

function outcomeOf(record: ActionRecord, thrown: unknown): DeliveryOutcome {
  const detail: Record<string, unknown> = { outcome: record.outcome, actionId: record.id };
  if (record.why !== undefined) detail.why = record.why;
  if (record.rail !== undefined) detail.rail = record.rail;
  if (record.approval !== undefined) detail.approval = record.approval;
  if (record.result !== undefined) detail.result = record.result;
  if (record.outcome !== 'failed') return { ok: true, detail };
  const code = (thrown as { code?: unknown } | undefined)?.code;
  const retryable = (thrown as { retryable?: unknown } | undefined)?.retryable !== false;
  return {
    ok: false,
    retry: retryable ? 'yes' : 'no',
    error: {
      code: typeof code === 'string' ? code : 'E_ACTION_FAILED',
      message: record.why ?? 'failed',
      details: detail,
    },
  };
}

function createTarget(action: InfraAction, deps: InfraActionTargetDeps): Target {
  return {
    action,
    validate: (options) => validateInfraAction(action, options),
    async deliver(req: DeliveryRequest): Promise<DeliveryOutcome> {
      const o = req.target.with;
      const problems = validateInfraAction(action, o);
      const event = req.record.event;
      const resource = resourceFor(action, o, event.subject);
      if (problems.length > 0 || resource === undefined) {
        const message =
          problems.length > 0
            ? `${action} target options are invalid: ${problems.map((p) => `with${p.pointer}: ${p.message}`).join('; ')}`
            : `${action}: the event's subject ${JSON.stringify(event.subject ?? null)} is not a resource ref this action takes; set the resource in the target's with`;
        return { ok: false, retry: 'no', error: { code: 'E_ACTION_CONFIG', message, details: { problems } } };
      }
      let thrown: unknown;
      try {
        const infra = deps.infra();
        const request: ActionRequest = {
          policy: `Rule/${req.rule}`,
          action,
          resource,
          ...(await context(infra, action, resource, o)),
          params: paramsFor(action, o, resource),
          reason: `rule ${req.rule} matched ${event.type} ${event.id}${req.replayed ? ' (replayed: recorded as a dry run, not performed again)' : ''}`,
          // A replay re-delivers past events: it must not change infrastructure a second time.
          ...(req.replayed ? { mode: 'dry-run' as const } : {}),
          inputs: { event: { id: event.id, source: event.source, type: event.type, subject: event.subject } },
          cause: event.id,
          key: req.idempotencyKey,
        };
        const record = await deps.gate.submit(request, async (id) => {
          try {
            return await performInfraAction(infra, request, id);
          } catch (err) {
            thrown = err;
            throw err;
          }
        });
        return outcomeOf(record, thrown);
      } catch (err) {
        const code = hasCode(err, ErrorCode.CLOSED) ? 'E_ABORTED' : 'E_ACTION_FAILED';
        return { ok: false, retry: 'yes', error: { code, message: (err as Error)?.message ?? String(err) } };
      }
    },
  };
}

/** The infrastructure actions as targets, for the target registry (the runtime adds them). */
export function createInfraActionTargets(deps: InfraActionTargetDeps): Target[] {
  return INFRA_ACTIONS.map((action) => createTarget(action, deps));
}
