/** @module Human units for durations ('30s', '24h') and sizes ('256KiB', '1MiB'). */
import { ErrorCode, HomeostatError } from './errors.js';

const DURATION_UNITS: Readonly<Record<string, number>> = {
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

const SIZE_UNITS: Readonly<Record<string, number>> = {
  b: 1,
  kb: 1_000,
  mb: 1_000_000,
  gb: 1_000_000_000,
  kib: 1_024,
  mib: 1_048_576,
  gib: 1_073_741_824,
  tib: 1_099_511_627_776,
};

function parseUnit(
  raw: string | number,
  field: string,
  units: Readonly<Record<string, number>>,
  example: string,
): number {
  if (typeof raw === 'number' && Number.isFinite(raw) && raw >= 0) return raw;
  const m = typeof raw === 'string' ? /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(raw) : null;
  const factor = m ? units[(m[2] ?? '').toLowerCase() || Object.keys(units)[0]!] : undefined;
  if (!m || factor === undefined) {
    throw new HomeostatError(
      ErrorCode.INVALID,
      `${field}: ${JSON.stringify(raw)} is not a valid value; use a number with a unit (${Object.keys(units).join(', ')}), e.g. '${example}'`,
      { problems: [{ pointer: field, message: `expected e.g. '${example}'` }] },
    );
  }
  return Math.round(Number(m[1]) * factor);
}

/** Parses '250ms', '30s', '5m', '24h', '7d' (or a number of milliseconds) into milliseconds. */
export function parseDuration(raw: string | number, field = 'duration'): number {
  return parseUnit(raw, field, DURATION_UNITS, '30s');
}

/** Parses '256KiB', '1MiB', '10GB' (or a number of bytes) into bytes. */
export function parseBytes(raw: string | number, field = 'size'): number {
  return parseUnit(raw, field, SIZE_UNITS, '1MiB');
}

/** `ms` if it is a positive whole number of milliseconds; otherwise E_INVALID naming `what` (a caller's bug). */
export function checkWholeMs(ms: number, what: string): number {
  if (Number.isSafeInteger(ms) && ms > 0) return ms;
  throw new HomeostatError(
    ErrorCode.INVALID,
    `${what} must be a positive whole number of milliseconds; got ${String(ms)}`,
    { details: { value: ms } },
  );
}
