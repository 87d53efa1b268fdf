/** @module Stateful rule conditions (`when`): parse the manifest form, keep per-group windows, fire. */
export { parseWhen, MAX_COUNT, MAX_WINDOW_MS } from './parse.js';
export { createConditionState, DEFAULT_MAX_GROUPS, type ConditionStateOptions } from './state.js';
export { aggregate, percentile, type AggregateResult } from './aggregate.js';
export { MAX_SAMPLES } from './kinds.js';
export {
  AggregateFn,
  CompareOp,
  whenKind,
  type AbsentWhen,
  type AggregateWhen,
  type ConditionState,
  type CountWhen,
  type Firing,
  type SequenceWhen,
  type SustainedWhen,
  type WhenCommon,
  type WhenKind,
  type WhenSpec,
} from './types.js';
