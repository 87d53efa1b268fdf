/** @module GET /v1/cost: cost rate, cost to date, forecast, rollups, budgets and attributed cost changes. */
import type { FastifyInstance } from 'fastify';
import type { Clock } from '../core/clock.js';
import type { CostScope } from '../core/cost/types.js';
import type { CostQuery, CostReport } from '../engine/finops/report.js';
import { enumParam, intParam, type Query, timeParam } from './params.js';

/** What the cost routes need: FinOps' report. */
export interface CostApi {
  report(query: CostQuery): Promise<CostReport>;
}

const single = (q: Query, name: string): string | undefined => {
  const v = q[name];
  const s = Array.isArray(v) ? v[v.length - 1] : v;
  return s === '' ? undefined : s;
};

/**
 * `?by=group|stack|tag` (default group), `&tag=<key>` (with by=tag), `&since=` (RFC 3339, epoch
 * ms or a duration ago such as 24h; default the start of the month), `&stack=`, `&group=` (scope),
 * `&changes=<n>` (recent changes explained, default 20).
 */
export function registerCostRoutes(app: FastifyInstance, cost: CostApi, clock: Clock): void {
  app.get('/v1/cost', { config: { scope: 'read' } }, async (req) => {
    const q = req.query as Query;
    const by = enumParam(q, 'by', ['group', 'stack', 'tag'] as const);
    const since = timeParam(q, 'since', clock.now());
    const changes = intParam(q, 'changes', 0, 500);
    const tag = single(q, 'tag');
    const stack = single(q, 'stack');
    const group = single(q, 'group');
    const scope: CostScope | undefined =
      stack === undefined && group === undefined
        ? undefined
        : { ...(stack === undefined ? {} : { stack }), ...(group === undefined ? {} : { group }) };
    return cost.report({
      ...(by === undefined ? {} : { by }),
      ...(since === undefined ? {} : { since }),
      ...(changes === undefined ? {} : { changes }),
      ...(tag === undefined ? {} : { tag }),
      ...(scope === undefined ? {} : { scope }),
    });
  });
}
