/** @module The ruler-bench data set: generated on demand, checked against its published digest. */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';

export const RULER_BENCH = join(import.meta.dirname, '..', '..', '..', 'shared', 'ruler-bench');
const DATA_FILE = join(import.meta.dirname, '..', 'data', 'citylots2.json.gz');

export interface ExpectedCounts {
  readonly dataset_sha256_uncompressed: string;
  readonly events: number;
  readonly groups: Readonly<Record<string, readonly number[]>>;
}

export function expectedCounts(): ExpectedCounts {
  return JSON.parse(readFileSync(join(RULER_BENCH, 'expected-counts.json'), 'utf8')) as ExpectedCounts;
}

/** The data set's JSON lines; generates the file first when it is missing (about 15 s). */
export function loadLines(expected: ExpectedCounts, say: (line: string) => void): string[] {
  if (!existsSync(DATA_FILE)) {
    say(`generating ${DATA_FILE} with gen_citylots2_synthetic.py (about 15 s) ...`);
    execFileSync('python3', [join(RULER_BENCH, 'gen_citylots2_synthetic.py'), DATA_FILE], { stdio: 'inherit' });
  }
  const text = gunzipSync(readFileSync(DATA_FILE)).toString('utf8');
  const digest = createHash('sha256').update(text).digest('hex');
  if (digest !== expected.dataset_sha256_uncompressed) {
    throw new Error(`${DATA_FILE}: sha256 ${digest} differs from expected-counts.json; delete it to regenerate`);
  }
  const lines = text.split('\n').filter((l) => l.length > 0);
  if (lines.length !== expected.events) throw new Error(`expected ${expected.events} events, read ${lines.length}`);
  return lines;
}
