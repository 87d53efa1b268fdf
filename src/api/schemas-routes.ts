/** @module /v1/schemas: register, list, get, delete JSON Schemas per event type. */
import type { FastifyInstance } from 'fastify';
import { ErrorCode, HomeostatError } from '../core/errors.js';
import type { SchemaRegistry } from '../ingest/schema-registry.js';
import type { SchemaMode, SchemaRecord } from '../ports/schema-store.js';
import { enumParam, intParam, type Query } from './params.js';

const MODES = ['enforce', 'warn', 'off'] as const;

function summary(r: SchemaRecord): Record<string, unknown> {
  return { type: r.type, version: r.version, mode: r.mode, createdAt: new Date(r.createdAt).toISOString() };
}

function notFound(type: string, version?: number): HomeostatError {
  const what =
    version === undefined
      ? `no schema is registered for type '${type}'`
      : `type '${type}' has no schema version ${version}`;
  return new HomeostatError(ErrorCode.NOT_FOUND, `${what}; list them with GET /v1/schemas`);
}

interface PutBody {
  schema?: unknown;
  mode?: unknown;
  version?: unknown;
}

function readPutBody(body: unknown): { schema: Record<string, unknown>; mode?: SchemaMode; version?: number } {
  const b = (body ?? {}) as PutBody;
  const problems = [];
  if (typeof b.schema !== 'object' || b.schema === null || Array.isArray(b.schema)) {
    problems.push({ pointer: '/schema', message: 'required: a JSON Schema object (draft 2020-12) for the event data' });
  }
  if (b.mode !== undefined && !MODES.includes(b.mode as SchemaMode)) {
    problems.push({ pointer: '/mode', message: `must be one of ${MODES.join(', ')}` });
  }
  if (b.version !== undefined && (!Number.isInteger(b.version) || (b.version as number) < 1)) {
    problems.push({ pointer: '/version', message: 'must be a positive integer' });
  }
  if (problems.length > 0) {
    throw new HomeostatError(
      ErrorCode.INVALID,
      `invalid schema registration: ${problems.map((p) => `${p.pointer}: ${p.message}`).join('; ')}`,
      {
        problems,
      },
    );
  }
  return {
    schema: b.schema as Record<string, unknown>,
    mode: b.mode as SchemaMode | undefined,
    version: b.version as number | undefined,
  };
}

export function registerSchemaRoutes(app: FastifyInstance, schemas: SchemaRegistry): void {
  app.get('/v1/schemas', { config: { scope: 'read' } }, async () => ({ schemas: (await schemas.list()).map(summary) }));

  app.get('/v1/schemas/:type', { config: { scope: 'read' } }, async (req) => {
    const { type } = req.params as { type: string };
    const version = intParam(req.query as Query, 'version', 1, Number.MAX_SAFE_INTEGER);
    const record = await schemas.get(type, version);
    if (!record) throw notFound(type, version);
    return { ...summary(record), schema: record.schema };
  });

  app.get('/v1/schemas/:type/versions', { config: { scope: 'read' } }, async (req) => {
    const { type } = req.params as { type: string };
    const versions = await schemas.versions(type);
    if (versions.length === 0) throw notFound(type);
    return { versions: versions.map((r) => ({ ...summary(r), schema: r.schema })) };
  });

  app.put('/v1/schemas/:type', { config: { scope: 'admin' } }, async (req, reply) => {
    const { type } = req.params as { type: string };
    const input = readPutBody(req.body);
    const force = enumParam(req.query as Query, 'force', ['true', 'false'] as const) === 'true';
    const { record, created } = await schemas.register({ type, ...input, force });
    return reply.code(created ? 201 : 200).send({ ...summary(record), schema: record.schema });
  });

  app.delete('/v1/schemas/:type', { config: { scope: 'admin' } }, async (req) => {
    const { type } = req.params as { type: string };
    const version = intParam(req.query as Query, 'version', 1, Number.MAX_SAFE_INTEGER);
    const deleted = await schemas.delete(type, version);
    if (deleted === 0) throw notFound(type, version);
    return { deleted };
  });
}
