/** @module /v1/policies: apply, list, get (with the running instance's status) and delete policies of every kind. */
import type { FastifyInstance } from 'fastify';
import { ErrorCode, HomeostatError, invalid } from '../core/errors.js';
import type { PolicyRecord, PolicyService } from '../engine/policies/service.js';

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

export function policySummary(r: PolicyRecord): Record<string, unknown> {
  const description = (r.manifest.metadata as { description?: unknown } | undefined)?.description;
  return {
    kind: r.kind,
    name: r.name,
    ref: r.ref,
    ...(typeof description === 'string' ? { description } : {}),
    rules: r.rules,
    generation: r.generation,
    createdAt: iso(r.createdAt),
    updatedAt: iso(r.updatedAt),
  };
}

const notFound = (kind: string, name: string) =>
  new HomeostatError(ErrorCode.NOT_FOUND, `no ${kind} named '${name}'; list policies with \`homeostat get policies\``, {
    details: { kind, name },
  });

/** Registers the policy routes (reads need `read`, writes `admin`). */
export function registerPolicyRoutes(app: FastifyInstance, policies: PolicyService): void {
  const read = { config: { scope: 'read' as const } };
  const admin = { config: { scope: 'admin' as const } };

  app.get('/v1/policies', read, async (req) => {
    const { kind } = req.query as { kind?: string };
    return { kinds: policies.kinds, policies: (await policies.list(kind)).map(policySummary) };
  });

  app.get<{ Params: { kind: string; name: string } }>('/v1/policies/:kind/:name', read, async (req) => {
    const { kind, name } = req.params;
    const record = await policies.get(kind, name);
    if (!record) throw notFound(kind, name);
    return { ...policySummary(record), manifest: record.manifest, status: policies.status(kind, name) };
  });

  app.put<{ Params: { kind: string; name: string } }>('/v1/policies/:kind/:name', admin, async (req, reply) => {
    const { kind, name } = req.params;
    const body = req.body as Record<string, unknown> | undefined;
    if (typeof body !== 'object' || body === null || Array.isArray(body))
      throw invalid('a policy manifest is required', [{ pointer: '', message: 'send the manifest as a JSON object' }]);
    const given = (body.metadata as { name?: unknown } | undefined)?.name;
    if (given !== undefined && given !== name)
      throw invalid('metadata.name does not match the URL', [
        { pointer: '/metadata/name', message: `${JSON.stringify(given)} differs from '${name}' in the URL` },
      ]);
    if (body.kind !== undefined && typeof body.kind === 'string' && body.kind.toLowerCase() !== kind.toLowerCase())
      throw invalid('kind does not match the URL', [
        { pointer: '/kind', message: `${JSON.stringify(body.kind)} differs from '${kind}' in the URL` },
      ]);
    const doc = { ...body, kind: body.kind ?? kind, metadata: { ...(body.metadata as object), name } };
    const { record, created, changed } = await policies.apply(doc);
    const result = created ? 'created' : changed ? 'configured' : 'unchanged';
    return reply.code(created ? 201 : 200).send({ result, ...policySummary(record) });
  });

  app.delete<{ Params: { kind: string; name: string } }>('/v1/policies/:kind/:name', admin, async (req, reply) => {
    const { kind, name } = req.params;
    if (!(await policies.delete(kind, name))) throw notFound(kind, name);
    return reply.code(204).send();
  });
}
