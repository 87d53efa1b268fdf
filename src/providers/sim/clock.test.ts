import { describe, expect, it } from 'vitest';
import { createVirtualClock, SIM_EPOCH } from './clock.js';

describe('virtual clock', () => {
  it('starts at the simulation epoch and moves only when advanced', () => {
    const clock = createVirtualClock();
    expect(clock.now()).toBe(SIM_EPOCH);
    expect(clock.advance(1_500)).toBe(0);
    expect(clock.now()).toBe(SIM_EPOCH + 1_500);
  });

  it('runs timers in due-time order, ties in insertion order, each at its own time', () => {
    const clock = createVirtualClock(0);
    const ran: string[] = [];
    const note = (name: string) => () => ran.push(`${name}@${clock.now()}`);
    clock.at(300, note('c'));
    clock.after(100, note('a1'));
    clock.at(200, note('b'));
    clock.at(100, note('a2'));
    clock.after(100, note('a3'));
    expect(clock.advance(1_000)).toBe(5);
    expect(ran).toEqual(['a1@100', 'a2@100', 'a3@100', 'b@200', 'c@300']);
    expect(clock.now()).toBe(1_000);
  });

  it('runs only what is due within the window and leaves the rest pending', () => {
    const clock = createVirtualClock(0);
    const ran: number[] = [];
    clock.at(100, () => ran.push(100));
    clock.at(101, () => ran.push(101));
    clock.advance(100);
    expect(ran).toEqual([100]);
    expect(clock.pending).toBe(1);
    clock.advance(1);
    expect(ran).toEqual([100, 101]);
  });

  it('runs timers scheduled by timers inside the same advance, after the ones already due at that time', () => {
    const clock = createVirtualClock(0);
    const ran: string[] = [];
    clock.at(10, () => {
      ran.push('first');
      clock.after(0, () => ran.push('same-time child'));
      clock.after(5, () => ran.push(`child@${clock.now()}`));
    });
    clock.at(10, () => ran.push('second'));
    clock.advance(20);
    expect(ran).toEqual(['first', 'second', 'same-time child', 'child@15']);
  });

  it('repeats `every` timers at their interval until cancelled', () => {
    const clock = createVirtualClock(0);
    const times: number[] = [];
    const timer = clock.every(250, () => times.push(clock.now()));
    clock.advance(1_000);
    expect(times).toEqual([250, 500, 750, 1_000]);
    clock.cancel(timer);
    clock.advance(1_000);
    expect(times).toHaveLength(4);
    expect(clock.pending).toBe(0);
  });

  it('lets a repeating timer cancel itself from its own callback', () => {
    const clock = createVirtualClock(0);
    let runs = 0;
    const timer = clock.every(10, () => {
      runs++;
      if (runs === 3) clock.cancel(timer);
    });
    clock.advance(100);
    expect(runs).toBe(3);
  });

  it('does not run a cancelled timer, and cancelling twice or after it ran does nothing', () => {
    const clock = createVirtualClock(0);
    const ran: string[] = [];
    const a = clock.at(5, () => ran.push('a'));
    const b = clock.at(6, () => ran.push('b'));
    clock.cancel(a);
    clock.cancel(a);
    clock.advance(10);
    clock.cancel(b);
    expect(ran).toEqual(['b']);
  });

  it('runs a timer set in the past at the current time', () => {
    const clock = createVirtualClock(1_000);
    let at = 0;
    clock.at(10, () => (at = clock.now()));
    clock.advance(0);
    expect(at).toBe(1_000);
  });

  it('runUntil a predicate stops right after the timer that makes it true', () => {
    const clock = createVirtualClock(0);
    let count = 0;
    clock.every(100, () => count++);
    expect(clock.runUntil(() => count === 3)).toBe(true);
    expect(clock.now()).toBe(300);
  });

  it('runUntil gives up after its virtual-time limit when the predicate never holds', () => {
    const clock = createVirtualClock(0);
    clock.every(1_000, () => undefined);
    expect(clock.runUntil(() => false, { limitMs: 10_000 })).toBe(false);
    expect(clock.now()).toBe(10_000);
  });

  it('runUntil returns false at once when nothing is scheduled', () => {
    const clock = createVirtualClock(0);
    expect(clock.runUntil(() => false)).toBe(false);
    expect(clock.now()).toBe(0);
  });

  it('runUntil a time runs everything due up to it', () => {
    const clock = createVirtualClock(0);
    const ran: number[] = [];
    clock.at(50, () => ran.push(50));
    clock.at(150, () => ran.push(150));
    expect(clock.runUntil(100)).toBe(true);
    expect(ran).toEqual([50]);
    expect(clock.now()).toBe(100);
  });

  it('refuses to advance from inside a timer callback', () => {
    const clock = createVirtualClock(0);
    clock.at(1, () => clock.advance(1));
    expect(() => clock.advance(5)).toThrow(/inside a timer callback/);
  });

  it('rejects negative or non-finite times with the field named', () => {
    const clock = createVirtualClock(0);
    expect(() => clock.advance(-1)).toThrow(/ms: -1 must be a finite number/);
    expect(() => clock.after(Number.NaN, () => undefined)).toThrow(/delayMs/);
    expect(() => clock.every(0, () => undefined)).toThrow(/intervalMs: 0 must be a positive/);
  });

  it('keeps order across many timers (heap order equals a sorted reference)', () => {
    const clock = createVirtualClock(0);
    const ran: number[] = [];
    const expected: { due: number; i: number }[] = [];
    for (let i = 0; i < 2_000; i++) {
      const due = (i * 7_919) % 997;
      expected.push({ due, i });
      clock.at(due, () => ran.push(i));
    }
    clock.advance(1_000);
    expected.sort((a, b) => a.due - b.due || a.i - b.i);
    expect(ran).toEqual(expected.map((e) => e.i));
  });
});
