/** @module /v1/dlq: list, inspect, count, redrive and purge dead letters (docs/API.md, "Dead letters and trace"). */
import type { FastifyInstance } from 'fastify';
import type { Clock } from '../core/clock.js';
import { parseDuration } from '../core/durations.js';
import { ErrorCode, HomeostatError, invalid, type Problem } from '../core/errors.js';
import { isRfc3339 } from '../core/event.js';
import type { DeadLetter, DeadLetterFilter, DeadLetterSelector, DeliveryAdmin } from '../engine/delivery-admin.js';
import { intParam, type Query, timeParam } from './params.js';

/** The most ids one redrive or purge request may name. */
export const MAX_SELECTOR_IDS = 1000;

const FILTER_FIELDS = ['rule', 'target', 'since', 'until'] as const;
const SELECTOR_FIELDS = ['ids', 'filter', 'all'] as const;
const TIME_HELP = 'an RFC 3339 time (2026-11-24T10:00:00Z), epoch milliseconds, or a duration ago (1h)';

/** A dead letter on the wire, without its event (the list), or with it (one entry). */
export function deadLetterToWire(l: DeadLetter, withEvent: boolean): Record<string, unknown> {
  const wire: Record<string, unknown> = {
    id: l.id,
    key: l.key,
    offset: l.offset,
    attempts: l.attempts,
    reason: l.reason,
    error: l.error,
    deadAt: new Date(l.deadAt).toISOString(),
  };
  if (withEvent) wire.event = l.event;
  else wire.eventType = l.event.type;
  return wire;
}

function filterFromQuery(q: Query, now: number): DeadLetterFilter {
  const text = (name: string) => {
    const v = q[name];
    const s = Array.isArray(v) ? v[v.length - 1] : v;
    return s === undefined || s === '' ? undefined : s;
  };
  return {
    rule: text('rule'),
    target: text('target'),
    since: timeParam(q, 'since', now),
    until: timeParam(q, 'until', now),
  };
}

function idParam(raw: string): number {
  const id = Number(raw);
  if (/^\d{1,15}$/.test(raw) && id >= 1) return id;
  throw new HomeostatError(
    ErrorCode.INVALID,
    `dead-letter id ${JSON.stringify(raw)} is not a positive integer; list ids with GET /v1/dlq`,
    {
      problems: [{ pointer: ':id', message: 'must be a positive integer (a dead letter id)' }],
    },
  );
}

function notFound(id: number): HomeostatError {
  return new HomeostatError(ErrorCode.NOT_FOUND, `no dead letter with id ${id}; list them with GET /v1/dlq`);
}

/** A time in a request body: what `since`/`until` accept in the query, or epoch ms as a number. */
function bodyTime(value: unknown, pointer: string, now: number, problems: Problem[]): number | undefined {
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return value;
  if (typeof value === 'string' && /^\d{10,}$/.test(value)) return Number(value);
  if (typeof value === 'string' && isRfc3339(value)) return Date.parse(value);
  if (typeof value === 'string') {
    try {
      return now - parseDuration(value, pointer);
    } catch {
      // Reported below with the pointer.
    }
  }
  problems.push({ pointer, message: `must be ${TIME_HELP}` });
  return undefined;
}

function readFilter(raw: unknown, now: number, problems: Problem[]): DeadLetterFilter {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    problems.push({ pointer: '/filter', message: `must be an object with any of ${FILTER_FIELDS.join(', ')}` });
    return {};
  }
  const f = raw as Record<string, unknown>;
  const unknown = Object.keys(f).filter((k) => !(FILTER_FIELDS as readonly string[]).includes(k));
  for (const k of unknown)
    problems.push({ pointer: `/filter/${k}`, message: `unknown field; use ${FILTER_FIELDS.join(', ')}` });
  for (const k of ['rule', 'target'] as const) {
    if (f[k] !== undefined && (typeof f[k] !== 'string' || f[k] === '')) {
      problems.push({ pointer: `/filter/${k}`, message: `must be a non-empty string (the ${k} name)` });
    }
  }
  const filter: DeadLetterFilter = {
    rule: f.rule as string | undefined,
    target: f.target as string | undefined,
    since: f.since === undefined ? undefined : bodyTime(f.since, '/filter/since', now, problems),
    until: f.until === undefined ? undefined : bodyTime(f.until, '/filter/until', now, problems),
  };
  if (FILTER_FIELDS.every((k) => f[k] === undefined) && unknown.length === 0) {
    problems.push({
      pointer: '/filter',
      message: 'an empty filter would select every dead letter; send { "all": true } to mean that',
    });
  }
  return filter;
}

function readIds(raw: unknown, problems: Problem[]): number[] {
  if (!Array.isArray(raw) || raw.length === 0 || raw.length > MAX_SELECTOR_IDS) {
    problems.push({ pointer: '/ids', message: `must be a list of 1 to ${MAX_SELECTOR_IDS} dead-letter ids` });
    return [];
  }
  raw.forEach((id, i) => {
    if (!Number.isSafeInteger(id) || (id as number) < 1)
      problems.push({ pointer: `/ids/${i}`, message: 'must be a positive integer (a dead letter id)' });
  });
  return [...new Set(raw as number[])];
}

/**
 * Reads a redrive or purge body: exactly one of `{ ids }`, `{ filter }` or `{ all: true }`.
 * Anything else, an empty body included, is E_INVALID: acting on every entry must be explicit.
 */
export function readSelector(body: unknown, now: number, what: string): DeadLetterSelector {
  const problems: Problem[] = [];
  const b =
    typeof body === 'object' && body !== null && !Array.isArray(body) ? (body as Record<string, unknown>) : undefined;
  const given = b ? SELECTOR_FIELDS.filter((k) => b[k] !== undefined) : [];
  const choose = `send exactly one of { "ids": [..] }, { "filter": { "rule": .. } } or { "all": true }`;
  if (!b || given.length !== 1) {
    problems.push({ pointer: '', message: given.length > 1 ? `${choose}, not ${given.join(' and ')}` : choose });
  }
  for (const k of Object.keys(b ?? {}).filter((k) => !(SELECTOR_FIELDS as readonly string[]).includes(k))) {
    problems.push({ pointer: `/${k}`, message: `unknown field; use ${SELECTOR_FIELDS.join(', ')}` });
  }
  let selector: DeadLetterSelector = { filter: {} };
  if (b?.ids !== undefined) selector = { ids: readIds(b.ids, problems) };
  else if (b?.filter !== undefined) selector = { filter: readFilter(b.filter, now, problems) };
  else if (b?.all !== undefined && b.all !== true)
    problems.push({ pointer: '/all', message: 'must be true (to act on every dead letter)' });
  if (problems.length > 0) throw invalid(`invalid ${what} request`, problems);
  return selector;
}

export function registerDlqRoutes(app: FastifyInstance, admin: DeliveryAdmin, clock: Clock): void {
  app.get('/v1/dlq', { config: { scope: 'read' } }, async (req) => {
    const q = req.query as Query;
    const limit = intParam(q, 'limit', 1, 1000) ?? 100;
    const after = intParam(q, 'after', 0, Number.MAX_SAFE_INTEGER);
    const entries = await admin.listDead({ ...filterFromQuery(q, clock.now()), after, limit });
    const last = entries[entries.length - 1];
    return {
      entries: entries.map((l) => deadLetterToWire(l, false)),
      next: entries.length === limit && last ? last.id : null,
    };
  });

  app.get('/v1/dlq/count', { config: { scope: 'read' } }, async (req) => ({
    count: await admin.countDead(filterFromQuery(req.query as Query, clock.now())),
  }));

  app.get('/v1/dlq/:id', { config: { scope: 'read' } }, async (req) => {
    const id = idParam((req.params as { id: string }).id);
    const letter = await admin.getDead(id);
    if (!letter) throw notFound(id);
    return deadLetterToWire(letter, true);
  });

  app.post('/v1/dlq/redrive', { config: { scope: 'admin' } }, async (req) =>
    admin.redrive(readSelector(req.body, clock.now(), 'redrive')),
  );
  app.post('/v1/dlq/purge', { config: { scope: 'admin' } }, async (req) =>
    admin.purge(readSelector(req.body, clock.now(), 'purge')),
  );

  app.post('/v1/dlq/:id/redrive', { config: { scope: 'admin' } }, async (req) => {
    const id = idParam((req.params as { id: string }).id);
    const result = await admin.redrive({ ids: [id] });
    if (result.missing.length > 0) throw notFound(id);
    return result;
  });

  app.delete('/v1/dlq/:id', { config: { scope: 'admin' } }, async (req, reply) => {
    const id = idParam((req.params as { id: string }).id);
    const result = await admin.purge({ ids: [id] });
    if (result.missing.length > 0) throw notFound(id);
    return reply.code(204).send();
  });
}
