/** @module GET /v1/why/{id} (the causal tree) and GET /v1/why-not?rule=&event= (why a rule did not fire); docs/WHY.md. */
import type { FastifyInstance } from 'fastify';
import { parseDuration } from '../core/durations.js';
import { ErrorCode, HomeostatError } from '../core/errors.js';
import type { WhyOptions, WhyService } from '../engine/why/service.js';
import { WHY_LIMITS } from '../engine/why/options.js';
import { intParam, type Query } from './params.js';

function text(q: Query, name: string): string | undefined {
  const v = q[name];
  const s = Array.isArray(v) ? v[v.length - 1] : v;
  return s === undefined || s === '' ? undefined : s;
}

function required(q: Query, name: string, what: string): string {
  const v = text(q, name);
  if (v === undefined) {
    throw new HomeostatError(ErrorCode.INVALID, `query parameter '${name}' is required: ${what}`, {
      problems: [{ pointer: `?${name}`, message: `is required: ${what}` }],
    });
  }
  return v;
}

/** The scan bounds a request may set: ?source=&maxEvents=&window=&maxNodes=. */
function whyOptions(q: Query): WhyOptions {
  const window = text(q, 'window');
  let windowMs: number | undefined;
  if (window !== undefined) {
    try {
      windowMs = parseDuration(window, '?window');
    } catch {
      windowMs = Number.NaN;
    }
    if (!(windowMs >= 1_000 && windowMs <= WHY_LIMITS.windowMs)) {
      throw new HomeostatError(
        ErrorCode.INVALID,
        `query parameter 'window': '${window}' is not allowed; use a duration from 1s to 7d, e.g. 30m`,
        {
          problems: [{ pointer: '?window', message: 'use a duration from 1s to 7d, e.g. 30m' }],
        },
      );
    }
  }
  const source = text(q, 'source');
  const maxEvents = intParam(q, 'maxEvents', 1, WHY_LIMITS.maxEvents);
  const maxNodes = intParam(q, 'maxNodes', 1, WHY_LIMITS.maxNodes);
  return {
    ...(source === undefined ? {} : { source }),
    ...(maxEvents === undefined ? {} : { maxEvents }),
    ...(maxNodes === undefined ? {} : { maxNodes }),
    ...(windowMs === undefined ? {} : { windowMs }),
  };
}

export function registerWhyRoutes(app: FastifyInstance, why: WhyService): void {
  app.get<{ Params: { id: string } }>('/v1/why/:id', { config: { scope: 'read' } }, async (req) =>
    why.why(req.params.id, whyOptions(req.query as Query)),
  );

  app.get('/v1/why-not', { config: { scope: 'read' } }, async (req) => {
    const q = req.query as Query;
    const rule = required(q, 'rule', 'the rule name (or a policy, e.g. ScalingPolicy/web)');
    const event = required(q, 'event', 'the event id');
    return why.whyNot(rule, event, whyOptions(q));
  });
}
