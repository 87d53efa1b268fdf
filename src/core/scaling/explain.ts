/** @module One sentence for a scaling decision: what the metric said, what was decided, and what held it back. */
import { formatDuration } from '../rules/manifest-reader.js';
import type { HoldReason, MaxStep, ScalingArithmetic, ScalingPolicySpec, StepSpec } from './types.js';

/** A number with at most 3 decimals. */
export function fmt(n: number): string {
  return String(Math.round(n * 1000) / 1000);
}

function stepAmount(step: MaxStep): string {
  return 'instances' in step ? String(step.instances) : `${step.percent}%`;
}

function stepText(step: StepSpec | undefined): string {
  if (step === undefined) return 'no step matched';
  return 'above' in step
    ? `above ${step.above}: add ${stepAmount(step.add)}`
    : `below ${step.below}: remove ${stepAmount(step.remove)}`;
}

/** What the metric said, up to the raw recommendation. */
function said(a: ScalingArithmetic): string {
  const value = a.value === undefined ? '' : `${a.metric} ${fmt(a.value)}`;
  const derived = a.derived === undefined ? '' : ` (${a.derived})`;
  if (a.mode === 'step-scaling') return `${value}: ${stepText(a.step)} → ${a.raw}`;
  if (a.ratio === undefined)
    return a.total === undefined ? '' : `${a.total} in total at target ${a.target} per instance → ${a.raw}`;
  return `${value}${derived} vs target ${fmt(a.target!)}: ${a.instances} × ${fmt(a.ratio)} → ${a.raw}`;
}

function outcome(a: ScalingArithmetic): string {
  if (a.desired > a.current) return `scale out ${a.current} → ${a.desired}`;
  if (a.desired < a.current) return `scale in ${a.current} → ${a.desired}`;
  return `stay at ${a.current}`;
}

function holdText(spec: ScalingPolicySpec, a: ScalingArithmetic, held: HoldReason): string {
  const s = a.stabilization;
  switch (held) {
    case 'tolerance':
      return `ratio within 1 ± ${spec.tolerance}`;
    case 'stabilization':
      return s !== undefined && a.afterTolerance! < a.current
        ? `scale-in stabilization: ${s.highestInScaleInWindow} recommended within the last ${formatDuration(s.scaleInWindowMs)}`
        : `scale-out stabilization: only ${s?.lowestInScaleOutWindow} recommended throughout the last ${formatDuration(s?.scaleOutWindowMs ?? 0)}`;
    case 'cooldown':
      return `scale-${a.cooldown?.direction === 'up' ? 'out' : 'in'} cooldown, ${formatDuration(Math.max(0, a.cooldown?.remainingMs ?? 0))} left`;
    case 'max-step':
      return `max step ${a.maxStep}`;
    case 'bounds':
      return `bounds ${a.min}..${a.max}`;
    default:
      return held;
  }
}

/** The decision as one sentence, e.g. `data.rps 3000 (…) vs target 100: 3 × 10 → 30; scale out 3 → 7 (max step 4)`. */
export function explain(
  spec: ScalingPolicySpec,
  a: ScalingArithmetic,
  held: HoldReason | undefined,
  note?: string,
): string {
  if (a.mode === 'hold' && held === 'idle') return `no traffic for ${formatDuration(a.idleMs ?? 0)}: stay at zero`;
  if (a.mode === 'scale-to-zero') return `no traffic for ${formatDuration(a.idleMs ?? 0)}: scale in ${a.current} → 0`;
  const parts: string[] = [];
  const first = a.mode === 'hold' ? `no recommendation: ${note}` : said(a);
  if (first !== '') parts.push(first);
  if (a.mode === 'activation' && note !== undefined) parts.push(note);
  let text = `${parts.join('; ')}${parts.length > 0 ? '; ' : ''}${outcome(a)}`;
  const quiet = held === undefined || held === 'no-metric' || held === 'scale-to-zero-not-allowed';
  if (!quiet) text += ` (${holdText(spec, a, held)})`;
  if (note !== undefined && a.idleMs !== undefined) text += `; ${note}`;
  return text;
}
