/** @module ScalingPolicy: parse the manifest, read the metric from an event, decide the desired size with its arithmetic. */
export {
  parseScalingPolicy,
  SCALING_API_VERSION,
  SCALING_DEFAULTS,
  MAX_SCALING_WINDOW_MS,
  POLICY_NAME,
} from './parse.js';
export { MAX_PERCENT, MAX_STEPS } from './parse-steps.js';
export { DEFAULT_ACTIVITY_FIELDS, isActive, readMetric } from './metric.js';
export {
  MAX_RECOMMENDED,
  ceilish,
  decideScaling,
  matchStep,
  recordScale,
  scalingBounds,
  stepSize,
  type ScalingBounds,
} from './decide.js';
export { MAX_RECOMMENDATIONS, pushRecommendation, stabilize, windowExtremes } from './window.js';
export {
  EMPTY_SCALING_STATE,
  SCALING_POLICY_KIND,
  type DirectionSpec,
  type HoldReason,
  type MaxStep,
  type MetricReading,
  type MetricSpec,
  type Recommendation,
  type ScaleToZeroSpec,
  type ScalingArithmetic,
  type ScalingDecision,
  type ScalingDirection,
  type ScalingObservation,
  type ScalingPolicySpec,
  type ScalingState,
  type StepSpec,
} from './types.js';
