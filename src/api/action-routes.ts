/** @module /v1/actions: recent automated actions, frozen resources, unfreeze (docs/API.md, "Actions"; docs/SAFETY.md). */
import type { FastifyInstance } from 'fastify';
import { invalid, type Problem } from '../core/errors.js';
import { ACTION_OUTCOMES } from '../engine/automation/action-events.js';
import type { ActionGateAdmin, ActionOutcome, ActionRecord } from '../engine/automation/types.js';
import { enumParam, intParam, type Query } from './params.js';

const iso = (ms: number): string => new Date(ms).toISOString();

/** A record on the wire: as in the `homeostat.action.*` event, with `at` as RFC 3339. */
export function actionToWire(r: ActionRecord): Record<string, unknown> {
  return { ...r, at: iso(r.at) };
}

function text(q: Query, name: string): string | undefined {
  const v = q[name];
  const s = Array.isArray(v) ? v[v.length - 1] : v;
  return s === undefined || s === '' ? undefined : s;
}

function readUnfreeze(body: unknown): { policy: string; resource: string; by?: string } {
  const problems: Problem[] = [];
  const b = typeof body === 'object' && body !== null && !Array.isArray(body) ? (body as Record<string, unknown>) : {};
  if (body === undefined || b !== body)
    problems.push({ pointer: '', message: 'send { "policy": "...", "resource": "..." }' });
  for (const key of ['policy', 'resource'] as const) {
    if (typeof b[key] !== 'string' || b[key] === '') {
      const example = key === 'policy' ? 'ScalingPolicy/web' : 'instancegroup/web';
      problems.push({
        pointer: `/${key}`,
        message: `required: the ${key} of the freeze, e.g. ${example} (see GET /v1/actions/frozen)`,
      });
    }
  }
  if (b.by !== undefined && (typeof b.by !== 'string' || b.by === '' || b.by.length > 200)) {
    problems.push({
      pointer: '/by',
      message: 'must be a non-empty string of at most 200 characters: who lifts the freeze',
    });
  }
  for (const key of Object.keys(b).filter((k) => !['policy', 'resource', 'by'].includes(k))) {
    problems.push({ pointer: `/${key}`, message: 'unknown field; allowed: policy, resource, by' });
  }
  if (problems.length > 0) throw invalid('invalid unfreeze request', problems);
  return {
    policy: b.policy as string,
    resource: b.resource as string,
    ...(typeof b.by === 'string' ? { by: b.by } : {}),
  };
}

export function registerActionRoutes(app: FastifyInstance, gate: ActionGateAdmin): void {
  app.get('/v1/actions', { config: { scope: 'read' } }, async (req) => {
    const q = req.query as Query;
    const outcome = enumParam<ActionOutcome>(q, 'outcome', ACTION_OUTCOMES);
    const policy = text(q, 'policy');
    const resource = text(q, 'resource');
    const actions = gate.recent({
      limit: intParam(q, 'limit', 1, 1000) ?? 100,
      ...(policy === undefined ? {} : { policy }),
      ...(resource === undefined ? {} : { resource }),
      ...(outcome === undefined ? {} : { outcome }),
    });
    return { actions: actions.map(actionToWire) };
  });

  app.get('/v1/actions/frozen', { config: { scope: 'read' } }, async () => ({
    frozen: gate.frozen().map((f) => ({ ...f, since: iso(f.since) })),
  }));

  app.post('/v1/actions/unfreeze', { config: { scope: 'admin' } }, async (req) => {
    const { policy, resource, by } = readUnfreeze(req.body);
    return { unfrozen: actionToWire(await gate.unfreeze(policy, resource, by ?? 'api')) };
  });
}
