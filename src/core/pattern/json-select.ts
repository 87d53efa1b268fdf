/**
 * @module A selective JSON scanner: walks JSON text and reports only the leaf values at paths in
 * the trie, skipping every other subtree without building it. It checks structure (brackets,
 * strings, separators) but not every token inside skipped parts; input is expected to be JSON.
 */
import { ErrorCode, HomeostatError } from '../errors.js';
import type { Membership } from './flatten.js';
import type { PathNode } from './path-trie.js';
import type { Leaf } from './values.js';

export type OnValue = (slot: number, value: Leaf, membership: Membership) => void;

const QUOTE = 34;
const BACKSLASH = 92;
const OPEN_OBJECT = 123;
const CLOSE_OBJECT = 125;
const OPEN_ARRAY = 91;
const CLOSE_ARRAY = 93;
const COMMA = 44;
const COLON = 58;

function malformed(pos: number, what: string): HomeostatError {
  return new HomeostatError(ErrorCode.MALFORMED_JSON, `malformed JSON at position ${pos}: ${what}`);
}

const EMPTY: Membership = [];

/** Scans `text`, calling `onValue` for each leaf at a trie path. */
export function scanJson(text: string, root: PathNode, onValue: OnValue): void {
  let pos = 0;
  let arrays = 0;
  const len = text.length;

  const ws = (): number => {
    let c = text.charCodeAt(pos);
    while (c === 32 || c === 10 || c === 13 || c === 9) c = text.charCodeAt(++pos);
    return c;
  };

  /** Moves past a string starting at `pos` (on its quote); returns whether it had escapes. */
  const skipString = (): boolean => {
    let i = pos + 1;
    let escaped = false;
    for (;;) {
      const q = text.indexOf('"', i);
      if (q < 0) throw malformed(pos, 'unterminated string');
      let k = q - 1;
      while (text.charCodeAt(k) === BACKSLASH) k--;
      if (k < q - 1) escaped = true;
      if ((q - 1 - k) % 2 === 0) {
        pos = q + 1;
        return escaped;
      }
      i = q + 1;
    }
  };

  const readString = (): string => {
    const start = pos;
    const escaped = skipString();
    return escaped ? (JSON.parse(text.slice(start, pos)) as string) : text.slice(start + 1, pos - 1);
  };

  const skipValue = (): void => {
    const c = ws();
    if (c === QUOTE) {
      skipString();
      return;
    }
    if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
      let depth = 0;
      for (;;) {
        const d = text.charCodeAt(pos);
        if (d === QUOTE) {
          skipString();
          continue;
        }
        if (d === OPEN_OBJECT || d === OPEN_ARRAY) depth++;
        else if (d === CLOSE_OBJECT || d === CLOSE_ARRAY) depth--;
        else if (pos >= len) throw malformed(pos, 'unexpected end');
        pos++;
        if (depth === 0) return;
      }
    }
    readScalarText();
  };

  const readScalarText = (): string => {
    const start = pos;
    let c = text.charCodeAt(pos);
    while (pos < len && c !== COMMA && c !== CLOSE_OBJECT && c !== CLOSE_ARRAY && c > 32) c = text.charCodeAt(++pos);
    if (pos === start) throw malformed(pos, 'expected a value');
    return text.slice(start, pos);
  };

  const readScalar = (): Leaf => {
    const raw = readScalarText();
    if (raw === 'true') return true;
    if (raw === 'false') return false;
    if (raw === 'null') return null;
    const n = Number(raw);
    const first = raw.charCodeAt(0);
    if (Number.isNaN(n) || !(first === 45 || (first >= 48 && first <= 57))) throw malformed(pos, `bad token ${raw}`);
    return n;
  };

  const value = (node: PathNode, membership: Membership): void => {
    const c = ws();
    if (c === OPEN_OBJECT) {
      if (node.hasChildren) object(node, membership);
      else skipValue();
    } else if (c === OPEN_ARRAY) {
      array(node, membership);
    } else if (node.slot < 0) {
      skipValue();
    } else if (c === QUOTE) {
      onValue(node.slot, readString(), membership);
    } else {
      onValue(node.slot, readScalar(), membership);
    }
  };

  const array = (node: PathNode, membership: Membership): void => {
    if (node.slot < 0 && !node.hasChildren) {
      skipValue();
      return;
    }
    pos++;
    const id = arrays++;
    if (ws() === CLOSE_ARRAY) {
      pos++;
      return;
    }
    for (let i = 0; ; i++) {
      value(node, [...membership, id, i]);
      const c = ws();
      pos++;
      if (c === CLOSE_ARRAY) return;
      if (c !== COMMA) throw malformed(pos - 1, "expected ',' or ']'");
    }
  };

  const object = (node: PathNode, membership: Membership): void => {
    pos++;
    if (ws() === CLOSE_OBJECT) {
      pos++;
      return;
    }
    const { children, dotted } = node;
    for (;;) {
      if (ws() !== QUOTE) throw malformed(pos, 'expected a key');
      const key = readString();
      if (ws() !== COLON) throw malformed(pos, "expected ':'");
      pos++;
      const child = children.get(key) ?? dotted?.get(key);
      if (child) value(child, membership);
      else skipValue();
      const c = ws();
      pos++;
      if (c === CLOSE_OBJECT) return;
      if (c !== COMMA) throw malformed(pos - 1, "expected ',' or '}'");
    }
  };

  const first = ws();
  if (first === OPEN_OBJECT) object(root, EMPTY);
  else throw malformed(pos, 'an event is a JSON object');
  ws();
  if (pos < len) throw malformed(pos, 'unexpected text after the event');
}
