/**
 * @module The built-in `policy` action: hands a matched event to a running policy instance.
 * Policies compile to rules whose targets are `{ action: policy, with: { policy, hook } }`.
 */
import type { CloudEvent } from '../../core/event.js';
import type { Problem } from '../../core/errors.js';
import { HomeostatError } from '../../core/errors.js';
import type { Target } from '../../ports/target.js';

export const POLICY_ACTION = 'policy';

/** `<Kind>/<name>`, e.g. `ScalingPolicy/web`. */
const POLICY_REF = /^[A-Za-z]+\/[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/;

export type DeliverToPolicy = (
  ref: string,
  hook: string,
  event: CloudEvent,
) => Promise<Readonly<Record<string, unknown>>>;

/** `deliver` is looked up at delivery time: the policy service is created after the registry. */
export function createPolicyTarget(deliver: () => DeliverToPolicy | undefined): Target {
  return {
    action: POLICY_ACTION,
    validate(options) {
      const problems: Problem[] = [];
      if (typeof options.policy !== 'string' || !POLICY_REF.test(options.policy))
        problems.push({
          pointer: '/policy',
          message: "must name a policy as '<Kind>/<name>', e.g. 'ScalingPolicy/web'",
        });
      if (typeof options.hook !== 'string' || options.hook === '')
        problems.push({ pointer: '/hook', message: "must name the policy's hook, e.g. 'metrics'" });
      for (const key of Object.keys(options))
        if (key !== 'policy' && key !== 'hook')
          problems.push({ pointer: `/${key}`, message: 'is not a policy option' });
      return problems;
    },
    async deliver(request) {
      const handler = deliver();
      const { policy, hook } = request.target.with as { policy: string; hook: string };
      if (!handler)
        return { ok: false, retry: 'yes', error: { code: 'E_CLOSED', message: 'policies are not running yet' } };
      // Policies decide on live state: a replayed (past) event is acknowledged, not acted on.
      if (request.replayed) return { ok: true, detail: { skipped: 'replayed: policies act on live events only' } };
      try {
        const detail = await handler(policy, hook, request.record.event);
        return { ok: true, detail };
      } catch (err) {
        const e = err instanceof HomeostatError ? err : undefined;
        return {
          ok: false,
          retry: e && !e.retryable ? 'no' : 'yes',
          error: { code: e?.code ?? 'E_INTERNAL', message: (err as Error).message },
        };
      }
    },
  };
}
