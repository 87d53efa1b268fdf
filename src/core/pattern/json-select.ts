/**
 * @module A selective JSON scanner: walks JSON text and reports only the leaf values at paths in
 * the trie, skipping every other subtree without building it. It checks structure (brackets,
 * strings, separators) but not every token inside skipped parts; input is expected to be JSON.
 */
import { ErrorCode, HomeostatError } from '../errors.js';
import { BACKSLASH, CLOSE_ARRAY, CLOSE_OBJECT, COLON, COMMA, OPEN_ARRAY, OPEN_OBJECT, QUOTE } from '../json-chars.js';
import type { Membership } from './flatten.js';
import type { PathNode } from './path-trie.js';
import type { Leaf } from './values.js';

export type OnValue = (slot: number, value: Leaf, membership: Membership) => void;

const EMPTY: Membership = [];

function malformed(pos: number, what: string): HomeostatError {
  return new HomeostatError(ErrorCode.MALFORMED_JSON, `malformed JSON at position ${pos}: ${what}`);
}

/** One scanner per matcher; `scan` is not re-entrant. */
export class JsonScanner {
  private text = '';
  private pos = 0;
  private arrays = 0;

  constructor(private readonly onValue: OnValue) {}

  /** Scans `text`, calling `onValue` for each leaf at a trie path. */
  scan(text: string, root: PathNode): void {
    this.text = text;
    this.pos = 0;
    this.arrays = 0;
    if (this.ws() !== OPEN_OBJECT) throw malformed(this.pos, 'an event is a JSON object');
    this.object(root, EMPTY);
    this.ws();
    if (this.pos < text.length) throw malformed(this.pos, 'unexpected text after the event');
    this.text = '';
  }

  private ws(): number {
    const text = this.text;
    let pos = this.pos;
    let c = text.charCodeAt(pos);
    while (c === 32 || c === 10 || c === 13 || c === 9) c = text.charCodeAt(++pos);
    this.pos = pos;
    return c;
  }

  /** Moves past the string starting at `pos`. */
  private skipString(): void {
    const text = this.text;
    let i = this.pos + 1;
    for (;;) {
      const q = text.indexOf('"', i);
      if (q < 0) throw malformed(this.pos, 'unterminated string');
      let k = q - 1;
      while (text.charCodeAt(k) === BACKSLASH) k--;
      // An even number of backslashes before the quote: it ends the string.
      if ((q - 1 - k) % 2 === 0) {
        this.pos = q + 1;
        return;
      }
      i = q + 1;
    }
  }

  private readString(): string {
    const start = this.pos;
    this.skipString();
    const raw = this.text.slice(start, this.pos);
    return raw.includes('\\') ? (JSON.parse(raw) as string) : raw.slice(1, -1);
  }

  private skipValue(): void {
    const c = this.ws();
    if (c === QUOTE) {
      this.skipString();
      return;
    }
    if (c !== OPEN_OBJECT && c !== OPEN_ARRAY) {
      this.scalarEnd();
      return;
    }
    const text = this.text;
    const len = text.length;
    let depth = 0;
    let pos = this.pos;
    for (;;) {
      const d = text.charCodeAt(pos);
      if (d === QUOTE) {
        this.pos = pos;
        this.skipString();
        pos = this.pos;
        continue;
      }
      if (d === OPEN_OBJECT || d === OPEN_ARRAY) depth++;
      else if (d === CLOSE_OBJECT || d === CLOSE_ARRAY) depth--;
      else if (pos >= len) throw malformed(pos, 'unexpected end');
      pos++;
      if (depth === 0) break;
    }
    this.pos = pos;
  }

  /** Moves past a number or literal; returns its start. */
  private scalarEnd(): number {
    const text = this.text;
    const start = this.pos;
    let pos = start;
    let c = text.charCodeAt(pos);
    while (c !== COMMA && c !== CLOSE_OBJECT && c !== CLOSE_ARRAY && c > 32) c = text.charCodeAt(++pos);
    if (pos === start) throw malformed(pos, 'expected a value');
    this.pos = pos;
    return start;
  }

  private readScalar(): Leaf {
    const start = this.scalarEnd();
    const raw = this.text.slice(start, this.pos);
    if (raw === 'true') return true;
    if (raw === 'false') return false;
    if (raw === 'null') return null;
    const first = raw.charCodeAt(0);
    const n = Number(raw);
    if (Number.isNaN(n) || !(first === 45 || (first >= 48 && first <= 57))) throw malformed(start, `bad token ${raw}`);
    return n;
  }

  private value(node: PathNode, membership: Membership): void {
    const c = this.ws();
    if (c === OPEN_OBJECT) {
      if (node.hasChildren) this.object(node, membership);
      else this.skipValue();
    } else if (c === OPEN_ARRAY) {
      if (node.slot < 0 && !node.hasChildren) this.skipValue();
      else this.array(node, membership);
    } else if (node.slot < 0) {
      this.skipValue();
    } else {
      this.onValue(node.slot, c === QUOTE ? this.readString() : this.readScalar(), membership);
    }
  }

  private array(node: PathNode, membership: Membership): void {
    this.pos++;
    const id = this.arrays++;
    if (this.ws() === CLOSE_ARRAY) {
      this.pos++;
      return;
    }
    for (let i = 0; ; i++) {
      this.value(node, [...membership, id, i]);
      const c = this.ws();
      this.pos++;
      if (c === CLOSE_ARRAY) return;
      if (c !== COMMA) throw malformed(this.pos - 1, "expected ',' or ']'");
    }
  }

  private object(node: PathNode, membership: Membership): void {
    this.pos++;
    if (this.ws() === CLOSE_OBJECT) {
      this.pos++;
      return;
    }
    const { children, dotted } = node;
    for (;;) {
      if (this.ws() !== QUOTE) throw malformed(this.pos, 'expected a key');
      const key = this.readString();
      if (this.ws() !== COLON) throw malformed(this.pos, "expected ':'");
      this.pos++;
      const child = children.get(key) ?? dotted?.get(key);
      if (child) this.value(child, membership);
      else this.skipValue();
      const c = this.ws();
      this.pos++;
      if (c === CLOSE_OBJECT) return;
      if (c !== COMMA) throw malformed(this.pos - 1, "expected ',' or '}'");
    }
  }
}
