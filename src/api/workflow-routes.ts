/**
 * @module /v1/workflows and /v1/runs: apply, list, get and delete workflows (JSON or YAML bodies);
 * start runs; list runs; read a run with its steps; cancel a run.
 */
import type { FastifyInstance } from 'fastify';
import { ErrorCode, HomeostatError, invalid } from '../core/errors.js';
import { type WorkflowService, runNotFound, workflowNotFound } from '../engine/workflow/service.js';
import type { RunStatus } from '../ports/workflow-store.js';
import { enumParam, intParam, type Query } from './params.js';
import { addBodyParsers, withUrlName } from './rules-routes.js';

const RUN_STATUSES: readonly RunStatus[] = ['running', 'compensating', 'succeeded', 'failed', 'cancelled'];
/** Run ids as the service makes them (and as `runId` may give them). */
const RUN_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

/** `{ input?, runId? }`: what POST /v1/workflows/:name/runs takes. */
function readStartBody(body: unknown): { input: unknown; runId?: string } {
  if (body === undefined) return { input: {} };
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw invalid('invalid run request', [{ pointer: '', message: 'the body must be an object { input?, runId? }' }]);
  }
  const { input, runId, ...rest } = body as Record<string, unknown>;
  const problems = Object.keys(rest).map((k) => ({
    pointer: `/${k}`,
    message: 'unknown field; allowed: input, runId',
  }));
  if (runId !== undefined && (typeof runId !== 'string' || !RUN_ID.test(runId))) {
    problems.push({
      pointer: '/runId',
      message: "must be 1 to 128 letters, digits, '_', '.' or '-' (makes the start idempotent)",
    });
  }
  if (problems.length > 0) throw invalid('invalid run request', problems);
  return { input: input ?? {}, ...(typeof runId === 'string' ? { runId } : {}) };
}

/** Registers the workflow and run routes (reads need the `read` scope, writes `admin`). */
export function registerWorkflowRoutes(
  app: FastifyInstance,
  workflows: WorkflowService,
  options: { readonly maxDepth: number },
): void {
  const read = { config: { scope: 'read' as const } };
  const admin = { config: { scope: 'admin' as const } };
  app.register(async (scope) => {
    addBodyParsers(scope, options.maxDepth);

    scope.get('/v1/workflows', read, async () => ({ workflows: await workflows.list() }));

    scope.get<{ Params: { name: string } }>('/v1/workflows/:name', read, async (req) => {
      const found = await workflows.get(req.params.name);
      if (!found) throw workflowNotFound(req.params.name);
      return found;
    });

    scope.put<{ Params: { name: string } }>('/v1/workflows/:name', admin, async (req, reply) => {
      const { workflow, created, changed } = await workflows.apply(withUrlName(req.body, req.params.name, 'workflows'));
      const result = created ? 'created' : changed ? 'configured' : 'unchanged';
      return reply.code(created ? 201 : 200).send({ result, ...workflow });
    });

    scope.delete<{ Params: { name: string } }>('/v1/workflows/:name', admin, async (req, reply) => {
      if (!(await workflows.delete(req.params.name))) throw workflowNotFound(req.params.name);
      return reply.code(204).send();
    });

    scope.post<{ Params: { name: string } }>('/v1/workflows/:name/runs', admin, async (req, reply) => {
      const { input, runId } = readStartBody(req.body);
      const { run, created } = await workflows.startRun(req.params.name, input, runId === undefined ? {} : { runId });
      return reply.code(created ? 201 : 200).send({ result: created ? 'started' : 'exists', ...run });
    });

    scope.get('/v1/runs', read, async (req) => {
      const q = req.query as Query;
      const workflow = typeof q.workflow === 'string' && q.workflow !== '' ? q.workflow : undefined;
      const status = enumParam(q, 'status', RUN_STATUSES);
      const limit = intParam(q, 'limit', 1, 1000);
      return {
        runs: await workflows.runs({
          ...(workflow ? { workflow } : {}),
          ...(status ? { status } : {}),
          ...(limit ? { limit } : {}),
        }),
      };
    });

    scope.get<{ Params: { id: string } }>('/v1/runs/:id', read, async (req) => {
      const run = await workflows.run(req.params.id);
      if (!run) throw runNotFound(req.params.id);
      return run;
    });

    scope.post<{ Params: { id: string } }>('/v1/runs/:id/cancel', admin, async (req) => {
      if (!RUN_ID.test(req.params.id)) throw new HomeostatError(ErrorCode.NOT_FOUND, `no run '${req.params.id}'`);
      return workflows.cancel(req.params.id);
    });
  });
}
