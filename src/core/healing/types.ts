/**
 * @module The HealingPolicy model (a resolved `kind: HealingPolicy` manifest) and the incident
 * record it keeps: a timeline of the events seen and the actions taken, open until resolved.
 */
import type { SafetySpec } from '../safety/types.js';

export const HEALING_KIND = 'HealingPolicy';

/**
 * What a HealingPolicy reacts to, per instance of its group:
 * - `crashed`: the process exited without being asked to (including while starting);
 * - `hung`: health checks time out (the instance accepts nothing or answers nothing);
 * - `unhealthy`: health checks fail with an answer or a refused connection (HTTP 5xx, ECONNREFUSED);
 * - `not-ready`: a started instance is not ready (first passing check) within `verify.timeout`.
 */
export const FailureKind = {
  crashed: 'crashed',
  hung: 'hung',
  unhealthy: 'unhealthy',
  notReady: 'not-ready',
} as const;
export type FailureKind = (typeof FailureKind)[keyof typeof FailureKind];
export const FAILURE_KINDS: readonly FailureKind[] = Object.values(FailureKind);

/** Resolved `spec` of a HealingPolicy (durations in ms), frozen. Compatible with the policy kind contract. */
export interface HealingSpec {
  readonly kind: typeof HEALING_KIND;
  readonly name: string;
  readonly description?: string;
  readonly safety: SafetySpec;
  /** The instance group healed (from `spec.target: group/web`). */
  readonly group: string;
  /** Failures acted on. Default: all of {@link FAILURE_KINDS}. */
  readonly on: readonly FailureKind[];
  /** A replacement (any started instance) must be ready within this. Default 30 s. */
  readonly verifyTimeoutMs: number;
  /** `crashes` failures (crashed or not-ready) within `withinMs` hold the group. Default 3 in 1 m. */
  readonly crashLoop: { readonly crashes: number; readonly withinMs: number };
  /** Webhook for incidents (opened, escalated, resolved); absent: no notification. */
  readonly notify?: { readonly url: string };
  /** Severity of an incident when it opens. Default 'warning' (a crash loop makes it 'critical'). */
  readonly severity: IncidentSeverity;
}

export type IncidentSeverity = 'info' | 'warning' | 'critical';
export const INCIDENT_SEVERITIES: readonly IncidentSeverity[] = ['info', 'warning', 'critical'];
export type IncidentStatus = 'open' | 'resolved';
export const INCIDENT_STATUSES: readonly IncidentStatus[] = ['open', 'resolved'];

/** One line of an incident's timeline. */
export interface TimelineEntry {
  /** Epoch ms: an event's own time, or when the action or note happened. */
  readonly at: number;
  readonly kind: 'event' | 'action' | 'note';
  /** One sentence for humans. */
  readonly summary: string;
  /** The event id (kind event) or action id (kind action) it refers to. */
  readonly ref?: string;
}

/** Most timeline entries kept per incident; later ones replace the oldest after the first ten. */
export const MAX_TIMELINE = 500;

export interface Incident {
  /** Short and unique, e.g. `inc-m3x1k2-7f3a`: what `homeostat incident <id>` takes. */
  readonly id: string;
  readonly title: string;
  readonly severity: IncidentSeverity;
  readonly status: IncidentStatus;
  /** The resource it is about, as a ref: `instancegroup/web`. */
  readonly resource: string;
  readonly group?: string;
  /** Who opened it: `HealingPolicy/web`. */
  readonly policy: string;
  readonly openedAt: number;
  readonly resolvedAt?: number;
  /** Who resolved it: the policy (recovered) or a person (`api`, `cli:<user>`). */
  readonly resolvedBy?: string;
  /**
   * Figures and flags, JSON: `held` (a crash loop holds the group), `failures`, `replacements`,
   * and the recovery times `toActionMs`, `toReplacementMs`, `toVerifiedMs`, `toResolvedMs`.
   */
  readonly details: Readonly<Record<string, unknown>>;
  readonly timeline: readonly TimelineEntry[];
}
