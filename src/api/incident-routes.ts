/** @module /v1/incidents: incidents kept by HealingPolicies, their timelines, acknowledging and resolving them (docs/HEALING.md). */
import type { FastifyInstance } from 'fastify';
import { ErrorCode, HomeostatError, invalid, type Problem } from '../core/errors.js';
import type { Incident } from '../core/healing/types.js';
import { acknowledgement, type Incidents } from '../engine/incidents.js';
import { enumParam, intParam, type Query } from './params.js';

const iso = (ms: number | undefined): string | undefined => (ms === undefined ? undefined : new Date(ms).toISOString());

/**
 * An incident on the wire: times as RFC 3339; `acknowledgedAt` / `acknowledgedBy` once someone
 * acknowledged it (it stays `open`); the timeline only with `timeline: true`.
 */
export function incidentToWire(i: Incident, timeline: boolean): Record<string, unknown> {
  const { timeline: entries, openedAt, resolvedAt, ...rest } = i;
  const ack = acknowledgement(i);
  return {
    ...rest,
    openedAt: iso(openedAt),
    ...(ack === undefined ? {} : { acknowledgedAt: iso(ack.at), acknowledgedBy: ack.by }),
    ...(resolvedAt === undefined ? {} : { resolvedAt: iso(resolvedAt) }),
    ...(timeline ? { timeline: entries.map((e) => ({ ...e, at: iso(e.at) })) } : { entries: entries.length }),
  };
}

function text(q: Query, name: string): string | undefined {
  const v = q[name];
  const s = Array.isArray(v) ? v[v.length - 1] : v;
  return s === undefined || s === '' ? undefined : s;
}

const TEXT_MAX = 1000;

/** The optional `{ by, comment }` body of resolve and acknowledge. */
function readDecision(body: unknown, what: string): { by?: string; comment?: string } {
  if (body === undefined || body === null || body === '') return {};
  const problems: Problem[] = [];
  const b = typeof body === 'object' && !Array.isArray(body) ? (body as Record<string, unknown>) : undefined;
  if (b === undefined)
    throw invalid(`invalid ${what} request`, [{ pointer: '', message: 'send { "comment": "..." }' }]);
  for (const key of ['by', 'comment'] as const) {
    const v = b[key];
    if (v !== undefined && (typeof v !== 'string' || v === '' || v.length > TEXT_MAX)) {
      problems.push({ pointer: `/${key}`, message: `must be a non-empty string of at most ${TEXT_MAX} characters` });
    }
  }
  for (const key of Object.keys(b).filter((k) => k !== 'by' && k !== 'comment')) {
    problems.push({ pointer: `/${key}`, message: 'unknown field; allowed: by, comment' });
  }
  if (problems.length > 0) throw invalid(`invalid ${what} request`, problems);
  return {
    ...(typeof b.by === 'string' ? { by: b.by } : {}),
    ...(typeof b.comment === 'string' ? { comment: b.comment } : {}),
  };
}

export function registerIncidentRoutes(app: FastifyInstance, incidents: Incidents): void {
  app.get('/v1/incidents', { config: { scope: 'read' } }, async (req) => {
    const q = req.query as Query;
    const status = enumParam(q, 'status', ['open', 'resolved', 'all'] as const);
    const policy = text(q, 'policy');
    const list = await incidents.list({
      limit: intParam(q, 'limit', 1, 1000) ?? 100,
      ...(status === undefined || status === 'all' ? {} : { status }),
      ...(policy === undefined ? {} : { policy }),
    });
    return { incidents: list.map((i) => incidentToWire(i, false)) };
  });

  app.get<{ Params: { id: string } }>('/v1/incidents/:id', { config: { scope: 'read' } }, async (req) => {
    const incident = await incidents.get(req.params.id);
    if (incident === undefined) {
      throw new HomeostatError(
        ErrorCode.NOT_FOUND,
        `no incident '${req.params.id}'; list them with \`homeostat incidents --all\` or GET /v1/incidents?status=all`,
      );
    }
    return incidentToWire(incident, true);
  });

  // Resolving a crash-loop incident releases the held group: an operator's decision (admin).
  app.post<{ Params: { id: string } }>('/v1/incidents/:id/resolve', { config: { scope: 'admin' } }, async (req) => {
    const { by, comment } = readDecision(req.body, 'resolve');
    const resolved = await incidents.resolve(req.params.id, {
      by: by ?? 'api',
      ...(comment === undefined ? {} : { comment }),
    });
    return incidentToWire(resolved, true);
  });

  // Acknowledging says someone is on it; the incident stays open. Repeating it changes nothing.
  app.post<{ Params: { id: string } }>('/v1/incidents/:id/acknowledge', { config: { scope: 'admin' } }, async (req) => {
    const { by, comment } = readDecision(req.body, 'acknowledge');
    const acked = await incidents.acknowledge(req.params.id, {
      by: by ?? 'api',
      ...(comment === undefined ? {} : { comment }),
    });
    return incidentToWire(acked, true);
  });
}
