/** @module GET /v1/compliance: every CompliancePolicy's resources, open violations and time to remediate (docs/COMPLIANCE.md). */
import type { FastifyInstance } from 'fastify';
import type { Compliance } from '../engine/policies/compliance.js';
import type { Query } from './params.js';

/** What the routes need from compliance. */
export type ComplianceReader = Pick<Compliance, 'report'>;

export function registerComplianceRoutes(app: FastifyInstance, compliance: ComplianceReader): void {
  app.get('/v1/compliance', { config: { scope: 'read' } }, async (req) => {
    const raw = (req.query as Query).policy;
    const policy = Array.isArray(raw) ? raw[raw.length - 1] : raw;
    return compliance.report(policy === undefined || policy === '' ? {} : { policy });
  });
}
