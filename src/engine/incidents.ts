/**
 * @module The incidents service: opens, updates and resolves incident records (core/healing) in an
 * IncidentStore, one write at a time per incident, publishes `homeostat.incident.opened`,
 * `.escalated`, `.acknowledged` and `.resolved` events, and tells listeners when an incident is
 * resolved (a HealingPolicy then releases the group it held). Acknowledging keeps an incident open
 * (it says someone is on it): `details.acknowledgedAt` / `acknowledgedBy` record who and when.
 */
import type { Clock } from '../core/clock.js';
import { ErrorCode, HomeostatError } from '../core/errors.js';
import type { CloudEvent } from '../core/event.js';
import {
  appendTimeline,
  escalate,
  withDetails,
  newIncidentId,
  type OpenIncidentInput,
  openIncident,
  resolveIncident,
} from '../core/healing/incident.js';
import type { Incident, IncidentSeverity, TimelineEntry } from '../core/healing/types.js';
import type { IncidentFilter, IncidentStore } from '../ports/incident-store.js';
import type { Publish } from './automation/types.js';

export const INCIDENT_SOURCE = 'homeostat/incidents';

export interface IncidentsOptions {
  readonly store: IncidentStore;
  readonly clock: Clock;
  /** Appends the incident events; without it none are published. */
  readonly publish?: Publish;
  /** Reports failures that do not fail the call (publishing, listeners). */
  readonly onError?: (err: unknown) => void;
  /** For ids; default Math.random. */
  readonly random?: () => number;
}

export type OpenInput = Omit<OpenIncidentInput, 'id' | 'at'> & {
  readonly at?: number;
  /** The event or action that opened it (the opened event's causation). */
  readonly cause?: string;
};

export interface ResolveInput {
  /** Who resolves: `HealingPolicy/web`, `api`, `cli:alice`. */
  readonly by: string;
  readonly comment?: string;
  readonly cause?: string;
}

export interface AcknowledgeInput {
  /** Who acknowledges: `api`, `cli:alice`. */
  readonly by: string;
  readonly comment?: string;
  readonly cause?: string;
}

/** When and by whom an incident was acknowledged (kept in `details`), if it was. */
export function acknowledgement(incident: Incident): { readonly at: number; readonly by: string } | undefined {
  const at = incident.details.acknowledgedAt;
  const by = incident.details.acknowledgedBy;
  return typeof at === 'number' ? { at, by: typeof by === 'string' ? by : 'unknown' } : undefined;
}

export interface Incidents {
  open(input: OpenInput): Promise<Incident>;
  /** Applies `change` to the stored incident and stores the result. E_NOT_FOUND for an unknown id. */
  update(id: string, change: (incident: Incident) => Incident): Promise<Incident>;
  append(id: string, entries: readonly TimelineEntry[]): Promise<Incident>;
  /** Raises the severity (never lowers it) with a timeline entry saying why; publishes `.escalated`. */
  escalate(id: string, severity: IncidentSeverity, entry: TimelineEntry, cause?: string): Promise<Incident>;
  /**
   * Records that someone is handling an open incident (a timeline note and `details.acknowledgedAt`
   * / `acknowledgedBy`); it stays open until resolved. A second acknowledge changes nothing and
   * returns the incident as it is. E_NOT_FOUND for an unknown id, E_CONFLICT when it is resolved.
   */
  acknowledge(id: string, input: AcknowledgeInput): Promise<Incident>;
  /**
   * Resolves an open incident, then awaits every resolve listener. E_NOT_FOUND for an unknown id,
   * E_CONFLICT when it is already resolved.
   */
  resolve(id: string, input: ResolveInput): Promise<Incident>;
  get(id: string): Promise<Incident | undefined>;
  list(filter?: IncidentFilter): Promise<Incident[]>;
  findOpen(policy: string, resource: string): Promise<Incident | undefined>;
  /** Hears of every resolved incident, whoever resolved it. Returns the unsubscribe function. */
  onResolved(listener: (incident: Incident) => void | Promise<void>): () => void;
}

export function createIncidents(o: IncidentsOptions): Incidents {
  const random = o.random ?? Math.random;
  const onError = o.onError ?? (() => undefined);
  const listeners = new Set<(incident: Incident) => void | Promise<void>>();
  /** The last write queued per incident: writes to one incident run one after another. */
  const queues = new Map<string, Promise<unknown>>();

  const serial = <T>(id: string, fn: () => Promise<T>): Promise<T> => {
    const next = (queues.get(id) ?? Promise.resolve()).then(fn, fn);
    const settled = next.catch(() => undefined);
    queues.set(id, settled);
    void settled.then(() => {
      if (queues.get(id) === settled) queues.delete(id);
    });
    return next;
  };

  const notFound = (id: string) =>
    new HomeostatError(ErrorCode.NOT_FOUND, `no incident '${id}'; list them with \`homeostat incidents --all\``);

  const update = (id: string, change: (incident: Incident) => Incident): Promise<Incident> =>
    serial(id, async () => {
      const current = await o.store.get(id);
      if (!current) throw notFound(id);
      const next = change(current);
      await o.store.put(next);
      return next;
    });

  const emit = (incident: Incident, what: string, idSuffix: string, cause?: string): void => {
    if (!o.publish) return;
    const event: CloudEvent = {
      specversion: '1.0',
      id: `${incident.id}.${idSuffix}`,
      source: INCIDENT_SOURCE,
      type: `homeostat.incident.${what}`,
      subject: `incident/${incident.id}`,
      time: new Date(o.clock.now()).toISOString(),
      datacontenttype: 'application/json',
      partitionkey: incident.resource,
      ...(cause === undefined ? {} : { causationid: cause }),
      data: summary(incident),
    };
    o.publish([event]).catch(onError);
  };

  return {
    async open(input) {
      const { cause, at, ...rest } = input;
      const incident = openIncident({ ...rest, id: newIncidentId(o.clock.now(), random), at: at ?? o.clock.now() });
      await serial(incident.id, () => o.store.put(incident));
      emit(incident, 'opened', 'opened', cause);
      return incident;
    },
    update,
    append: (id, entries) => update(id, (i) => appendTimeline(i, entries)),
    async escalate(id, severity, entry, cause) {
      let raised = false;
      const next = await update(id, (i) => {
        const e = escalate(i, severity, entry);
        raised = e.severity !== i.severity;
        return e;
      });
      if (raised) emit(next, 'escalated', `escalated.${severity}`, cause);
      return next;
    },
    async acknowledge(id, input) {
      let changed = false;
      const next = await update(id, (i) => {
        if (i.status === 'resolved') {
          throw new HomeostatError(
            ErrorCode.CONFLICT,
            `incident ${i.id} was resolved at ${new Date(i.resolvedAt ?? 0).toISOString()} by ${i.resolvedBy ?? 'unknown'}; only open incidents can be acknowledged`,
          );
        }
        if (acknowledgement(i) !== undefined) return i;
        changed = true;
        const at = o.clock.now();
        const who = input.comment ? `${input.by}: ${input.comment}` : input.by;
        const acked = withDetails(i, { acknowledgedAt: at, acknowledgedBy: input.by });
        return appendTimeline(acked, [{ at, kind: 'note', summary: `acknowledged by ${who}` }]);
      });
      if (changed) emit(next, 'acknowledged', 'acknowledged', input.cause);
      return next;
    },
    async resolve(id, input) {
      const who = input.comment ? `${input.by}: ${input.comment}` : input.by;
      const resolved = await update(id, (i) => resolveIncident(i, o.clock.now(), input.by, `resolved by ${who}`));
      emit(resolved, 'resolved', 'resolved', input.cause);
      for (const r of await Promise.allSettled([...listeners].map(async (l) => l(resolved)))) {
        if (r.status === 'rejected') onError(r.reason);
      }
      return (await o.store.get(id)) ?? resolved;
    },
    get: (id) => o.store.get(id),
    list: (filter) => o.store.list(filter),
    findOpen: (policy, resource) => o.store.findOpen(policy, resource),
    onResolved(listener) {
      listeners.add(listener);
      return () => void listeners.delete(listener);
    },
  };
}

/** The incident without its timeline: what events and lists carry. */
export function summary(incident: Incident): Record<string, unknown> {
  const { timeline, ...rest } = incident;
  return { ...rest, entries: timeline.length };
}
