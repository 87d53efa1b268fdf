/** @module /v1/stacks and /v1/resources: declared infrastructure, plans, status, observed resources. */
import type { FastifyInstance } from 'fastify';
import { ErrorCode, HomeostatError } from '../core/errors.js';
import { ResourceKind } from '../core/infra/types.js';
import type { PlanChange } from '../core/infra/plan.js';
import type { Resource } from '../core/infra/types.js';
import type { InfraService } from '../engine/infra/service.js';
import { intParam, type Query } from './params.js';

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
    return listResources(await infra.resources(), { ...resourceFilter(q), ...(kind ? { kind } : {}) });
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

/** Filters and paging of GET /v1/resources; without `limit` and `after` every match is returned. */
export interface ResourceFilter {
  readonly kind?: ResourceKind;
  /** The instance group: an InstanceGroup itself, its Instances, the LoadBalancers routing to it. */
  readonly group?: string;
  /** An Instance phase (starting, running, stopping, stopped, crashed), or healthy / unhealthy. */
  readonly state?: string;
  /** A substring of the name, case-insensitive. */
  readonly q?: string;
  readonly limit?: number;
  /** The `next` of the previous page: `<kind>/<name>` of its last resource. */
  readonly after?: string;
}

const STATES = ['starting', 'running', 'stopping', 'stopped', 'crashed', 'healthy', 'unhealthy'];
const DEFAULT_PAGE = 100;

function text(q: Query, name: string): string | undefined {
  const v = q[name];
  const s = Array.isArray(v) ? v[v.length - 1] : v;
  return s === undefined || s === '' ? undefined : s;
}

/** Reads group, state, q, limit and after from the query string (kind is read by the route). */
export function resourceFilter(q: Query): ResourceFilter {
  const state = text(q, 'state')?.toLowerCase();
  if (state !== undefined && !STATES.includes(state)) {
    throw new HomeostatError(ErrorCode.INVALID, `unknown state '${state}'; use one of ${STATES.join(', ')}`, {
      problems: [{ pointer: '?state', message: `one of ${STATES.join(', ')}` }],
    });
  }
  const after = text(q, 'after');
  if (after !== undefined && !/^[a-z]+\/./.test(after)) {
    throw new HomeostatError(ErrorCode.INVALID, `'after' is the 'next' of the previous page, e.g. instance/web-42`, {
      problems: [{ pointer: '?after', message: 'the next cursor of the previous page' }],
    });
  }
  const filter: Record<string, unknown> = {
    group: text(q, 'group'),
    state,
    q: text(q, 'q')?.toLowerCase(),
    limit: intParam(q, 'limit', 1, 1000),
    after,
  };
  return Object.fromEntries(Object.entries(filter).filter(([, v]) => v !== undefined)) as ResourceFilter;
}

function groupOfResource(r: Resource): string | undefined {
  if (r.kind === 'InstanceGroup') return r.name;
  if (r.kind === 'Instance')
    return (r.status as { group?: string } | undefined)?.group ?? (r.spec as { group?: string }).group;
  if (r.kind === 'LoadBalancer') return (r.spec as { targetGroup?: string }).targetGroup;
  return undefined;
}

function inState(r: Resource, state: string): boolean {
  if (r.kind !== 'Instance') return false;
  const s = r.status as { phase?: string; healthy?: boolean } | undefined;
  if (state === 'healthy') return s?.healthy === true;
  if (state === 'unhealthy') return s?.healthy !== true && s?.phase === 'running';
  return s?.phase === state;
}

const collator = new Intl.Collator('en', { numeric: true });
const kindRank = (kind: string): number => KINDS.findIndex((k) => k.toLowerCase() === kind.toLowerCase());

/** Kind (in ResourceKind order), then name with numbers in numeric order (web-2 before web-10). */
function compareKey(a: { kind: string; name: string }, b: { kind: string; name: string }): number {
  return kindRank(a.kind) - kindRank(b.kind) || collator.compare(a.name, b.name);
}

/** Applies a filter; pages (sorted by kind, then name) when `limit` or `after` is given. */
export function listResources(
  all: readonly Resource[],
  f: ResourceFilter,
): { resources: Resource[]; total: number; next: string | null } {
  const q = f.q;
  const matching = all.filter(
    (r) =>
      (f.kind === undefined || r.kind === f.kind) &&
      (f.group === undefined || groupOfResource(r) === f.group) &&
      (f.state === undefined || inState(r, f.state)) &&
      (q === undefined || r.name.toLowerCase().includes(q)),
  );
  if (f.limit === undefined && f.after === undefined)
    return { resources: matching, total: matching.length, next: null };
  const sorted = [...matching].sort(compareKey);
  let start = 0;
  if (f.after !== undefined) {
    const slash = f.after.indexOf('/');
    const cursor = { kind: f.after.slice(0, slash), name: f.after.slice(slash + 1) };
    start = sorted.findIndex((r) => compareKey(r, cursor) > 0);
    if (start < 0) start = sorted.length;
  }
  const limit = f.limit ?? DEFAULT_PAGE;
  const page = sorted.slice(start, start + limit);
  const last = page[page.length - 1];
  const next = last && start + limit < sorted.length ? `${last.kind.toLowerCase()}/${last.name}` : null;
  return { resources: page, total: matching.length, next };
}
