/** @module /v1/events: ingest (all CloudEvents HTTP modes), query, live tail over SSE, log stats. */
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { Clock } from '../core/clock.js';
import { ErrorCode, HomeostatError } from '../core/errors.js';
import type { Ingestor, IngestReport } from '../ingest/ingest.js';
import type { EventLog, LogRecord, QueryFilter } from '../ports/event-log.js';
import { parseEventsRequest } from './cloudevents-http.js';
import { enumParam, intParam, listParam, type Query, timeParam } from './params.js';

export interface EventsRoutesDeps {
  readonly log: EventLog;
  readonly ingestor: Ingestor;
  readonly clock: Clock;
  readonly maxRequestBytes: number;
  readonly maxDepth: number;
  /** Milliseconds between SSE heartbeats. */
  readonly heartbeatMs?: number;
}

function statusFor(report: IngestReport): number {
  if (report.rejected === 0) return report.accepted > 0 ? 201 : 200;
  return report.rejected === report.results.length ? 400 : 207;
}

function rejectionError(report: IngestReport): HomeostatError {
  const first = report.results.find((r) => r.status === 'rejected');
  const problems = report.results.flatMap((r) => r.problems ?? []);
  const code = report.results.length === 1 && first?.code ? first.code : ErrorCode.EVENT_INVALID;
  const summary = problems.map((p) => `${p.pointer || '/'}: ${p.message}`).join('; ');
  return new HomeostatError(code, `no event was accepted: ${summary}`, { problems });
}

/** Query-string filter shared by the query and the stream. */
function filterFrom(q: Query, now: number): QueryFilter {
  return {
    types: listParam(q, 'type'),
    sources: listParam(q, 'source'),
    subjects: listParam(q, 'subject'),
    since: timeParam(q, 'since', now),
    until: timeParam(q, 'until', now),
  };
}

export function toWire(rec: LogRecord): Record<string, unknown> {
  return {
    offset: rec.offset,
    partition: rec.partition,
    partitionKey: rec.partitionKey,
    appendedAt: new Date(rec.appendedAt).toISOString(),
    event: rec.event,
  };
}

export function registerEventsRoutes(app: FastifyInstance, deps: EventsRoutesDeps): void {
  const streams = new Set<AbortController>();
  app.addHook('preClose', async () => {
    for (const c of streams) c.abort();
  });
  app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: deps.maxRequestBytes }, (_req, body, done) =>
      done(null, body),
    );
    scope.post('/v1/events', { config: { scope: 'publish' } }, async (req, reply) => {
      const body = (req.body as Buffer | undefined) ?? Buffer.alloc(0);
      const parsed = parseEventsRequest(req.headers, body, deps.maxDepth);
      const report = await deps.ingestor.ingest({ ...parsed, bodyBytes: body.length, external: true });
      const status = statusFor(report);
      if (status === 400) {
        const err = rejectionError(report);
        const code = err.code === ErrorCode.EVENT_TOO_LARGE ? 413 : 400;
        return reply.code(code).send({ error: err.toJSON(), ...report });
      }
      return reply.code(status).send(report);
    });
  });

  app.get('/v1/events', { config: { scope: 'read' } }, async (req) => {
    const q = req.query as Query;
    const limit = intParam(q, 'limit', 1, 1000) ?? 100;
    const records = await deps.log.query({
      ...filterFrom(q, deps.clock.now()),
      after: intParam(q, 'after', 0, Number.MAX_SAFE_INTEGER),
      order: enumParam(q, 'order', ['asc', 'desc'] as const) ?? 'asc',
      limit,
    });
    const last = records[records.length - 1];
    return { events: records.map(toWire), next: records.length === limit && last ? last.offset : null };
  });

  app.get('/v1/log', { config: { scope: 'read' } }, async () => deps.log.stats());

  app.get('/v1/events/stream', { config: { scope: 'read' } }, async (req, reply) => {
    const q = req.query as Query;
    const filter = filterFrom(q, deps.clock.now());
    const lastEventId = intParam(
      { id: req.headers['last-event-id'] as string | undefined },
      'id',
      0,
      Number.MAX_SAFE_INTEGER,
    );
    let from = intParam(q, 'from', 0, Number.MAX_SAFE_INTEGER);
    if (lastEventId !== undefined) from = lastEventId + 1;
    else if (from === undefined && filter.since !== undefined) from = await deps.log.offsetAt(filter.since);
    await streamEvents(reply, deps, streams, { ...filter, since: undefined, from });
  });
}

async function streamEvents(
  reply: FastifyReply,
  deps: EventsRoutesDeps,
  streams: Set<AbortController>,
  options: QueryFilter & { from?: number },
): Promise<void> {
  const controller = new AbortController();
  streams.add(controller);
  reply.hijack();
  const res = reply.raw;
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  });
  res.write(': homeostat event stream\n\n');
  const heartbeat = setInterval(() => res.write(': heartbeat\n\n'), deps.heartbeatMs ?? 15_000);
  const stop = (): void => controller.abort();
  res.on('close', stop);
  try {
    for await (const rec of deps.log.follow({ ...options, signal: controller.signal })) {
      const ok = res.write(`id: ${rec.offset}\nevent: event\ndata: ${JSON.stringify(toWire(rec))}\n\n`);
      if (!ok) await new Promise((resolve) => res.once('drain', resolve));
    }
  } catch (err) {
    if (!controller.signal.aborted)
      res.write(`event: error\ndata: ${JSON.stringify({ message: (err as Error).message })}\n\n`);
  } finally {
    clearInterval(heartbeat);
    streams.delete(controller);
    res.off('close', stop);
    res.end();
  }
}
