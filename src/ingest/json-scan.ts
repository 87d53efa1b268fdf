/**
 * @module One pass over a JSON body's bytes: checks its nesting depth before anything parses it, and
 * finds the byte range of each top-level array element so every event keeps its own JSON text.
 */

import { BACKSLASH, CLOSE_ARRAY, CLOSE_OBJECT, COMMA, OPEN_ARRAY, OPEN_OBJECT, QUOTE } from '../core/json-chars.js';

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

export interface JsonScan {
  /** True when objects/arrays nest deeper than the limit (nothing else is then reported). */
  readonly tooDeep: boolean;
  /** For a top-level array: [start, end) byte ranges of its elements, whitespace trimmed. */
  readonly elements?: readonly number[];
  /** For a top-level array: whether it closes exactly at the end of the text (else it is malformed). */
  readonly closed?: boolean;
  /** The trimmed range of the whole value. */
  readonly start: number;
  readonly end: number;
}

/** Skips a string starting at the opening quote; returns the index of the closing quote (or length). */
function skipString(buf: Uint8Array, i: number): number {
  const n = buf.length;
  for (i++; i < n; i++) {
    const c = buf[i]!;
    if (c === BACKSLASH) i++;
    else if (c === QUOTE) return i;
  }
  return n;
}

/**
 * Scans JSON text. Syntax is not fully checked here: JSON.parse of each range does that; a
 * malformed layout (e.g. a trailing comma) yields a range that JSON.parse rejects.
 */
export function scanJson(buf: Uint8Array, maxDepth: number): JsonScan {
  let start = 0;
  let end = buf.length;
  while (start < end && isSpace(buf[start]!)) start++;
  while (end > start && isSpace(buf[end - 1]!)) end--;
  const isArray = buf[start] === OPEN_ARRAY;
  const elements: number[] = [];
  let depth = 0;
  let elementStart = -1;
  let lastNonSpace = -1;
  let closed = false;
  for (let i = start; i < end; i++) {
    const c = buf[i]!;
    if (c === QUOTE) {
      if (depth === 1 && elementStart < 0) elementStart = i;
      i = skipString(buf, i);
      lastNonSpace = i;
      continue;
    }
    if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
      if (++depth > maxDepth) return { tooDeep: true, start, end };
      if (depth === 2 && elementStart < 0) elementStart = i;
    } else if (c === CLOSE_OBJECT || c === CLOSE_ARRAY) {
      if (depth === 1 && isArray && i === end - 1) {
        if (elementStart >= 0) elements.push(elementStart, lastNonSpace + 1);
        else if (elements.length > 0) elements.push(i, i);
        closed = true;
      }
      // Back at the top level before the last byte: something follows the value; not one array.
      if (--depth === 0 && isArray && i !== end - 1) return { tooDeep: false, elements, closed: false, start, end };
    } else if (depth === 1 && c === COMMA && isArray) {
      if (elementStart >= 0) elements.push(elementStart, lastNonSpace + 1);
      else elements.push(i, i);
      elementStart = -1;
      continue;
    } else if (isSpace(c)) {
      continue;
    } else if (depth === 1 && elementStart < 0) {
      elementStart = i;
    }
    lastNonSpace = i;
  }
  return isArray ? { tooDeep: false, elements, closed, start, end } : { tooDeep: false, start, end };
}
