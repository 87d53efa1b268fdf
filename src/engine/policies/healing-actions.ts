/**
 * @module What a HealingPolicy asks of the gate and sends out: the replace, hold and release
 * actions (each performed through InfraControl with the action id as cause) and the incident
 * webhook, sent beside the healing and written on the timeline when it arrives or fails.
 */
import type { HealingSpec, Incident } from '../../core/healing/types.js';
import type { ActionRecord } from '../automation/types.js';
import type { Incidents } from '../incidents.js';
import type { PolicyContext } from './types.js';

const policyOf = (spec: HealingSpec): string => `HealingPolicy/${spec.name}`;
const groupRefOf = (spec: HealingSpec): string => `instancegroup/${spec.group}`;

export interface ReplaceInput {
  readonly instance: string;
  readonly reason: string;
  readonly inputs: Readonly<Record<string, unknown>>;
  /** The failure event, if any: the action's cause and idempotency key. */
  readonly event?: string;
  /** Called with the action id just before InfraControl replaces the instance (maybe after an approval). */
  readonly starting: (actionId: string) => void;
  /** Called after InfraControl answered: `ok` false when the replacement failed. */
  readonly done: (actionId: string, ok: boolean) => void;
}

/** Submits `replace instance/<name>`: out of rotation and stopped, a new instance started. */
export async function submitReplace(ctx: PolicyContext, spec: HealingSpec, input: ReplaceInput): Promise<ActionRecord> {
  const view = await ctx.infra.group(spec.group);
  return ctx.gate.submit(
    {
      policy: policyOf(spec),
      action: 'replace',
      resource: `instance/${input.instance}`,
      group: spec.group,
      ...(view === undefined ? {} : { groupSize: view.desired }),
      direction: 'none',
      params: { instance: input.instance },
      reason: input.reason,
      inputs: input.inputs,
      ...(input.event === undefined ? {} : { cause: input.event, key: `${policyOf(spec)}:replace:${input.event}` }),
    },
    async (actionId) => {
      input.starting(actionId);
      try {
        await ctx.infra.replaceInstance(input.instance, actionId);
      } catch (err) {
        input.done(actionId, false);
        throw err;
      }
      input.done(actionId, true);
      return { instance: input.instance };
    },
  );
}

/** Submits `hold instancegroup/<group>`: no new instances until released. */
export function submitHold(
  ctx: PolicyContext,
  spec: HealingSpec,
  why: string,
  extra: { readonly inputs?: Readonly<Record<string, unknown>>; readonly cause?: string } = {},
): Promise<ActionRecord> {
  return ctx.gate.submit(
    {
      policy: policyOf(spec),
      action: 'hold',
      resource: groupRefOf(spec),
      group: spec.group,
      direction: 'none',
      params: { group: spec.group, reason: why },
      reason: why,
      ...(extra.inputs === undefined ? {} : { inputs: extra.inputs }),
      ...(extra.cause === undefined ? {} : { cause: extra.cause }),
    },
    async (actionId) => {
      await ctx.infra.holdGroup(spec.group, why, actionId);
      return { group: spec.group, held: true };
    },
  );
}

/** Submits `release instancegroup/<group>` after a person resolved the crash-loop incident. */
export function submitRelease(ctx: PolicyContext, spec: HealingSpec, incident: Incident): Promise<ActionRecord> {
  return ctx.gate.submit(
    {
      policy: policyOf(spec),
      action: 'release',
      resource: groupRefOf(spec),
      group: spec.group,
      direction: 'none',
      // A person decided: the release is not held back by the policy's dry-run or approval mode.
      mode: 'enforce',
      params: { group: spec.group },
      reason: `incident ${incident.id} resolved by ${incident.resolvedBy ?? 'someone'}: release ${spec.group}`,
      inputs: { incident: incident.id },
    },
    async (actionId) => {
      await ctx.infra.releaseGroup(spec.group, actionId);
      return { group: spec.group, held: false };
    },
  );
}

/**
 * Posts the incident to `spec.notify.url` without waiting for it (a slow or failing webhook never
 * delays healing), then writes on the timeline whether it arrived.
 */
export function notifyIncident(
  ctx: PolicyContext,
  spec: HealingSpec,
  incidents: Incidents,
  incident: Incident,
  what: 'opened' | 'escalated' | 'resolved',
): void {
  const url = spec.notify?.url;
  if (url === undefined) return;
  const at = ctx.clock.now();
  const body = { type: `homeostat.incident.${what}`, policy: policyOf(spec), incident };
  const message = (err: unknown): string => (err instanceof Error ? err.message : String(err));
  ctx
    .notify(url, body, `${incident.id}:${what}`)
    .then(
      () => incidents.append(incident.id, [{ at, kind: 'action', summary: `notified ${url} (${what})` }]),
      (err: unknown) =>
        incidents.append(incident.id, [
          { at, kind: 'note', summary: `notification to ${url} failed: ${message(err)}` },
        ]),
    )
    .catch((err: unknown) => ctx.logger.warn({ err, incident: incident.id }, 'could not record a notification'));
}
