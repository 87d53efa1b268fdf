/** @module /v1/tokens: create, list and revoke API tokens (admin scope). */
import type { FastifyInstance } from 'fastify';
import { issueToken } from '../auth/tokens.js';
import type { Clock } from '../core/clock.js';
import { ErrorCode, HomeostatError } from '../core/errors.js';
import { Scope, type TokenStore } from '../ports/token-store.js';

const SCOPES = Object.values(Scope);

function readBody(body: unknown): { name: string; scopes: Scope[] } {
  const b = (body ?? {}) as { name?: unknown; scopes?: unknown };
  const problems = [];
  if (typeof b.name !== 'string' || b.name.length === 0 || b.name.length > 100) {
    problems.push({ pointer: '/name', message: 'required: a name of 1 to 100 characters' });
  }
  if (!Array.isArray(b.scopes) || b.scopes.length === 0 || !b.scopes.every((s) => SCOPES.includes(s))) {
    problems.push({ pointer: '/scopes', message: `required: a non-empty list of ${SCOPES.join(', ')}` });
  }
  if (problems.length > 0) {
    throw new HomeostatError(
      ErrorCode.INVALID,
      `invalid token request: ${problems.map((p) => `${p.pointer}: ${p.message}`).join('; ')}`,
      {
        problems,
      },
    );
  }
  return { name: b.name as string, scopes: b.scopes as Scope[] };
}

export function registerTokenRoutes(app: FastifyInstance, tokens: TokenStore, clock: Clock): void {
  app.post('/v1/tokens', { config: { scope: 'admin' } }, async (req, reply) => {
    const { name, scopes } = readBody(req.body);
    const issued = issueToken(name, scopes, clock.now());
    await tokens.add(issued.record);
    return reply.code(201).send({ id: issued.record.id, name, scopes: issued.record.scopes, token: issued.token });
  });

  app.get('/v1/tokens', { config: { scope: 'admin' } }, async () => ({
    tokens: (await tokens.list()).map((t) => ({
      id: t.id,
      name: t.name,
      scopes: t.scopes,
      createdAt: new Date(t.createdAt).toISOString(),
    })),
  }));

  app.delete('/v1/tokens/:id', { config: { scope: 'admin' } }, async (req, reply) => {
    const { id } = req.params as { id: string };
    if (!(await tokens.remove(id))) {
      throw new HomeostatError(ErrorCode.NOT_FOUND, `no token with id '${id}'; list them with GET /v1/tokens`);
    }
    return reply.code(204).send();
  });
}
