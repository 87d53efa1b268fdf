/**
 * @module Manifest files for `apply`, `delete -f` and `rules test @file`: YAML (multi-document)
 * or JSON from files, directories or stdin, with each JSON pointer mapped back to file:line:col.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { type Document, isMap, isScalar, isSeq, LineCounter, type Node, parseAllDocuments } from 'yaml';
import { usageError } from './output.js';

/** One parsed document of a manifest file. */
export interface ManifestDocument {
  /** The file as given (`<stdin>` for '-'). */
  readonly file: string;
  /** 0-based position of the document in its file. */
  readonly index: number;
  readonly value: unknown;
  /** `file:line:col` of the node at a JSON pointer; the nearest existing ancestor when it is absent. */
  locate(pointer: string): string;
}

/** A document that could not be parsed: where and why. */
export interface ManifestSyntaxError {
  /** `file#index`: which document, so several errors of one document count once. */
  readonly document: string;
  readonly where: string;
  readonly message: string;
}

export interface ManifestFiles {
  readonly documents: readonly ManifestDocument[];
  readonly errors: readonly ManifestSyntaxError[];
}

const MANIFEST_FILE = /\.(ya?ml|json)$/i;
export const STDIN_NAME = '<stdin>';

/** The files a `-f` argument stands for: the file, every manifest in a directory (name order), or stdin. */
export function expandPath(path: string): string[] {
  if (path === '-') return ['-'];
  let isDir: boolean;
  try {
    isDir = statSync(path).isDirectory();
  } catch (cause) {
    throw usageError(`-f: cannot read '${path}': ${(cause as Error).message}`, cause);
  }
  if (!isDir) return [path];
  const names = readdirSync(path)
    .filter((n) => MANIFEST_FILE.test(n))
    .sort();
  if (names.length === 0) throw usageError(`-f: directory '${path}' has no *.yaml, *.yml or *.json files`);
  return names.map((n) => join(path, n));
}

function readText(path: string): string {
  try {
    return readFileSync(path === '-' ? 0 : path, 'utf8');
  } catch (cause) {
    throw usageError(`-f: cannot read '${path}': ${(cause as Error).message}`, cause);
  }
}

/** Reads and parses every document of every path (files, directories, '-'), in order. */
export function readManifestFiles(paths: readonly string[]): ManifestFiles {
  const documents: ManifestDocument[] = [];
  const errors: ManifestSyntaxError[] = [];
  for (const path of paths.flatMap(expandPath)) {
    const parsed = parseManifestText(readText(path), path === '-' ? STDIN_NAME : path);
    documents.push(...parsed.documents);
    errors.push(...parsed.errors);
  }
  return { documents, errors };
}

/** Parses YAML or JSON text holding one or more documents (`---` separated); empty documents are skipped. */
export function parseManifestText(text: string, file: string): ManifestFiles {
  const lineCounter = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter, prettyErrors: false });
  const list: Document.Parsed[] = Array.isArray(docs) ? docs : [];
  const at = (offset: number) => {
    const { line, col } = lineCounter.linePos(offset);
    return `${file}:${line}:${col}`;
  };
  const documents: ManifestDocument[] = [];
  const errors: ManifestSyntaxError[] = [];
  list.forEach((doc, index) => {
    if (doc.errors.length > 0) {
      for (const e of doc.errors)
        errors.push({ document: `${file}#${index}`, where: at(e.pos[0]), message: firstLine(e.message) });
      return;
    }
    if (doc.contents === null) return;
    const value: unknown = doc.toJS({ maxAliasCount: 100 });
    documents.push({ file, index, value, locate: (pointer) => at(offsetOf(doc, pointer)) });
  });
  return { documents, errors };
}

function firstLine(message: string): string {
  return message.split('\n')[0] ?? message;
}

/** Splits a JSON pointer into its unescaped segments. */
export function pointerSegments(pointer: string): string[] {
  if (pointer === '' || pointer === '/') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replaceAll('~1', '/').replaceAll('~0', '~'));
}

/** The source offset of the node a pointer names: a map entry's key, a list item, or the nearest ancestor. */
function offsetOf(doc: Document.Parsed, pointer: string): number {
  let node: Node | null = doc.contents;
  let offset = node?.range?.[0] ?? 0;
  for (const segment of pointerSegments(pointer)) {
    if (isMap(node)) {
      const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === segment);
      if (!pair) break;
      offset = (pair.key as Node).range?.[0] ?? offset;
      node = (pair.value as Node | null) ?? null;
    } else if (isSeq(node) && /^\d+$/.test(segment)) {
      const item = node.items[Number(segment)] as Node | undefined;
      if (!item) break;
      offset = item.range?.[0] ?? offset;
      node = item;
    } else {
      break;
    }
  }
  return offset;
}
