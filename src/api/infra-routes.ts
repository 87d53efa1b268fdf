/** @module /v1/stacks and /v1/resources: declared infrastructure, plans, status, observed resources. */
import type { FastifyInstance } from 'fastify';
import { ErrorCode, HomeostatError } from '../core/errors.js';
import { ResourceKind } from '../core/infra/types.js';
import type { PlanChange } from '../core/infra/plan.js';
import type { InfraService } from '../engine/infra/service.js';
import type { Query } from './params.js';

const KINDS = Object.values(ResourceKind) as string[];

function flag(q: Query, name: string): boolean {
  const v = q[name];
  return v === 'true' || v === '1' || v === '';
}

function summarize(change: PlanChange): Record<string, unknown> {
  const base = { op: change.op, ref: change.ref, provider: change.resource.provider };
  return change.op === 'update' ? { ...base, replace: change.replace, diff: change.diff } : base;
}

function kindParam(kind: string): ResourceKind {
  const match = KINDS.find((k) => k.toLowerCase() === kind.toLowerCase());
  if (!match) {
    throw new HomeostatError(ErrorCode.INVALID, `unknown resource kind '${kind}'; use one of ${KINDS.join(', ')}`, {
      problems: [{ pointer: ':kind', message: `one of ${KINDS.join(', ')}` }],
    });
  }
  return match as ResourceKind;
}

export function registerInfraRoutes(app: FastifyInstance, infra: InfraService): void {
  app.post('/v1/stacks/plan', { config: { scope: 'read' } }, async (req) => {
    const r = await infra.plan(req.body, { prune: flag(req.query as Query, 'prune') });
    return { stack: r.stack, changes: r.plan.changes.map(summarize), unchanged: r.plan.unchanged, lines: r.lines };
  });

  app.put<{ Params: { name: string } }>('/v1/stacks/:name', { config: { scope: 'admin' } }, async (req, reply) => {
    const name = (req.body as { metadata?: { name?: unknown } } | undefined)?.metadata?.name;
    if (name !== undefined && name !== req.params.name) {
      throw new HomeostatError(
        ErrorCode.INVALID,
        `metadata.name '${String(name)}' differs from the URL's '${req.params.name}'`,
        {
          problems: [{ pointer: '/metadata/name', message: `must be '${req.params.name}' (the name in the URL)` }],
        },
      );
    }
    const r = await infra.applyStack(req.body, { prune: flag(req.query as Query, 'prune') });
    return reply.code(r.created ? 201 : 200).send({
      stack: r.stack,
      result: r.created ? 'created' : r.plan.changes.length > 0 ? 'configured' : 'unchanged',
      changes: r.plan.changes.map(summarize),
      lines: r.lines,
    });
  });

  app.get('/v1/stacks', { config: { scope: 'read' } }, async () => ({
    stacks: (await infra.listStacks()).map((s) => ({
      name: s.name,
      generation: s.generation,
      updatedAt: new Date(s.updatedAt).toISOString(),
    })),
  }));

  app.get<{ Params: { name: string } }>('/v1/stacks/:name', { config: { scope: 'read' } }, async (req) => {
    const stored = await infra.getStack(req.params.name);
    if (!stored) throw notFound(req.params.name);
    return {
      name: stored.name,
      generation: stored.generation,
      manifest: stored.manifest,
      status: await infra.status(req.params.name),
    };
  });

  app.get<{ Params: { name: string } }>('/v1/stacks/:name/status', { config: { scope: 'read' } }, async (req) =>
    infra.status(req.params.name),
  );

  app.delete<{ Params: { name: string } }>('/v1/stacks/:name', { config: { scope: 'admin' } }, async (req, reply) => {
    if (!(await infra.deleteStack(req.params.name, { prune: flag(req.query as Query, 'prune') })))
      throw notFound(req.params.name);
    return reply.code(204).send();
  });

  app.get('/v1/resources', { config: { scope: 'read' } }, async (req) => {
    const q = req.query as Query;
    const kind = typeof q.kind === 'string' ? kindParam(q.kind) : undefined;
    const resources = await infra.resources();
    return { resources: kind ? resources.filter((r) => r.kind === kind) : resources };
  });

  app.patch<{ Params: { kind: string; name: string } }>(
    '/v1/resources/:kind/:name',
    { config: { scope: 'admin' } },
    async (req, reply) => {
      const patch = req.body;
      if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) {
        throw new HomeostatError(
          ErrorCode.INVALID,
          'the body is a JSON merge patch of the resource spec, e.g. {"desired": 5}',
          {
            problems: [{ pointer: '', message: 'must be an object' }],
          },
        );
      }
      await infra.set(kindParam(req.params.kind), req.params.name, patch as Record<string, unknown>);
      return reply.code(202).send({ kind: req.params.kind, name: req.params.name, applied: patch });
    },
  );
}

function notFound(name: string): HomeostatError {
  return new HomeostatError(
    ErrorCode.NOT_FOUND,
    `no stack named '${name}'; list them with \`homeostat get stacks\` or GET /v1/stacks`,
  );
}
