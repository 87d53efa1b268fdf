/**
 * @module Reversal counting for flap and loop detection: an action whose direction is the opposite
 * of the previous one on the same resource (up after down, start after stop, revert after change,
 * and the other way round) is a reversal. Pure.
 */
import type { ActionDirection } from './types.js';

const OPPOSITE: Readonly<Record<ActionDirection, ActionDirection | undefined>> = {
  up: 'down',
  down: 'up',
  stop: 'start',
  start: 'stop',
  change: 'revert',
  revert: 'change',
  none: undefined,
};

/** True when `b` undoes `a`. */
export function isReversal(a: ActionDirection, b: ActionDirection): boolean {
  return OPPOSITE[a] === b;
}

export interface Move {
  readonly policy: string;
  readonly direction: ActionDirection;
  readonly at: number;
}

/**
 * Reversals in `moves` (time order) whose later move is after `windowStart`, counting only pairs
 * of neighbours `pair` accepts (e.g. made by two different policies).
 */
export function countReversals(
  moves: readonly Move[],
  windowStart: number,
  pair: (a: Move, b: Move) => boolean = () => true,
): number {
  let n = 0;
  for (let i = 1; i < moves.length; i++) {
    const a = moves[i - 1]!;
    const b = moves[i]!;
    if (b.at > windowStart && isReversal(a.direction, b.direction) && pair(a, b)) n++;
  }
  return n;
}
