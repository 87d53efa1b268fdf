/**
 * @module Trace context carried by events (the CloudEvents distributed-tracing extension).
 *
 * Every event Homeostat appends while tracing is on gets a span (`event <type>`) and, unless a
 * client sent its own `traceparent`, that span's context as its `traceparent`. The span's parent
 * is, in order: the span active where the event was published (a delivery, an action), the span
 * of the event named by its `causationid`, or nothing (a new trace). So a chain trigger → match →
 * delivery → action → emitted events → resource changes is one connected trace even where the
 * work crosses a queue or a timer, because the causation link is followed instead.
 *
 * Uses only the OpenTelemetry API: with no SDK registered every span is a no-op, and
 * {@link disabledTracing} skips even that on the hot paths.
 */
import {
  type Attributes,
  type Context,
  context,
  defaultTextMapGetter,
  INVALID_SPAN_CONTEXT,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  trace,
} from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import type { CloudEvent } from '../core/event.js';

export interface EventSpan {
  /** The event to append: with `traceparent` set to this span when it had none or is internal. */
  readonly event: CloudEvent;
  /** Ends the span with the event's fate (accepted, duplicate, rejected). */
  end(status: string): void;
}

export interface EventTracing {
  readonly enabled: boolean;
  /** Starts the span of one event about to be appended. `external`: sent by a client. */
  startEvent(event: CloudEvent, external: boolean): EventSpan;
  /** The context an event's own traceparent names (root when it has none). */
  contextOf(event: CloudEvent): Context;
  /** The parent for work caused by `causationId`: the active span, else that event's span. */
  parentFor(causationId: string | undefined): Context;
  /** Runs `fn` inside a new active span under `parent`; records errors; ends it when done. */
  inSpan<T>(
    name: string,
    parent: Context,
    attributes: Attributes,
    fn: (span: Span) => Promise<T>,
    kind?: SpanKind,
  ): Promise<T>;
  /** A span that starts and ends now (e.g. a rule match). */
  mark(name: string, parent: Context, attributes: Attributes): void;
}

const propagator = new W3CTraceContextPropagator();
const tracer = () => trace.getTracer('homeostat');

function contextFromTraceparent(traceparent: string | undefined): Context {
  if (traceparent === undefined) return ROOT_CONTEXT;
  return propagator.extract(ROOT_CONTEXT, { traceparent }, defaultTextMapGetter);
}

/** The W3C `traceparent` of a span (version 00), or undefined for an invalid (no-op) span. */
function traceparentOf(span: Span): string | undefined {
  const c = span.spanContext();
  if (!trace.isSpanContextValid(c)) return undefined;
  return `00-${c.traceId}-${c.spanId}-${(c.traceFlags & 0xff).toString(16).padStart(2, '0')}`;
}

/** Remembers the traceparent of recent events by id, oldest forgotten first. */
class RecentContexts {
  private readonly map = new Map<string, string>();
  constructor(private readonly max: number) {}
  get(id: string): string | undefined {
    return this.map.get(id);
  }
  set(id: string, traceparent: string): void {
    this.map.delete(id);
    this.map.set(id, traceparent);
    if (this.map.size > this.max) this.map.delete(this.map.keys().next().value!);
  }
}

/** Tracing that does nothing: the default when no exporter is configured. */
export const disabledTracing: EventTracing = {
  enabled: false,
  startEvent: (event) => ({ event, end: () => undefined }),
  contextOf: () => ROOT_CONTEXT,
  parentFor: () => ROOT_CONTEXT,
  inSpan: (_name, _parent, _attributes, fn) => fn(trace.wrapSpanContext(INVALID_SPAN_CONTEXT)),
  mark: () => undefined,
};

export interface EventTracingOptions {
  /** How many recent events' contexts are kept to parent work that follows a causation link. Default 50,000. */
  readonly remember?: number;
}

/** Tracing through the OpenTelemetry API (whatever provider is registered globally). */
export function createEventTracing(options: EventTracingOptions = {}): EventTracing {
  const recent = new RecentContexts(options.remember ?? 50_000);

  function parentFor(causationId: string | undefined): Context {
    const active = context.active();
    if (trace.getSpan(active) !== undefined) return active;
    const known = causationId === undefined ? undefined : recent.get(causationId);
    return contextFromTraceparent(known);
  }

  return {
    enabled: true,
    startEvent(event, external) {
      // A client's traceparent is theirs to keep; events Homeostat publishes carry its own span.
      const own = external && typeof event.traceparent === 'string';
      const parent = typeof event.traceparent === 'string' ? contextOf(event) : parentFor(event.causationid);
      const span = tracer().startSpan(
        `event ${event.type}`,
        {
          kind: SpanKind.PRODUCER,
          attributes: {
            'cloudevents.event_id': event.id,
            'cloudevents.event_source': event.source,
            'cloudevents.event_type': event.type,
            ...(event.subject === undefined ? {} : { 'cloudevents.event_subject': event.subject }),
            ...(typeof event.causationid === 'string' ? { 'homeostat.causation_id': event.causationid } : {}),
          },
        },
        parent,
      );
      const mine = traceparentOf(span);
      const stamped = own || mine === undefined ? event : { ...event, traceparent: mine };
      const remembered = own ? (event.traceparent as string) : mine;
      if (remembered !== undefined) recent.set(event.id, remembered);
      return {
        event: stamped,
        end(status) {
          span.setAttribute('homeostat.ingest.status', status);
          span.end();
        },
      };
    },
    contextOf,
    parentFor,
    async inSpan(name, parent, attributes, fn, kind = SpanKind.INTERNAL) {
      return tracer().startActiveSpan(name, { kind, attributes }, parent, async (span) => {
        try {
          return await fn(span);
        } catch (err) {
          span.recordException(err as Error);
          span.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error).message });
          throw err;
        } finally {
          span.end();
        }
      });
    },
    mark(name, parent, attributes) {
      tracer().startSpan(name, { attributes }, parent).end();
    },
  };
}

function contextOf(event: CloudEvent): Context {
  return contextFromTraceparent(typeof event.traceparent === 'string' ? event.traceparent : undefined);
}
