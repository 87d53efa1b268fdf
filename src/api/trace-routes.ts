/** @module GET /v1/events/:id/trace: the causal record of what the engine did with an event. */
import type { FastifyInstance } from 'fastify';
import { ErrorCode, HomeostatError } from '../core/errors.js';
import type { DeliveryAdmin, TraceEntry } from '../engine/delivery-admin.js';
import type { Query } from './params.js';

/** A trace entry on the wire: times as RFC 3339, optional fields left out when absent. */
export function traceEntryToWire(e: TraceEntry): Record<string, unknown> {
  return { ...e, at: new Date(e.at).toISOString() };
}

function sourceParam(q: Query): string | undefined {
  const v = q.source;
  const s = Array.isArray(v) ? v[v.length - 1] : v;
  return s === undefined || s === '' ? undefined : s;
}

export function registerTraceRoutes(app: FastifyInstance, admin: DeliveryAdmin): void {
  app.get('/v1/events/:id/trace', { config: { scope: 'read' } }, async (req) => {
    const { id } = req.params as { id: string };
    const source = sourceParam(req.query as Query);
    const entries = await admin.trace(id, source);
    if (entries.length === 0) {
      // Events that matched no rule leave no trace, and the log cannot be searched by id cheaply,
      // so "no such event" and "matched nothing" look the same here; the message says both.
      const which = source === undefined ? `'${id}'` : `'${id}' from source '${source}'`;
      throw new HomeostatError(
        ErrorCode.NOT_FOUND,
        `no trace for event ${which}: no such event, it matched no rule, or its trace was pruned; check the id with GET /v1/events`,
      );
    }
    return source === undefined
      ? { id, entries: entries.map(traceEntryToWire) }
      : { id, source, entries: entries.map(traceEntryToWire) };
  });
}
