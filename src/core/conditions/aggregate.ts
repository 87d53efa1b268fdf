/** @module The arithmetic of window aggregates (avg, max, min, sum, p95, p99), each with a readable account of how it was computed. */
import type { AggregateFn, CompareOp } from './types.js';

/** An aggregate's value and the arithmetic behind it, for firing details and explanations. */
export interface AggregateResult {
  readonly value: number;
  readonly arithmetic: string;
}

/**
 * The `p`th percentile by the nearest-rank method: the ceil(p/100 × n)th smallest sample. It is
 * always one of the samples (no interpolation), so the arithmetic can name it.
 */
export function percentile(values: readonly number[], p: number): AggregateResult {
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  const value = sorted[rank - 1]!;
  return {
    value,
    arithmetic: `p${p} of ${sorted.length} samples = rank ceil(${p}% × ${sorted.length}) = ${rank} = ${value}`,
  };
}

/** Computes `fn` over a non-empty list of samples. */
export function aggregate(fn: AggregateFn, values: readonly number[]): AggregateResult {
  const n = values.length;
  switch (fn) {
    case 'sum':
    case 'avg': {
      const sum = values.reduce((a, b) => a + b, 0);
      if (fn === 'sum') return { value: sum, arithmetic: `sum of ${n} samples = ${sum}` };
      return { value: sum / n, arithmetic: `avg = ${sum} / ${n} samples = ${sum / n}` };
    }
    case 'max':
    case 'min': {
      const value = fn === 'max' ? Math.max(...values) : Math.min(...values);
      return { value, arithmetic: `${fn} of ${n} samples = ${value}` };
    }
    case 'p95':
      return percentile(values, 95);
    case 'p99':
      return percentile(values, 99);
  }
}

/** `left op right`. */
export function compare(left: number, op: CompareOp, right: number): boolean {
  switch (op) {
    case '>':
      return left > right;
    case '>=':
      return left >= right;
    case '<':
      return left < right;
    case '<=':
      return left <= right;
  }
}
