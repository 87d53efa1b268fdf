/** @module How far `why` and `why-not` read: options from a request, defaulted and capped. */

/** What a caller may set (per request: GET /v1/why/{id}?maxEvents=&window=&maxNodes=). */
export interface WhyOptions {
  /** The source of the event asked about, when several sources used the same id. */
  readonly source?: string;
  /**
   * Events read after the root looking for descendants. Default 50,000. Finding the asked id and
   * its causes reads up to this many too, but never fewer than the default.
   */
  readonly maxEvents?: number;
  /** Append time after the root that the descendant scan covers, ms. Default 1 h. */
  readonly windowMs?: number;
  /** Nodes in the returned tree. Default 2,000. */
  readonly maxNodes?: number;
}

export interface ResolvedWhyOptions {
  readonly source: string | undefined;
  readonly maxEvents: number;
  /** Events a search for one id may read: max(maxEvents, the default). */
  readonly maxSearch: number;
  readonly windowMs: number;
  readonly maxNodes: number;
}

export const WHY_DEFAULTS = Object.freeze({ maxEvents: 50_000, windowMs: 3_600_000, maxNodes: 2_000 });
export const WHY_LIMITS = Object.freeze({ maxEvents: 1_000_000, windowMs: 7 * 86_400_000, maxNodes: 20_000 });

const clamp = (v: number | undefined, fallback: number, max: number): number =>
  v === undefined || !Number.isFinite(v) || v < 1 ? fallback : Math.min(Math.floor(v), max);

export function resolveWhyOptions(o: WhyOptions = {}): ResolvedWhyOptions {
  return Object.freeze({
    source: o.source === '' ? undefined : o.source,
    maxEvents: clamp(o.maxEvents, WHY_DEFAULTS.maxEvents, WHY_LIMITS.maxEvents),
    maxSearch: Math.max(clamp(o.maxEvents, WHY_DEFAULTS.maxEvents, WHY_LIMITS.maxEvents), WHY_DEFAULTS.maxEvents),
    windowMs: clamp(o.windowMs, WHY_DEFAULTS.windowMs, WHY_LIMITS.windowMs),
    maxNodes: clamp(o.maxNodes, WHY_DEFAULTS.maxNodes, WHY_LIMITS.maxNodes),
  });
}
