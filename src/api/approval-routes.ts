/** @module /v1/approvals: list and read approval requests; approve or reject one (body `{ by?, comment? }`). */
import type { FastifyInstance } from 'fastify';
import { invalid } from '../core/errors.js';
import { approvalNotFound } from '../engine/approvals.js';
import type { Approval, Approvals, ApprovalStatus } from '../engine/automation/types.js';
import { enumParam, type Query } from './params.js';

const STATUSES: readonly ApprovalStatus[] = ['pending', 'approved', 'rejected', 'expired'];
const MAX_TEXT = 1000;

const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());

/** An approval as the API shows it: times as RFC 3339. */
export function approvalView(a: Approval): Record<string, unknown> {
  const view: Record<string, unknown> = {
    ...a,
    requestedAt: iso(a.requestedAt),
    expiresAt: iso(a.expiresAt),
    decidedAt: iso(a.decidedAt),
  };
  return Object.fromEntries(Object.entries(view).filter(([, v]) => v !== undefined));
}

function readDecision(body: unknown): { by?: string; comment?: string } {
  if (body === undefined || body === null) return {};
  if (typeof body !== 'object' || Array.isArray(body)) {
    throw invalid('invalid decision', [{ pointer: '', message: 'the body must be an object { by?, comment? }' }]);
  }
  const { by, comment, ...rest } = body as Record<string, unknown>;
  const problems = Object.keys(rest).map((k) => ({ pointer: `/${k}`, message: 'unknown field; allowed: by, comment' }));
  for (const [key, v] of [
    ['by', by],
    ['comment', comment],
  ] as const) {
    if (v !== undefined && (typeof v !== 'string' || v.length > MAX_TEXT)) {
      problems.push({ pointer: `/${key}`, message: `must be a string of at most ${MAX_TEXT} characters` });
    }
  }
  if (problems.length > 0) throw invalid('invalid decision', problems);
  return {
    ...(typeof by === 'string' && by ? { by } : {}),
    ...(typeof comment === 'string' && comment ? { comment } : {}),
  };
}

/** Registers the approval routes (reads need the `read` scope, decisions `admin`). */
export function registerApprovalRoutes(app: FastifyInstance, approvals: Approvals): void {
  const read = { config: { scope: 'read' as const } };
  const admin = { config: { scope: 'admin' as const } };

  app.get('/v1/approvals', read, async (req) => {
    const q = req.query as Query;
    const status = enumParam(q, 'status', STATUSES);
    const kind = typeof q.kind === 'string' && q.kind !== '' ? q.kind : undefined;
    const list = await approvals.list({ ...(status ? { status } : {}), ...(kind ? { kind } : {}) });
    return { approvals: list.map(approvalView) };
  });

  app.get<{ Params: { id: string } }>('/v1/approvals/:id', read, async (req) => {
    const a = await approvals.get(req.params.id);
    if (!a) throw approvalNotFound(req.params.id);
    return approvalView(a);
  });

  for (const [verb, approve] of [
    ['approve', true],
    ['reject', false],
  ] as const) {
    app.post<{ Params: { id: string } }>(`/v1/approvals/:id/${verb}`, admin, async (req) => {
      const { by, comment } = readDecision(req.body);
      const decided = await approvals.decide(req.params.id, {
        approve,
        by: by ?? 'api',
        ...(comment ? { comment } : {}),
      });
      return approvalView(decided);
    });
  }
}
