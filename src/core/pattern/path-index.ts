/**
 * @module The index of every value matcher on one field path, across all patterns: given one
 * event value it reports the conditions it satisfies without looking at the others (hash maps
 * for exact, case-folded and affix values; lists only for ranges, globs, CIDRs and anything-but).
 */
import { type Cidr, cidrContains, mayBeIpv6, parseCidr, parseIp } from './ip.js';
import type { ValueMatcher } from './types.js';
import { compileGlob, exactKey, type Glob, globMatches, type Leaf, valueMatches } from './values.js';

type Hit = (cond: number) => void;

/** Maps keyed by affix length, so one lookup per distinct length finds every prefix (suffix). */
class AffixIndex {
  private readonly byLength = new Map<number, Map<string, number[]>>();
  private lengths: number[] = [];

  add(value: string, cond: number): void {
    let m = this.byLength.get(value.length);
    if (!m) {
      this.byLength.set(value.length, (m = new Map()));
      this.lengths = [...this.byLength.keys()].sort((a, b) => a - b);
    }
    push(m, value, cond);
  }

  remove(value: string, cond: number): void {
    const m = this.byLength.get(value.length);
    if (!m || !pull(m, value, cond) || m.size > 0) return;
    this.byLength.delete(value.length);
    this.lengths = [...this.byLength.keys()].sort((a, b) => a - b);
  }

  get empty(): boolean {
    return this.lengths.length === 0;
  }

  hits(value: string, suffix: boolean, hit: Hit): void {
    const lengths = this.lengths;
    for (let i = 0; i < lengths.length; i++) {
      const len = lengths[i]!;
      if (len > value.length) return;
      const key = suffix ? value.slice(value.length - len) : value.slice(0, len);
      const conds = this.byLength.get(len)!.get(key);
      if (conds) for (let j = 0; j < conds.length; j++) hit(conds[j]!);
    }
  }
}

function push<K>(m: Map<K, number[]>, key: K, cond: number): void {
  const list = m.get(key);
  if (list) list.push(cond);
  else m.set(key, [cond]);
}

/** Removes one occurrence; true when found. Drops the key when its list empties. */
function pull<K>(m: Map<K, number[]>, key: K, cond: number): boolean {
  const list = m.get(key);
  const at = list ? list.indexOf(cond) : -1;
  if (!list || at < 0) return false;
  list.splice(at, 1);
  if (list.length === 0) m.delete(key);
  return true;
}

interface Scanned<T> {
  readonly cond: number;
  readonly matcher: ValueMatcher;
  readonly prepared: T;
}

function removeScanned<T>(list: Scanned<T>[], cond: number, matcher: ValueMatcher): void {
  const at = list.findIndex((e) => e.cond === cond && e.matcher === matcher);
  if (at >= 0) list.splice(at, 1);
}

export class PathIndex {
  /** Value matchers registered here; the index is dropped when it reaches 0. */
  size = 0;
  private readonly strings = new Map<string, number[]>();
  private readonly numbers = new Map<number, number[]>();
  private readonly literals = new Map<boolean | null, number[]>();
  private readonly prefixes = new AffixIndex();
  private readonly prefixesCi = new AffixIndex();
  private readonly suffixes = new AffixIndex();
  private readonly suffixesCi = new AffixIndex();
  private readonly folded = new Map<string, number[]>();
  private readonly exists: number[] = [];
  private readonly globs: Scanned<Glob>[] = [];
  private readonly ranges: Scanned<null>[] = [];
  private readonly cidrs: Scanned<Cidr>[] = [];
  private readonly anythingBut: Scanned<null>[] = [];
  /** Exact string values that are IPv6 addresses: event strings must then be canonicalized. */
  private ipKeys = 0;

  /** The conditions sharing this (selective) matcher's key, when it is hashed; else undefined. */
  sharing(m: ValueMatcher): readonly number[] | undefined {
    switch (m.kind) {
      case 'exact':
        if (typeof m.value === 'string') return this.strings.get(m.value);
        if (typeof m.value === 'number') return this.numbers.get(m.value);
        return this.literals.get(m.value);
      case 'numeric':
        return m.lower !== undefined && m.lower === m.upper ? this.numbers.get(m.lower) : undefined;
      case 'equals-ignore-case':
        return this.folded.get(m.value.toLowerCase());
      default:
        return undefined;
    }
  }

  add(m: ValueMatcher, cond: number): void {
    this.size++;
    this.update(m, cond, true);
  }

  remove(m: ValueMatcher, cond: number): void {
    this.size--;
    this.update(m, cond, false);
  }

  private update(m: ValueMatcher, cond: number, add: boolean): void {
    const map = <K>(target: Map<K, number[]>, key: K): void => {
      if (add) push(target, key, cond);
      else pull(target, key, cond);
    };
    const affix = (target: AffixIndex, value: string): void => {
      if (add) target.add(value, cond);
      else target.remove(value, cond);
    };
    const scan = <T>(list: Scanned<T>[], prepared: T): void => {
      if (add) list.push({ cond, matcher: m, prepared });
      else removeScanned(list, cond, m);
    };
    switch (m.kind) {
      case 'exact':
        if (typeof m.value === 'string') {
          if (mayBeIpv6(m.value) && parseIp(m.value)) this.ipKeys += add ? 1 : -1;
          map(this.strings, m.value);
        } else if (typeof m.value === 'number') map(this.numbers, m.value);
        else map(this.literals, m.value);
        return;
      case 'prefix':
        return affix(m.ignoreCase ? this.prefixesCi : this.prefixes, m.ignoreCase ? m.value.toLowerCase() : m.value);
      case 'suffix':
        return affix(m.ignoreCase ? this.suffixesCi : this.suffixes, m.ignoreCase ? m.value.toLowerCase() : m.value);
      case 'equals-ignore-case':
        return map(this.folded, m.value.toLowerCase());
      case 'numeric':
        // `= n` is an exact number: hash it instead of scanning.
        if (m.lower !== undefined && m.lower === m.upper) return map(this.numbers, m.lower);
        return scan(this.ranges, null);
      case 'wildcard':
        return scan(this.globs, compileGlob(m.value));
      case 'cidr':
        return scan(this.cidrs, parseCidr(m.value)!);
      case 'anything-but':
        return scan(this.anythingBut, null);
      case 'exists':
        if (m.value) {
          if (add) this.exists.push(cond);
          else this.exists.splice(this.exists.indexOf(cond), 1);
        }
        return;
    }
  }

  /** Calls `hit` for every condition the present leaf `value` satisfies (possibly repeated). */
  hits(value: Leaf, hit: Hit): void {
    const exists = this.exists;
    for (let i = 0; i < exists.length; i++) hit(exists[i]!);
    if (typeof value === 'string') this.stringHits(value, hit);
    else if (typeof value === 'number') {
      each(this.numbers.get(value), hit);
      const ranges = this.ranges;
      for (let i = 0; i < ranges.length; i++) if (valueMatches(ranges[i]!.matcher, value)) hit(ranges[i]!.cond);
    } else each(this.literals.get(value), hit);
    const nots = this.anythingBut;
    for (let i = 0; i < nots.length; i++) if (valueMatches(nots[i]!.matcher, value)) hit(nots[i]!.cond);
  }

  private stringHits(value: string, hit: Hit): void {
    each(this.strings.get(this.ipKeys > 0 ? exactKey(value) : value), hit);
    if (!this.prefixes.empty) this.prefixes.hits(value, false, hit);
    if (!this.suffixes.empty) this.suffixes.hits(value, true, hit);
    if (this.folded.size > 0 || !this.prefixesCi.empty || !this.suffixesCi.empty) {
      const lower = value.toLowerCase();
      each(this.folded.get(lower), hit);
      if (!this.prefixesCi.empty) this.prefixesCi.hits(lower, false, hit);
      if (!this.suffixesCi.empty) this.suffixesCi.hits(lower, true, hit);
    }
    const globs = this.globs;
    for (let i = 0; i < globs.length; i++) if (globMatches(globs[i]!.prepared, value)) hit(globs[i]!.cond);
    if (this.cidrs.length > 0) {
      const ip = parseIp(value);
      if (ip) for (const c of this.cidrs) if (cidrContains(c.prepared, ip)) hit(c.cond);
    }
  }
}

function each(conds: number[] | undefined, hit: Hit): void {
  if (conds) for (let i = 0; i < conds.length; i++) hit(conds[i]!);
}
