/** @module /v1/rules: create, replace, list, get, delete, enable and disable rules (JSON or YAML bodies); test a pattern. */
import type { FastifyInstance, FastifyReply } from 'fastify';
import { parseAllDocuments } from 'yaml';
import { ErrorCode, HomeostatError, invalid } from '../core/errors.js';
import type { RuleRecord } from '../core/rules/types.js';
import { type RuleService, ruleNotFound } from '../engine/rule-service.js';
import { parseJsonBody } from './cloudevents-http.js';

/** Media types read as YAML; JSON is read from `application/json`. */
export const YAML_MEDIA_TYPES = ['application/yaml', 'application/x-yaml', 'text/yaml'];

export interface RuleRoutesOptions {
  /** Deepest nesting accepted in a body (as for events). */
  readonly maxDepth: number;
}

/** What `PUT`/`POST` did: kubectl's words. */
export type ApplyOutcome = 'created' | 'configured' | 'unchanged';

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/** The list entry of a rule. */
export function ruleSummary(r: RuleRecord): Record<string, unknown> {
  return {
    name: r.spec.name,
    enabled: r.spec.enabled,
    ...(r.spec.description === undefined ? {} : { description: r.spec.description }),
    targets: r.spec.targets.length,
    ...(r.managedBy === undefined ? {} : { managedBy: r.managedBy }),
    generation: r.generation,
    createdAt: iso(r.createdAt),
    updatedAt: iso(r.updatedAt),
  };
}

/** A rule in full: the summary, the manifest as applied and the resolved spec (defaults filled in). */
export function ruleDetail(r: RuleRecord): Record<string, unknown> {
  const { match, ...spec } = r.spec;
  return { ...ruleSummary(r), manifest: r.manifest, spec: { ...spec, match: match.source } };
}

function depthOf(value: unknown, limit: number, depth = 0): number {
  if (depth > limit || typeof value !== 'object' || value === null) return depth;
  let max = depth + 1;
  for (const v of Object.values(value)) max = Math.max(max, depthOf(v, limit, depth + 1));
  return max;
}

/** Parses a YAML body: exactly one document, errors with line and column, depth-checked. */
export function parseYamlBody(text: string, maxDepth: number): unknown {
  const docs = parseAllDocuments(text, { prettyErrors: true });
  const list = Array.isArray(docs) ? docs : [];
  const error = list.flatMap((d) => d.errors)[0];
  if (error) {
    throw invalid('request body is not valid YAML', [{ pointer: '', message: error.message.replace(/\n[\s\S]*/, '') }]);
  }
  if (list.length !== 1) {
    throw invalid('request body must hold exactly one YAML document', [
      { pointer: '', message: `found ${list.length}; send one rule per request (homeostat apply -f splits files)` },
    ]);
  }
  const value: unknown = list[0]!.toJS({ maxAliasCount: 100 });
  if (depthOf(value, maxDepth) > maxDepth) {
    throw new HomeostatError(ErrorCode.TOO_DEEP, `request body nests deeper than ${maxDepth} levels; flatten it`);
  }
  return value;
}

/** JSON and YAML body parsers for a route scope (manifests may come as either). */
export function addBodyParsers(scope: FastifyInstance, maxDepth: number): void {
  scope.removeAllContentTypeParsers();
  scope.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_req, body, done) => {
    try {
      const buf = body as Buffer;
      // An empty body is no body: enable/disable need none, and writes then say what is required.
      done(null, buf.length === 0 ? undefined : parseJsonBody(buf, maxDepth).value);
    } catch (err) {
      done(err as Error, undefined);
    }
  });
  scope.addContentTypeParser(YAML_MEDIA_TYPES, { parseAs: 'string' }, (_req, body, done) => {
    try {
      done(null, (body as string).trim() === '' ? undefined : parseYamlBody(body as string, maxDepth));
    } catch (err) {
      done(err as Error, undefined);
    }
  });
}

/** Fills `metadata.name` from the URL, or rejects a body that names another one (`collection`: `rules`). */
export function withUrlName(body: unknown, name: string, collection = 'rules'): unknown {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return body;
  const doc = body as Record<string, unknown>;
  const metadata = doc.metadata;
  if (metadata === undefined) return { ...doc, metadata: { name } };
  if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata)) return body;
  const given = (metadata as Record<string, unknown>).name;
  if (given === undefined) return { ...doc, metadata: { ...metadata, name } };
  if (given === name) return body;
  throw invalid(`metadata.name does not match the URL`, [
    {
      pointer: '/metadata/name',
      message: `${JSON.stringify(given)} differs from '${name}' in the URL (PUT /v1/${collection}/${name}); make them the same`,
    },
  ]);
}

function sendApplied(reply: FastifyReply, record: RuleRecord, outcome: ApplyOutcome): FastifyReply {
  return reply.code(outcome === 'created' ? 201 : 200).send({ result: outcome, ...ruleDetail(record) });
}

function readTestBody(body: unknown): { pattern: unknown; event: unknown } {
  if (typeof body === 'object' && body !== null && !Array.isArray(body)) {
    const { pattern, event } = body as Record<string, unknown>;
    return { pattern, event };
  }
  throw invalid('invalid rules test', [{ pointer: '', message: 'the body must be an object { pattern, event }' }]);
}

/** Registers the rule routes (reads need the `read` scope, writes `admin`). */
export function registerRuleRoutes(app: FastifyInstance, rules: RuleService, options: RuleRoutesOptions): void {
  const read = { config: { scope: 'read' as const } };
  const admin = { config: { scope: 'admin' as const } };
  app.register(async (scope) => {
    addBodyParsers(scope, options.maxDepth);

    scope.get('/v1/rules', read, async () => ({ rules: (await rules.list()).map(ruleSummary) }));

    scope.get('/v1/rules/:name', read, async (req) => {
      const { name } = req.params as { name: string };
      const record = await rules.get(name);
      if (!record) throw ruleNotFound(name);
      return ruleDetail(record);
    });

    scope.post('/v1/rules', admin, async (req, reply) => sendApplied(reply, await rules.create(req.body), 'created'));

    scope.put('/v1/rules/:name', admin, async (req, reply) => {
      const { name } = req.params as { name: string };
      const { record, created, changed } = await rules.apply(withUrlName(req.body, name));
      return sendApplied(reply, record, created ? 'created' : changed ? 'configured' : 'unchanged');
    });

    scope.delete('/v1/rules/:name', admin, async (req, reply) => {
      const { name } = req.params as { name: string };
      if (!(await rules.delete(name))) throw ruleNotFound(name);
      return reply.code(204).send();
    });

    for (const [verb, enabled] of [
      ['enable', true],
      ['disable', false],
    ] as const) {
      scope.post(`/v1/rules/:name/${verb}`, admin, async (req) => {
        const { name } = req.params as { name: string };
        return ruleDetail(await rules.setEnabled(name, enabled));
      });
    }

    scope.post('/v1/rules/test', read, async (req) => {
      const { pattern, event } = readTestBody(req.body);
      return rules.test(pattern, event);
    });
  });
}
