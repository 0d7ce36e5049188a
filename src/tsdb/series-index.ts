// The inverted index over one tenant's series (in the head, and loaded from each block): postings per
// label pair, i.e. name → value → ascending series ids, as Prometheus' index keeps them. Selection
// intersects the postings of matchers that need the label and subtracts those of matchers that also
// match series without it (`a!="x"`, `a=~".*"`, `a=""`), as Prometheus' PostingsForMatchers does.

import { sameLabels } from '../push/labels.ts';
import { compileMatcher, type CompiledMatcher } from '../store/label-matcher.ts';
import type { Labels, MetricLabelMatcher } from './types.ts';

/**
 * One label pair's series ids, ascending, in a typed array grown by half (4 bytes an id, where a
 * JavaScript array of small integers takes 8 and grows by more).
 */
class Postings {
  ids = new Uint32Array(4);
  length = 0;

  view(): Uint32Array {
    return this.ids.subarray(0, this.length);
  }

  add(id: number): void {
    if (this.length > 0 && this.ids[this.length - 1]! >= id) {
      this.insert(id);
      return;
    }
    if (this.length === this.ids.length) this.grow();
    this.ids[this.length++] = id;
  }

  private grow(): void {
    const grown = new Uint32Array(Math.max(4, Math.ceil(this.ids.length * 1.5)));
    grown.set(this.ids.subarray(0, this.length));
    this.ids = grown;
  }

  private insert(id: number): void {
    let low = 0;
    let high = this.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (this.ids[mid]! < id) low = mid + 1;
      else high = mid;
    }
    if (low < this.length && this.ids[low] === id) return;
    if (this.length === this.ids.length) this.grow();
    this.ids.copyWithin(low + 1, low, this.length);
    this.ids[low] = id;
    this.length++;
  }

  /** Removes the ids in the set; returns how many are left. */
  removeAll(ids: ReadonlySet<number>): number {
    let write = 0;
    for (let read = 0; read < this.length; read++) {
      const id = this.ids[read]!;
      if (!ids.has(id)) this.ids[write++] = id;
    }
    this.length = write;
    return write;
  }
}

/**
 * The index keeps ids only (the series' labels are its owner's: the head's series, a block's series
 * table): a map from id to labels beside the postings cost the head ~40 bytes a series.
 */
export class SeriesIndex {
  /** name → value → ascending ids. */
  private readonly postings = new Map<string, Map<string, Postings>>();
  /** Every id, ascending. */
  private readonly all = new Postings();

  get size(): number {
    return this.all.length;
  }

  /** Ids are normally added in ascending order (the head's counter, a block's series order). */
  add(id: number, labels: Labels): void {
    this.all.add(id);
    for (const name in labels) {
      let values = this.postings.get(name);
      if (values === undefined) {
        values = new Map();
        this.postings.set(name, values);
      }
      const value = labels[name]!;
      let list = values.get(value);
      if (list === undefined) values.set(value, (list = new Postings()));
      list.add(id);
    }
  }

  /** Removes series (the head's garbage collection after a cut): one pass over every posting list. */
  remove(ids: ReadonlySet<number>): void {
    if (ids.size === 0) return;
    this.all.removeAll(ids);
    for (const [name, lists] of this.postings) {
      for (const [value, list] of lists) if (list.removeAll(ids) === 0) lists.delete(value);
      if (lists.size === 0) this.postings.delete(name);
    }
  }

  allIds(): number[] {
    return Array.from(this.all.view());
  }

  /** Ascending ids of the series matching every matcher. Throws MatcherError on a bad regex. */
  select(matchers: readonly MetricLabelMatcher[]): number[] {
    const compiled = matchers.map((matcher) => compileMatcher(matcher));
    // Narrow first with the matchers that need the label, cheapest (equality) first.
    const needing = compiled.filter((matcher) => !matcher.matchesEmpty);
    const allowingEmpty = compiled.filter((matcher) => matcher.matchesEmpty);
    needing.sort((a, b) => rank(matchers, a) - rank(matchers, b));
    let result: number[] | undefined;
    for (const matcher of needing) {
      const matched = this.unionOf(matcher, true);
      result = result === undefined ? matched : intersect(result, matched);
      if (result.length === 0) return result;
    }
    result ??= this.allIds();
    for (const matcher of allowingEmpty) {
      const excluded = this.unionOf(matcher, false);
      if (excluded.length > 0) result = subtract(result, excluded);
    }
    return result;
  }

  /** Union of the postings of the label's values that do (or do not) match. */
  private unionOf(matcher: CompiledMatcher, wanted: boolean): number[] {
    const values = this.postings.get(matcher.name);
    if (values === undefined) return [];
    const lists: Uint32Array[] = [];
    for (const [value, list] of values) if (matcher.matches(value) === wanted) lists.push(list.view());
    return unionAll(lists);
  }

  /** Label names, sorted; with `ids` (ascending), those of any of these series. */
  labelNames(ids?: readonly number[]): string[] {
    const names: string[] = [];
    for (const [name, values] of this.postings) {
      if (ids === undefined) names.push(name);
      else for (const list of values.values()) if (overlap(list.view(), ids)) {
        names.push(name);
        break;
      }
    }
    return names.sort();
  }

  /** The label's values, sorted; with `ids` (ascending), those of any of these series. */
  labelValues(name: string, ids?: readonly number[]): string[] {
    const values: string[] = [];
    for (const [value, list] of this.postings.get(name) ?? []) if (ids === undefined || overlap(list.view(), ids)) values.push(value);
    return values.sort();
  }

  /** Every (name, value, ids) triple, names and values ascending. */
  *postingEntries(): Generator<[string, string, ArrayLike<number>]> {
    for (const name of [...this.postings.keys()].sort()) {
      const values = this.postings.get(name)!;
      for (const value of [...values.keys()].sort()) yield [name, value, values.get(value)!.view()];
    }
  }
}

function rank(source: readonly MetricLabelMatcher[], matcher: CompiledMatcher): number {
  const type = source.find((candidate) => candidate.name === matcher.name)?.type;
  return type === '=' ? 0 : 1;
}

/** Whether two ascending id lists share an id. */
function overlap(a: ArrayLike<number>, b: ArrayLike<number>): boolean {
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const x = a[i]!;
    const y = b[j]!;
    if (x === y) return true;
    if (x < y) i++;
    else j++;
  }
  return false;
}

export function intersect(a: ArrayLike<number>, b: ArrayLike<number>): number[] {
  const out: number[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const x = a[i]!;
    const y = b[j]!;
    if (x === y) {
      out.push(x);
      i++;
      j++;
    } else if (x < y) i++;
    else j++;
  }
  return out;
}

export function subtract(a: ArrayLike<number>, b: ArrayLike<number>): number[] {
  const out: number[] = [];
  let j = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    while (j < b.length && b[j]! < x) j++;
    if (j >= b.length || b[j] !== x) out.push(x);
  }
  return out;
}

export function unionAll(lists: ReadonlyArray<ArrayLike<number>>): number[] {
  if (lists.length === 0) return [];
  if (lists.length === 1) return Array.from(lists[0]!);
  const merged: number[] = [];
  for (const list of lists) for (let i = 0; i < list.length; i++) merged.push(list[i]!);
  merged.sort((a, b) => a - b);
  let write = 0;
  for (let i = 0; i < merged.length; i++) if (i === 0 || merged[i] !== merged[i - 1]) merged[write++] = merged[i]!;
  merged.length = write;
  return merged;
}

/** The key identifying a label set: sorted pairs joined by noncharacters (U+FFFF, U+FFFE) that label text does not carry. */
export function seriesKey(labels: Labels): string {
  const names = Object.keys(labels).sort();
  let key = '';
  for (const name of names) key += name + '\uffff' + labels[name]! + '\ufffe';
  return key;
}

/** A 53-bit hash of a label set, independent of property order (two 32-bit hashes over sorted pairs). */
export function labelsHash(labels: Labels): number {
  const names = Object.keys(labels).sort();
  let h1 = 0x811c9dc5;
  let h2 = 0x27d4eb2f;
  for (const name of names) {
    const text = name + '\uffff' + labels[name]! + '\ufffe';
    for (let i = 0; i < text.length; i++) {
      const code = text.charCodeAt(i);
      h1 = Math.imul(h1 ^ code, 0x01000193);
      h2 = Math.imul(h2 ^ code, 0x5bd1e995);
      h2 ^= h2 >>> 15;
    }
  }
  return (h1 >>> 0) * 2097152 + ((h2 >>> 0) >>> 11);
}

/** Whether two label sets hold the same pairs (in any order); push/labels.ts', re-exported for the TSDB's callers. */
export { sameLabels };

/** Prometheus' labels.Compare: by sorted names, then values; a prefix sorts first. */
export function compareLabels(a: Labels, b: Labels): number {
  const aNames = Object.keys(a).sort();
  const bNames = Object.keys(b).sort();
  for (let i = 0; i < Math.min(aNames.length, bNames.length); i++) {
    const an = aNames[i]!;
    const bn = bNames[i]!;
    if (an !== bn) return an < bn ? -1 : 1;
    const av = a[an]!;
    const bv = b[bn]!;
    if (av !== bv) return av < bv ? -1 : 1;
  }
  return aNames.length - bNames.length;
}

const SMALL_HASH_RANGE = 2 ** 30;

/**
 * Entries keyed by label set through labelsHash, verified by comparing labels: a canonical key
 * string per series (~250 bytes for 8 labels) would cost more memory than the rest of its index entry.
 */
export class LabelSetMap<T extends { labels: Labels }> {
  /** Keyed by the hash's low 30 bits: a small integer, where a 53-bit key is a 16-byte heap number an entry. */
  private readonly entries = new Map<number, T | T[]>();
  size = 0;

  get(labels: Labels, hash = labelsHash(labels)): T | undefined {
    const found = this.entries.get(hash % SMALL_HASH_RANGE);
    if (found === undefined) return undefined;
    if (!Array.isArray(found)) return sameLabels(found.labels, labels) ? found : undefined;
    return found.find((entry) => sameLabels(entry.labels, labels));
  }

  /** Adds an entry whose label set is not present yet. */
  add(entry: T, hash = labelsHash(entry.labels)): void {
    const key = hash % SMALL_HASH_RANGE;
    const found = this.entries.get(key);
    if (found === undefined) this.entries.set(key, entry);
    else if (Array.isArray(found)) found.push(entry);
    else this.entries.set(key, [found, entry]);
    this.size++;
  }

  delete(entry: T, hash = labelsHash(entry.labels)): void {
    const key = hash % SMALL_HASH_RANGE;
    const found = this.entries.get(key);
    if (found === entry) this.entries.delete(key);
    else if (Array.isArray(found)) {
      const rest = found.filter((candidate) => candidate !== entry);
      if (rest.length === found.length) return;
      this.entries.set(key, rest.length === 1 ? rest[0]! : rest);
    } else return;
    this.size--;
  }

  *values(): Generator<T> {
    for (const found of this.entries.values()) {
      if (Array.isArray(found)) yield* found;
      else yield found;
    }
  }
}

/** Distinct label names of `series`, sorted: Prometheus' /labels answer over a selection. */
export function labelNamesOf(series: Iterable<Labels>): string[] {
  const names = new Set<string>();
  for (const labels of series) for (const name in labels) names.add(name);
  return [...names].sort();
}

/** Distinct values of label `name` in `series`, sorted: Prometheus' /label/<name>/values answer. */
export function labelValuesOf(series: Iterable<Labels>, name: string): string[] {
  const values = new Set<string>();
  for (const labels of series) {
    const value = labels[name];
    if (value !== undefined) values.add(value);
  }
  return [...values].sort();
}
