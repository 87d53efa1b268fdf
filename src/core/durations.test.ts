import { describe, expect, it } from 'vitest';
import { parseBytes, parseDuration } from './durations.js';

describe('units', () => {
  it('parses durations', () => {
    expect(parseDuration('250ms')).toBe(250);
    expect(parseDuration('30s')).toBe(30_000);
    expect(parseDuration('1.5m')).toBe(90_000);
    expect(parseDuration('24h')).toBe(86_400_000);
    expect(parseDuration('7d')).toBe(604_800_000);
    expect(parseDuration(5)).toBe(5);
  });

  it('parses sizes in decimal and binary units', () => {
    expect(parseBytes('256KiB')).toBe(262_144);
    expect(parseBytes('1MiB')).toBe(1_048_576);
    expect(parseBytes('10GB')).toBe(10_000_000_000);
    expect(parseBytes('0')).toBe(0);
  });

  it('names the field and shows an example on bad input', () => {
    expect(() => parseDuration('soon', 'log.dedupWindow')).toThrow(
      /log.dedupWindow: "soon" is not a valid value.*'30s'/,
    );
    expect(() => parseBytes('1 parsec', 'ingest.maxEventSize')).toThrow(/ingest.maxEventSize/);
    expect(() => parseDuration(-1, 'x')).toThrow(/x/);
  });
});
