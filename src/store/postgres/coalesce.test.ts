import { describe, expect, it } from 'vitest';
import { coalescePerTurn } from './coalesce.js';

/** A query that answers `key * 10` for each key, after a macrotask, and records the keys it got. */
function recorder(fail?: (keys: readonly number[]) => boolean) {
  const queries: number[][] = [];
  const query = async (keys: readonly number[]): Promise<number[]> => {
    queries.push([...keys]);
    await new Promise((r) => setTimeout(r, 1));
    if (fail?.(keys)) throw new Error(`failed for ${keys.join(',')}`);
    return keys.map((k) => k * 10);
  };
  return { queries, query };
}

const turn = () => new Promise((r) => setImmediate(r));

describe('coalescePerTurn', () => {
  it('sends the keys asked for in one turn in one query and gives each caller its own answers', async () => {
    const r = recorder();
    const lookUp = coalescePerTurn(r.query);
    const answers = await Promise.all([lookUp([1]), lookUp([2, 3]), lookUp([4]), lookUp([5, 6, 7])]);
    expect(answers).toEqual([[10], [20, 30], [40], [50, 60, 70]]);
    expect(r.queries).toEqual([[1, 2, 3, 4, 5, 6, 7]]);
  });

  it('sends the calls of later turns in later queries', async () => {
    const r = recorder();
    const lookUp = coalescePerTurn(r.query);
    const first = lookUp([1]);
    await turn();
    const second = [lookUp([2]), lookUp([3])];
    expect(await first).toEqual([10]);
    expect(await Promise.all(second)).toEqual([[20], [30]]);
    expect(r.queries).toEqual([[1], [2, 3]]);
  });

  it('splits a turn into queries of at most maxKeys keys without splitting a call', async () => {
    const r = recorder();
    const lookUp = coalescePerTurn(r.query, 3);
    const answers = await Promise.all([
      lookUp([1, 2]),
      lookUp([3, 4]),
      lookUp([5]),
      lookUp([6, 7, 8, 9]),
      lookUp([10]),
    ]);
    expect(answers).toEqual([[10, 20], [30, 40], [50], [60, 70, 80, 90], [100]]);
    expect(r.queries).toEqual([[1, 2], [3, 4, 5], [6, 7, 8, 9], [10]]);
  });

  it('rejects the callers of a failed query only', async () => {
    const r = recorder((keys) => keys.includes(3));
    const lookUp = coalescePerTurn(r.query, 2);
    const results = await Promise.allSettled([lookUp([1, 2]), lookUp([3]), lookUp([4])]);
    expect(results.map((x) => x.status)).toEqual(['fulfilled', 'rejected', 'rejected']);
    expect((results[1] as PromiseRejectedResult).reason).toBeInstanceOf(Error);
    expect(r.queries).toEqual([
      [1, 2],
      [3, 4],
    ]);
  });

  it('rejects when the query throws instead of returning a promise', async () => {
    const lookUp = coalescePerTurn<number, number>(() => {
      throw new Error('no connection');
    });
    await expect(lookUp([1])).rejects.toThrow('no connection');
  });

  it('answers an empty call at once, without a query', async () => {
    const r = recorder();
    const lookUp = coalescePerTurn(r.query);
    expect(await lookUp([])).toEqual([]);
    expect(r.queries).toEqual([]);
  });
});
