/**
 * @module The cost model: an instance costs its type's hourly price for as long as it runs. A
 * running instance is an open {@link CostInterval}; cost is the price integrated over intervals.
 */

/** One stretch of time an instance ran at one price. Times in ms since the epoch. */
export interface CostInterval {
  readonly instance: string;
  readonly group: string;
  /** The stack that declares the group, if any. */
  readonly stack?: string;
  /** The group's tags (without `homeostat.io/` ones). */
  readonly tags: Readonly<Record<string, string>>;
  readonly provider: string;
  readonly instanceType: string;
  /** Price per hour of one instance of `instanceType` (the provider's currency unit, USD). */
  readonly pricePerHour: number;
  readonly start: number;
  /** Undefined while the instance runs. */
  readonly end?: number;
}

/** Which costs a budget or query covers; every field given must match (empty: everything). */
export interface CostScope {
  readonly stack?: string;
  readonly group?: string;
  readonly tags?: Readonly<Record<string, string>>;
}

/** How costs are rolled up. */
export const CostDimension = { group: 'group', stack: 'stack', tag: 'tag' } as const;
export type CostDimension = (typeof CostDimension)[keyof typeof CostDimension];

/** Budget periods, on UTC calendar boundaries (weeks start on Monday). */
export const CostPeriod = { day: 'day', week: 'week', month: 'month' } as const;
export type CostPeriod = (typeof CostPeriod)[keyof typeof CostPeriod];

/** One row of a rollup. */
export interface CostRow {
  /** The group, the stack (`(none)` for groups outside stacks), or `key=value` for tags. */
  readonly key: string;
  /** Cost rate now (sum of running instances' prices). */
  readonly ratePerHour: number;
  /** Running instances now. */
  readonly instances: number;
  /** Cost over the queried window. */
  readonly cost: number;
}

/** What a stack-less group rolls up under, and what an untagged instance does for a tag key. */
export const NONE_KEY = '(none)';

export const MS_PER_HOUR = 3_600_000;
