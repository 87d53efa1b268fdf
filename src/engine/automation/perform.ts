/**
 * @module Performs a built-in infrastructure action from its request alone (action, resource ref
 * and params) through InfraControl: what the rule targets do (actions.ts), and what the gate uses
 * for an approved action whose requester is gone after a restart.
 */
import { ErrorCode, HomeostatError } from '../../core/errors.js';
import { ResourceKind } from '../../core/infra/types.js';
import type { ActionRequest, InfraControl } from './types.js';

/** The actions `performInfraAction` knows. */
export const INFRA_ACTIONS = ['scale', 'replace', 'restart', 'stop', 'revert', 'patch', 'hold', 'release'] as const;
export type InfraAction = (typeof INFRA_ACTIONS)[number];

const KINDS = new Map<string, ResourceKind>(Object.values(ResourceKind).map((k) => [k.toLowerCase(), k]));

/** `InstanceGroup`, `instancegroup` or `instance-group` → ResourceKind, else undefined. */
export function resourceKindOf(text: string): ResourceKind | undefined {
  return KINDS.get(text.toLowerCase().replaceAll('-', ''));
}

/** Splits `instancegroup/web` into its kind and name; undefined when it is not a resource ref. */
export function parseResourceRef(ref: string | undefined): { kind: ResourceKind; name: string } | undefined {
  const slash = ref?.indexOf('/') ?? -1;
  if (ref === undefined || slash <= 0 || slash === ref.length - 1) return undefined;
  const kind = resourceKindOf(ref.slice(0, slash));
  return kind === undefined ? undefined : { kind, name: ref.slice(slash + 1) };
}

function invalid(request: ActionRequest, what: string): HomeostatError {
  return new HomeostatError(ErrorCode.INVALID, `${request.action} on ${request.resource}: ${what}`, {
    retryable: false,
    details: { action: request.action, resource: request.resource },
  });
}

/** The name of the `kind` resource the request is about: `params[param]`, else the resource ref's name. */
function nameOf(request: ActionRequest, kind: ResourceKind, param: string): string {
  const given = request.params[param];
  if (typeof given === 'string' && given !== '') return given;
  const ref = parseResourceRef(request.resource);
  if (ref?.kind === kind) return ref.name;
  throw invalid(request, `needs params.${param} or a ${kind.toLowerCase()}/<name> resource`);
}

async function scale(infra: InfraControl, request: ActionRequest, cause: string): Promise<Record<string, unknown>> {
  const group = nameOf(request, 'InstanceGroup', 'group');
  const { to, by } = request.params;
  let desired: number;
  if (typeof to === 'number') desired = to;
  else if (typeof by === 'number') {
    const view = await infra.group(group);
    if (view === undefined) {
      throw new HomeostatError(ErrorCode.NOT_FOUND, `no instance group named '${group}'`, { retryable: false });
    }
    desired = view.desired + by;
  } else throw invalid(request, 'needs params.to or params.by (a number)');
  const result = await infra.scaleGroup(group, desired, cause, { allowBelowMin: request.direction === 'stop' });
  return { group, from: result.from, to: result.to };
}

async function revert(infra: InfraControl, request: ActionRequest, cause: string): Promise<Record<string, unknown>> {
  const ref = parseResourceRef(request.resource);
  const kindText = request.params.kind;
  const kind = typeof kindText === 'string' ? resourceKindOf(kindText) : ref?.kind;
  const name = typeof request.params.name === 'string' ? request.params.name : ref?.name;
  if (kind === undefined || name === undefined)
    throw invalid(request, 'needs a kind and a name (params or resource ref)');
  if (!(await infra.revert(kind, name, cause))) {
    throw new HomeostatError(
      ErrorCode.NOT_FOUND,
      `cannot revert ${kind} ${name}: no stack declares it, so there is nothing to revert to`,
      { retryable: false, details: { kind, name } },
    );
  }
  return { kind, name, reverted: true };
}

async function patch(infra: InfraControl, request: ActionRequest, cause: string): Promise<Record<string, unknown>> {
  const ref = parseResourceRef(request.resource);
  const { patch: body } = request.params;
  if (ref === undefined || typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw invalid(request, 'needs a <kind>/<name> resource and params.patch (an object)');
  }
  await infra.patch(ref.kind, ref.name, body as Record<string, unknown>, cause);
  return { kind: ref.kind, name: ref.name, patched: Object.keys(body) };
}

/**
 * Performs `request` with `cause` (the action id) passed to InfraControl, so the resulting infra
 * events name the action as their causation. Throws on failure; a HomeostatError with
 * `retryable: false` means repeating it cannot help (bad params, nothing to revert to).
 */
export async function performInfraAction(
  infra: InfraControl,
  request: ActionRequest,
  cause: string,
): Promise<Record<string, unknown>> {
  switch (request.action as InfraAction) {
    case 'scale':
      return scale(infra, request, cause);
    case 'replace':
    case 'restart':
    case 'stop': {
      const instance = nameOf(request, 'Instance', 'instance');
      const method = { replace: 'replaceInstance', restart: 'restartInstance', stop: 'stopInstance' } as const;
      await infra[method[request.action as 'replace' | 'restart' | 'stop']](instance, cause);
      return { instance };
    }
    case 'hold': {
      const group = nameOf(request, 'InstanceGroup', 'group');
      await infra.holdGroup(
        group,
        typeof request.params.reason === 'string' ? request.params.reason : request.reason,
        cause,
      );
      return { group, held: true };
    }
    case 'release': {
      const group = nameOf(request, 'InstanceGroup', 'group');
      await infra.releaseGroup(group, cause);
      return { group, held: false };
    }
    case 'revert':
      return revert(infra, request, cause);
    case 'patch':
      return patch(infra, request, cause);
    default:
      throw invalid(request, `unknown infrastructure action; known: ${INFRA_ACTIONS.join(', ')}`);
  }
}
