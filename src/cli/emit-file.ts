/** @module `homeostat emit --file`: JSON lines sent in batches, each result traced to its line. */
import { closeSync, createReadStream, openSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { ErrorCode, HomeostatError, type Problem } from '../core/errors.js';
import { type ApiResponse, type HomeostatClient, httpError } from './client.js';
import { note, out, printJson, usageError } from './output.js';

/** One entry of the POST /v1/events response. */
export interface EmitResult {
  readonly index: number;
  readonly status: 'accepted' | 'duplicate' | 'rejected';
  readonly id?: string;
  readonly source?: string;
  readonly offset?: number;
  readonly partition?: number;
  readonly problems?: readonly { pointer: string; message: string }[];
  readonly warnings?: readonly { pointer: string; message: string }[];
}

/** The POST /v1/events response body. */
export interface EmitResponse {
  readonly accepted: number;
  readonly duplicates: number;
  readonly rejected: number;
  readonly results: readonly EmitResult[];
}

/** At most this many events per request. */
const MAX_BATCH_EVENTS = 500;
/** Stay under the server's default 1 MiB request limit. */
const MAX_BATCH_BYTES = 900 * 1024;
const MAX_BACKPRESSURE_RETRIES = 10;
const BATCH_CONTENT_TYPE = 'application/cloudevents-batch+json';

interface Line {
  readonly line: number;
  readonly text: string;
}

interface Rejection {
  readonly line: number;
  readonly problems: readonly Problem[];
}

interface Tally {
  accepted: number;
  duplicates: number;
  rejected: Rejection[];
  sent: number;
}

/** Sends every event in `path` ('-' for stdin); exits 1 (by throwing) if any was rejected. */
export async function emitFile(client: HomeostatClient, path: string, json: boolean): Promise<void> {
  const tally: Tally = { accepted: 0, duplicates: 0, rejected: [], sent: 0 };
  let batch: Line[] = [];
  let bytes = 0;
  for await (const entry of readLines(path)) {
    const problem = checkLine(entry.text);
    if (problem) {
      tally.rejected.push({ line: entry.line, problems: [problem] });
      continue;
    }
    if (batch.length >= MAX_BATCH_EVENTS || (batch.length > 0 && bytes + entry.text.length > MAX_BATCH_BYTES)) {
      await flush(client, batch, tally);
      batch = [];
      bytes = 0;
    }
    batch.push(entry);
    bytes += entry.text.length + 1;
  }
  if (batch.length > 0) await flush(client, batch, tally);
  report(tally, json);
}

async function* readLines(path: string): AsyncGenerator<Line> {
  const input = path === '-' ? process.stdin : openInput(path);
  const reader = createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY });
  let line = 0;
  for await (const text of reader) {
    line++;
    if (text.trim() !== '') yield { line, text };
  }
}

function openInput(path: string): NodeJS.ReadableStream {
  try {
    closeSync(openSync(path, 'r'));
  } catch (cause) {
    throw usageError(`--file: cannot read '${path}': ${(cause as Error).message}`, cause);
  }
  return createReadStream(path);
}

/** A problem if the line is not a JSON object; the server checks the rest. */
function checkLine(text: string): Problem | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (cause) {
    return { pointer: '', message: `not valid JSON: ${(cause as Error).message}` };
  }
  const isObject = typeof value === 'object' && value !== null && !Array.isArray(value);
  return isObject ? undefined : { pointer: '', message: 'must be a JSON object (one event per line)' };
}

async function flush(client: HomeostatClient, batch: readonly Line[], tally: Tally): Promise<void> {
  const results = await sendBatch(client, batch);
  for (const [i, result] of results.entries()) record(tally, batch[i]?.line ?? 0, result);
  tally.sent += batch.length;
  if (process.stderr.isTTY) process.stderr.write(`\rsent ${tally.sent} events`);
}

function record(tally: Tally, line: number, result: EmitResult): void {
  if (result.status === 'accepted') tally.accepted++;
  else if (result.status === 'duplicate') tally.duplicates++;
  else tally.rejected.push({ line, problems: result.problems ?? [] });
  for (const w of result.warnings ?? []) note(`line ${line}: warning: ${stripIndex(w.pointer)}: ${w.message}`);
}

/** Results per line; a request the server refuses as a whole is split until the culprit is alone. */
async function sendBatch(client: HomeostatClient, batch: readonly Line[]): Promise<EmitResult[]> {
  const res = await postWithBackpressure(client, batch);
  const body = res.body as Partial<EmitResponse> | undefined;
  if (Array.isArray(body?.results)) return [...body.results];
  if (res.status < 400) throw unexpected(res);
  if (![400, 413, 415].includes(res.status)) throw httpError(res, undefined);
  if (batch.length > 1) {
    const half = Math.ceil(batch.length / 2);
    return [...(await sendBatch(client, batch.slice(0, half))), ...(await sendBatch(client, batch.slice(half)))];
  }
  const err = httpError(res);
  const problems = err.problems.length > 0 ? err.problems : [{ pointer: '', message: err.message }];
  return [{ index: 0, status: 'rejected', problems }];
}

async function postWithBackpressure(client: HomeostatClient, batch: readonly Line[]): Promise<ApiResponse> {
  const body = `[${batch.map((l) => l.text).join(',')}]`;
  for (let attempt = 0; ; attempt++) {
    const res = await client.send('POST', '/v1/events', { body, contentType: BATCH_CONTENT_TYPE });
    if (res.status !== 429 || attempt >= MAX_BACKPRESSURE_RETRIES) return res;
    const seconds = Number(res.headers.get('retry-after') ?? '1');
    await sleep(Math.min(Number.isFinite(seconds) ? seconds * 1000 : 1000, 30_000));
  }
}

function unexpected(res: ApiResponse): HomeostatError {
  return new HomeostatError(ErrorCode.INTERNAL, `unexpected response from the server (HTTP ${res.status}, no results)`);
}

/** `/3/time` → `/time`: the batch index is replaced by the line number. */
function stripIndex(pointer: string): string {
  return pointer.replace(/^\/\d+/, '') || '/';
}

function report(tally: Tally, json: boolean): void {
  if (process.stderr.isTTY && tally.sent > 0) process.stderr.write('\r\x1b[K');
  const rejected = [...tally.rejected].sort((a, b) => a.line - b.line);
  if (json) {
    printJson({
      accepted: tally.accepted,
      duplicates: tally.duplicates,
      rejected: rejected.length,
      rejections: rejected,
    });
  } else {
    for (const r of rejected) note(`line ${r.line}: ${describe(r.problems)}`);
    out(`accepted ${tally.accepted}, duplicates ${tally.duplicates}, rejected ${rejected.length}`);
  }
  if (rejected.length > 0) {
    const shown = rejected.slice(0, 10).map((r) => r.line);
    const lines = shown.join(', ') + (rejected.length > shown.length ? ', …' : '');
    throw new HomeostatError(ErrorCode.EVENT_INVALID, `${rejected.length} event(s) rejected, on line(s) ${lines}`);
  }
}

function describe(problems: readonly Problem[]): string {
  if (problems.length === 0) return 'rejected';
  return problems.map((p) => `${stripIndex(p.pointer)}: ${p.message}`).join('; ');
}
