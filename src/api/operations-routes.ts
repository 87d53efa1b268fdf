/** @module /v1/replay and /v1/backtest: operator runs over a time range of the log. */
import type { FastifyInstance } from 'fastify';
import type { Clock } from '../core/clock.js';
import { ErrorCode, HomeostatError } from '../core/errors.js';
import type { EngineOperations } from '../engine/operations.js';
import { intParam, type Query, timeParam } from './params.js';

function range(q: Query, now: number): { since: number; until?: number } {
  const since = timeParam(q, 'since', now);
  if (since === undefined) {
    throw new HomeostatError(
      ErrorCode.INVALID,
      "query parameter 'since' is required: e.g. ?since=24h or an RFC 3339 time",
      {
        problems: [{ pointer: '?since', message: 'required' }],
      },
    );
  }
  const until = timeParam(q, 'until', now);
  if (until !== undefined && until <= since) {
    throw new HomeostatError(ErrorCode.INVALID, "'until' must be after 'since'", {
      problems: [{ pointer: '?until', message: 'must be after since' }],
    });
  }
  return until === undefined ? { since } : { since, until };
}

export function registerOperationsRoutes(app: FastifyInstance, ops: EngineOperations, clock: Clock): void {
  app.post('/v1/replay', { config: { scope: 'admin' } }, async (req) => {
    const q = req.query as Query;
    const rule = typeof q.rule === 'string' && q.rule !== '' ? q.rule : undefined;
    return ops.replay(range(q, clock.now()), rule);
  });

  app.post('/v1/backtest', { config: { scope: 'read' } }, async (req, reply) => {
    const q = req.query as Query;
    const r = range(q, clock.now());
    const samples = intParam(q, 'samples', 0, 1_000);
    const stream = (req.headers.accept ?? '').includes('application/x-ndjson');
    if (!stream) return ops.backtest(req.body, r, { samples });
    // Streaming: one JSON line per progress step, then the report. The stream starts with the first
    // line, so an invalid manifest (rejected before any progress) is still an ordinary 4xx answer;
    // an error after that is a final `{"error": ...}` line.
    const controller = new AbortController();
    // The response's close, not the request's: the request closes as soon as its body is read.
    reply.raw.on('close', () => {
      if (!reply.raw.writableEnded) controller.abort();
    });
    let started = false;
    const line = (v: unknown) => {
      if (!started) {
        started = true;
        reply.hijack();
        reply.raw.writeHead(200, { 'content-type': 'application/x-ndjson', 'cache-control': 'no-store' });
      }
      reply.raw.write(`${JSON.stringify(v)}\n`);
    };
    try {
      const report = await ops.backtest(req.body, r, {
        samples,
        signal: controller.signal,
        onProgress: (p) => line({ progress: p }),
      });
      line({ report });
    } catch (err) {
      if (!started) throw err;
      const e = err instanceof HomeostatError ? err : new HomeostatError(ErrorCode.INTERNAL, (err as Error).message);
      line({ error: e.toJSON() });
    }
    reply.raw.end();
  });
}
