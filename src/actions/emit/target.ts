/**
 * @module The `emit` action: publishes a new event through ingest (schemas apply), linked to the
 * triggering event by `causationid`; chains of rules go through the log.
 */
import type { Clock } from '../../core/clock.js';
import { DeliveryErrorCode } from '../../core/delivery/codes.js';
import { emittedEventId } from '../../core/delivery/idempotency.js';
import {
  type Interpolation,
  type JsonInterpolation,
  compileInterpolation,
  compileJsonInterpolation,
} from '../../core/delivery/transform.js';
import { ErrorCode, type Problem, hasCode } from '../../core/errors.js';
import { type CloudEvent, hasControlCharacters } from '../../core/event.js';
import type { DeliveryOutcome, DeliveryRequest, Target } from '../../ports/target.js';
import { createOptionCache, failure, invalidOptions, type Options, unknownKeys } from '../options.js';

/** What ingest said about one published event. */
export interface PublishResult {
  readonly status: 'accepted' | 'duplicate' | 'rejected';
  /** Why it was rejected (E_EVENT_INVALID, E_SCHEMA_VIOLATION, ...). */
  readonly code?: string;
  readonly problems?: readonly Problem[];
}

/**
 * Appends events through ingest (validation, schemas, duplicate suppression). Throws a
 * HomeostatError (E_BACKPRESSURE with `details.retryAfterMs`, E_BACKEND, E_CLOSED) when it cannot
 * take them now.
 */
export type Publish = (events: readonly CloudEvent[]) => Promise<readonly PublishResult[]>;

export interface EmitTargetDeps {
  readonly publish: Publish;
  readonly clock: Clock;
}

const KEYS = ['type', 'source', 'subject', 'data', 'partitionkey'] as const;
const NO_SPACE = /^\S+$/;

interface EmitOptions {
  readonly type: string;
  readonly source?: string;
  readonly subject?: Interpolation;
  readonly partitionkey?: Interpolation;
  readonly data?: JsonInterpolation;
}

function checkText(options: Options, key: string, required: boolean, hint: string): Problem[] {
  const v = options[key];
  if (v === undefined) return required ? [{ pointer: `/${key}`, message: `is required: ${hint}` }] : [];
  if (typeof v !== 'string' || v === '')
    return [{ pointer: `/${key}`, message: `must be a non-empty string: ${hint}` }];
  if (hasControlCharacters(v)) return [{ pointer: `/${key}`, message: 'must not contain control characters' }];
  return [];
}

function checkPlaceholders(options: Options, key: string): Problem[] {
  const v = options[key];
  if (typeof v !== 'string') return [];
  const compiled = compileInterpolation(v);
  return typeof compiled === 'string' ? [{ pointer: `/${key}`, message: compiled }] : [];
}

function checkData(data: unknown): Problem[] {
  if (data === undefined) return [];
  try {
    compileJsonInterpolation(data, '/data');
    return [];
  } catch (err) {
    return hasCode(err, ErrorCode.INVALID) ? [...err.problems] : [{ pointer: '/data', message: String(err) }];
  }
}

function validateEmit(options: Options): Problem[] {
  const problems = [
    ...unknownKeys(options, KEYS),
    ...checkText(options, 'type', true, 'the new event type, e.g. deploy.requested'),
    ...checkText(options, 'source', false, "default 'homeostat/rule/<rule name>'"),
    ...checkText(options, 'subject', false, "default: the triggering event's subject"),
    ...checkText(options, 'partitionkey', false, "default: the triggering event's partition key"),
    ...checkPlaceholders(options, 'subject'),
    ...checkPlaceholders(options, 'partitionkey'),
    ...checkData(options.data),
  ];
  if (typeof options.source === 'string' && !NO_SPACE.test(options.source)) {
    problems.push({ pointer: '/source', message: 'must be a URI-reference without spaces, e.g. homeostat/deployer' });
  }
  return problems;
}

function compileEmit(options: Options): EmitOptions | Problem[] {
  const problems = validateEmit(options);
  if (problems.length > 0) return problems;
  const text = (key: string) =>
    typeof options[key] === 'string' ? (compileInterpolation(options[key]) as Interpolation) : undefined;
  return {
    type: options.type as string,
    ...(typeof options.source === 'string' ? { source: options.source } : {}),
    ...(options.subject !== undefined ? { subject: text('subject') } : {}),
    ...(options.partitionkey !== undefined ? { partitionkey: text('partitionkey') } : {}),
    ...(options.data !== undefined ? { data: compileJsonInterpolation(options.data) } : {}),
  };
}

type Built = { readonly event: CloudEvent } | { readonly outcome: DeliveryOutcome };

function renderText(i: Interpolation | undefined, root: unknown, fallback: string | undefined) {
  if (i === undefined) return { ok: true as const, value: fallback };
  const r = i.render(root);
  if (!r.ok) return r;
  return { ok: true as const, value: typeof r.value === 'string' ? r.value : JSON.stringify(r.value) };
}

function buildEvent(opts: EmitOptions, req: DeliveryRequest, now: number): Built {
  const trigger = req.record.event;
  const subject = renderText(opts.subject, req.payload, trigger.subject);
  const key = renderText(opts.partitionkey, req.payload, req.record.partitionKey);
  const data = opts.data ? opts.data(req.payload) : { ok: true as const, value: req.payload };
  for (const r of [subject, key, data]) {
    if (!r.ok) return { outcome: failure(r.error.code, r.error.message, 'no', r.error.details) };
  }
  const event: Record<string, unknown> = {
    specversion: '1.0',
    id: emittedEventId(req.idempotencyKey, 0),
    source: opts.source ?? `homeostat/rule/${req.rule}`,
    type: opts.type,
    time: new Date(now).toISOString(),
  };
  if (subject.ok && subject.value !== undefined) event.subject = subject.value;
  if (data.ok && data.value !== undefined) {
    event.datacontenttype = 'application/json';
    event.data = data.value;
  }
  if (key.ok && key.value !== undefined) event.partitionkey = key.value;
  event.causationid = trigger.id;
  event.correlationid = typeof trigger.correlationid === 'string' ? trigger.correlationid : trigger.id;
  if (typeof trigger.traceparent === 'string') event.traceparent = trigger.traceparent;
  if (typeof trigger.tracestate === 'string') event.tracestate = trigger.tracestate;
  return { event: event as unknown as CloudEvent };
}

function resultOutcome(event: CloudEvent, result: PublishResult | undefined): DeliveryOutcome {
  const emitted = [{ source: event.source, id: event.id }];
  if (result?.status === 'accepted' || result?.status === 'duplicate') {
    return { ok: true, detail: { status: result.status, source: event.source, id: event.id }, emitted };
  }
  const problems = result?.problems ?? [];
  const list = problems.map((p) => `${p.pointer || '/'}: ${p.message}`).join('; ');
  const code = result?.code ?? 'unknown';
  const message = `the emitted event ${event.type} was rejected by ingest (${code})${list ? `: ${list}` : ''}; fix the target's emit options or the schema`;
  return failure(DeliveryErrorCode.EMIT_REJECTED, message, 'no', { code, problems });
}

function thrownOutcome(err: unknown): DeliveryOutcome {
  const message = `could not publish the emitted event: ${(err as Error)?.message ?? String(err)}`;
  if (hasCode(err, ErrorCode.BACKPRESSURE)) {
    const after = err.details.retryAfterMs;
    const retryAfterMs = typeof after === 'number' ? after : undefined;
    return failure(DeliveryErrorCode.EMIT_UNAVAILABLE, message, 'yes', { cause: err.code }, retryAfterMs);
  }
  const code = (err as { code?: unknown })?.code;
  return failure(DeliveryErrorCode.EMIT_UNAVAILABLE, message, 'yes', typeof code === 'string' ? { cause: code } : {});
}

/**
 * Creates the emit action. The new event's id is derived from the delivery's idempotency key, so a
 * repeated delivery publishes the same id and the log reports it as a duplicate (exactly-once
 * effect within the log's dedup window).
 */
export function createEmitTarget(deps: EmitTargetDeps): Target {
  const compile = createOptionCache(compileEmit);
  return {
    action: 'emit',
    validate: validateEmit,
    async deliver(req) {
      const opts = compile(req.target.with);
      if (Array.isArray(opts)) return invalidOptions('emit', opts);
      const built = buildEvent(opts, req, deps.clock.now());
      if ('outcome' in built) return built.outcome;
      try {
        const [result] = await deps.publish([built.event]);
        return resultOutcome(built.event, result);
      } catch (err) {
        return thrownOutcome(err);
      }
    },
  };
}
