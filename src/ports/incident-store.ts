/**
 * @module IncidentStore: durable incident records (what a HealingPolicy opens; see
 * core/healing/types.ts).
 *
 * Contract:
 * - `put` writes the whole record (insert or replace by id); the last write wins. Callers
 *   serialise their own writes to one incident (the incidents service does).
 * - `get` returns undefined for an unknown id.
 * - `list` is newest first (by `openedAt`, then id), optionally of one status, at most `limit`
 *   (default 100).
 * - `findOpen` returns the open incident of a policy about a resource, if any (at most one is open).
 *   An acknowledged incident is still open (the acknowledgement is in `details.acknowledgedAt` and
 *   `details.acknowledgedBy`), so it is listed and found as open until it is resolved.
 * - Errors: E_BACKEND when the backend fails.
 */
import type { Incident, IncidentStatus } from '../core/healing/types.js';

export interface IncidentFilter {
  readonly status?: IncidentStatus;
  readonly policy?: string;
  readonly limit?: number;
}

export interface IncidentStore {
  put(incident: Incident): Promise<void>;
  get(id: string): Promise<Incident | undefined>;
  list(filter?: IncidentFilter): Promise<Incident[]>;
  findOpen(policy: string, resource: string): Promise<Incident | undefined>;
}
