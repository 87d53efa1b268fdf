/** @module Seeded pseudo-random numbers (mulberry32): the only source of chance in the simulation. */

/** A deterministic random stream: the same seed gives the same sequence. */
export interface Random {
  /** A float in [0, 1). */
  next(): number;
  /** An integer in [0, n). */
  int(n: number): number;
  /** A float in [min, max). */
  between(min: number, max: number): number;
  /** Time (in the rate's unit) to the next event of a Poisson process with `rate` events per unit. */
  exponential(rate: number): number;
  /** A normally distributed value (Box-Muller), mean 0 and standard deviation 1. */
  normal(): number;
  /** An independent stream derived from this seed and `label` (not from the position in this stream). */
  fork(label: string): Random;
}

/** 32-bit FNV-1a of a string. */
function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** Turns a number or string seed into a 32-bit state. */
export function seedOf(seed: number | string): number {
  return typeof seed === 'number' && Number.isInteger(seed) ? seed >>> 0 : fnv1a(String(seed));
}

/** Creates a random stream from `seed`. */
export function createRandom(seed: number | string): Random {
  const base = seedOf(seed);
  let state = base;
  const next = (): number => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
  return {
    next,
    int: (n) => Math.floor(next() * n),
    between: (min, max) => min + (max - min) * next(),
    exponential: (rate) => -Math.log(1 - next()) / rate,
    normal: () => {
      const u = 1 - next();
      return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * next());
    },
    fork: (label) => createRandom(fnv1a(`${base}:${label}`)),
  };
}
