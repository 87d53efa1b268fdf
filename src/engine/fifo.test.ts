import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Fifo } from './fifo.js';

describe('Fifo', () => {
  it('behaves like an array used as a queue under any mix of push, unshift and shift', () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.integer(), fc.constant('shift' as const), fc.constant('front' as const))),
        (ops) => {
          const fifo = new Fifo<number>();
          const model: number[] = [];
          let n = 0;
          for (const op of ops) {
            if (op === 'shift') expect(fifo.shift()).toBe(model.shift());
            else if (op === 'front') {
              fifo.unshift(n);
              model.unshift(n++);
            } else {
              fifo.push(op);
              model.push(op);
            }
            expect(fifo.length).toBe(model.length);
            expect(fifo.peek()).toBe(model[0]);
          }
        },
      ),
    );
  });
});
