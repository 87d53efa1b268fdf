/**
 * @module The trie of field paths patterns refer to, so a walk over an event visits only those.
 * Event keys that contain dots ("state.status") reach the same node as nesting does, because
 * event-ruler joins keys with '.': each node also maps every dotted run of descendant keys.
 */

export interface PathNode {
  readonly children: Map<string, PathNode>;
  /** Descendants two or more levels down, by their keys joined with '.'; null when none. */
  dotted: Map<string, PathNode> | null;
  /** The value slot of the path ending here, or -1. */
  slot: number;
  hasChildren: boolean;
}

function node(): PathNode {
  return { children: new Map(), dotted: null, slot: -1, hasChildren: false };
}

export class PathTrie {
  root: PathNode = node();
  private readonly slots = new Map<string, number>();

  add(path: string, slot: number): void {
    this.slots.set(path, slot);
    this.insert(this.root, path, slot);
  }

  remove(path: string): void {
    if (!this.slots.delete(path)) return;
    const root = node();
    for (const [p, s] of this.slots) this.insert(root, p, s);
    this.root = root;
  }

  private insert(root: PathNode, path: string, slot: number): void {
    const segments = path.split('.');
    const chain: PathNode[] = [root];
    let current = root;
    for (const segment of segments) {
      let next = current.children.get(segment);
      if (!next) {
        next = node();
        current.children.set(segment, next);
        current.hasChildren = true;
      }
      chain.push(next);
      current = next;
    }
    current.slot = slot;
    for (let from = 0; from < segments.length; from++) {
      for (let to = from + 2; to <= segments.length; to++) {
        const ancestor = chain[from]!;
        ancestor.dotted ??= new Map();
        ancestor.dotted.set(segments.slice(from, to).join('.'), chain[to]!);
      }
    }
  }
}
