/** @module The JSONPath subset transforms use: `$`, `$.a.b`, `$.a[0].b`, `$['odd key']`. */

/** A parsed path: property names and array indexes, from the root. */
export type JsonPath = readonly (string | number)[];

/** Longest accepted path text. */
export const MAX_PATH_LENGTH = 512;

const NAME_STOP = new Set(['.', '[', ']', '*', ' ', '\t', '\n', '\r', "'", '"']);

/** Parses a path; returns the reason (with the position) as a string when it is not valid. */
export function parseJsonPath(text: string): JsonPath | string {
  if (text.length > MAX_PATH_LENGTH) return `is longer than ${MAX_PATH_LENGTH} characters`;
  if (text[0] !== '$') return `must start with '$' (e.g. $.data.status)`;
  const out: (string | number)[] = [];
  let i = 1;
  while (i < text.length) {
    const step = text[i] === '.' ? parseName(text, i + 1) : text[i] === '[' ? parseBracket(text, i + 1) : undefined;
    if (step === undefined) return `unexpected '${text[i]}' at character ${i + 1}; expected '.name' or '[...]'`;
    if (typeof step === 'string') return step;
    out.push(step.segment);
    i = step.next;
  }
  return out;
}

type Step = { readonly segment: string | number; readonly next: number } | string;

function parseName(text: string, start: number): Step {
  let i = start;
  while (i < text.length && !NAME_STOP.has(text[i]!)) i++;
  if (text[i] === '*') return `wildcards are not supported (character ${i + 1}); name each field`;
  if (i === start) return `empty name at character ${start + 1}; use ['...'] for keys with dots, spaces or brackets`;
  return { segment: text.slice(start, i), next: i };
}

function parseBracket(text: string, start: number): Step {
  const quote = text[start];
  if (quote === "'" || quote === '"') return parseQuoted(text, start + 1, quote);
  const m = /^(0|[1-9]\d{0,8})\]/.exec(text.slice(start));
  if (!m) {
    const what =
      text[start] === '*' ? 'wildcards are not supported' : "expected an index like [0] or a key like ['name']";
    return `${what} at character ${start + 1}`;
  }
  return { segment: Number(m[1]), next: start + m[0].length };
}

function parseQuoted(text: string, start: number, quote: string): Step {
  let key = '';
  for (let i = start; i < text.length; i++) {
    const c = text[i]!;
    if (c === '\\' && i + 1 < text.length) {
      key += text[++i];
    } else if (c === quote) {
      if (text[i + 1] !== ']') return `expected ']' after the quoted key at character ${i + 2}`;
      return { segment: key, next: i + 2 };
    } else {
      key += c;
    }
  }
  return `unterminated quoted key starting at character ${start}`;
}

/** Writes a path back as text, in the shortest form that parses to the same segments. */
export function formatJsonPath(path: JsonPath): string {
  let out = '$';
  for (const s of path) {
    if (typeof s === 'number') out += `[${s}]`;
    else if (s !== '' && ![...s].some((c) => NAME_STOP.has(c))) out += `.${s}`;
    else out += `['${s.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}']`;
  }
  return out;
}

export type Resolved =
  | { readonly found: true; readonly value: unknown }
  /** `depth`: how many segments matched before the one that failed; `why` says how it failed. */
  | { readonly found: false; readonly depth: number; readonly why: string };

/** Follows a path into a JSON value. `null` is a present value; a missing key is not found. */
export function resolveJsonPath(root: unknown, path: JsonPath): Resolved {
  let cur = root;
  for (let depth = 0; depth < path.length; depth++) {
    const seg = path[depth]!;
    const at = formatJsonPath(path.slice(0, depth));
    if (typeof seg === 'number') {
      if (!Array.isArray(cur)) return { found: false, depth, why: `${at} is ${kindOf(cur)}, not an array` };
      if (seg >= cur.length) return { found: false, depth, why: `${at} has ${cur.length} elements, no [${seg}]` };
      cur = cur[seg] as unknown;
    } else {
      if (typeof cur !== 'object' || cur === null || Array.isArray(cur)) {
        return { found: false, depth, why: `${at} is ${kindOf(cur)}, not an object` };
      }
      if (!Object.hasOwn(cur, seg)) return { found: false, depth, why: `${at} has no '${seg}'` };
      cur = (cur as Record<string, unknown>)[seg];
    }
  }
  return { found: true, value: cur };
}

function kindOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') return 'an object';
  return `a ${typeof v}`;
}
