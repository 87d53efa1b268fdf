import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isRfc3339 } from './event.js';

const REFERENCE = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?([Zz]|[+-](\d{2}):(\d{2}))$/;

/** A slow but obviously right reference for the hand-written checker. */
function reference(v: string): boolean {
  const m = REFERENCE.exec(v);
  if (!m) return false;
  const [y, mo, d, h, mi, s] = m.slice(1, 7).map(Number) as number[];
  if (mo! < 1 || mo! > 12 || h! > 23 || mi! > 59 || s! > 60) return false;
  // setUTCFullYear takes the year literally; Date.UTC would map years 0-99 to 1900-1999.
  const last = new Date(0);
  last.setUTCFullYear(y!, mo!, 0);
  if (d! < 1 || d! > last.getUTCDate()) return false;
  return m[9] === undefined || (Number(m[9]) <= 23 && Number(m[10]) <= 59);
}

describe('isRfc3339 agrees with a regex reference', () => {
  it('treats years 0-99 literally (0000 and 0004 are leap years, 0100 is not)', () => {
    for (const [v, ok] of [
      ['0000-02-29T00:00:00Z', true],
      ['0004-02-29T00:00:00Z', true],
      ['0100-02-29T00:00:00Z', false],
    ] as const) {
      expect(isRfc3339(v)).toBe(ok);
      expect(reference(v)).toBe(ok);
    }
  });

  it('on generated near-timestamps', () => {
    const part = (n: number, max: number) => fc.integer({ min: 0, max }).map((v) => String(v).padStart(n, '0'));
    const stamp = fc
      .tuple(
        part(4, 9999),
        part(2, 14),
        part(2, 33),
        fc.constantFrom('T', 't', ' '),
        part(2, 25),
        part(2, 61),
        part(2, 61),
        fc.constantFrom('', '.1', '.123456789', '.1234567890', '.'),
        fc.constantFrom('Z', 'z', '+01:00', '-23:59', '+24:00', '+01:60', '+0100', ''),
      )
      .map(([y, mo, d, t, h, mi, s, f, z]) => `${y}-${mo}-${d}${t}${h}:${mi}:${s}${f}${z}`);
    fc.assert(
      fc.property(stamp, (v) => isRfc3339(v) === reference(v)),
      { numRuns: 20_000 },
    );
  });

  it('on arbitrary strings', () => {
    fc.assert(
      fc.property(fc.string(), (v) => isRfc3339(v) === reference(v)),
      { numRuns: 5_000 },
    );
  });
});
