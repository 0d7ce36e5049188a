// Series keyed by (part of) their label set without building a key string: a 30-bit hash of the
// labels picks a bucket, and the labels themselves are compared within it. Grouping for aggregation,
// vector matching and the merge of the final result once built a string per series for a Map key
// (name/value text joined with separators, so a concatenation per label and a flat copy for the
// lookup); in the server's 2 MB young generation that garbage was a scavenge every query or two of
// the compare bench's instant queries.

import type { Labels } from '../../push/types.ts';
import { sameLabels } from '../../tsdb/series-index.ts';

/** FNV-1a over UTF-16 code units, continuing from `hash`. */
export function hashText(text: string, hash: number): number {
  let h = hash;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  // A separator, so that ("ab", "c") and ("a", "bc") differ.
  return Math.imul(h ^ 0xff, 0x01000193);
}

export const HASH_SEED = 0x811c9dc5 | 0;

/** Keeps a hash a small integer (a Smi), which a Map holds without a heap number. */
const SMI_MASK = 0x3fffffff;

/** A label set's hash, whatever the order of its names: the sum of each name/value pair's hash. */
export function labelSetHash(labels: Labels): number {
  let sum = 0;
  for (const name in labels) sum = (sum + hashText(labels[name]!, hashText(name, HASH_SEED))) | 0;
  return sum & SMI_MASK;
}

/** The hash of the values of `names` (a missing label counts as an empty value), in that order. */
export function valuesHash(labels: Labels, names: readonly string[]): number {
  let h = HASH_SEED;
  for (let i = 0; i < names.length; i++) h = hashText(labels[names[i]!] ?? '', h);
  return h & SMI_MASK;
}

/** The same values for every one of `names` (a missing label equals an empty value). */
export function sameValues(a: Labels, b: Labels, names: readonly string[]): boolean {
  for (let i = 0; i < names.length; i++) {
    const name = names[i]!;
    if ((a[name] ?? '') !== (b[name] ?? '')) return false;
  }
  return true;
}

/** The hash of every label but `excluded` ones (order-independent, as labelSetHash). */
export function hashWithout(labels: Labels, excluded: readonly string[]): number {
  let sum = 0;
  for (const name in labels) {
    if (excluded.includes(name)) continue;
    sum = (sum + hashText(labels[name]!, hashText(name, HASH_SEED))) | 0;
  }
  return sum & SMI_MASK;
}

/** The same labels once `excluded` ones are left out of both. */
export function sameWithout(a: Labels, b: Labels, excluded: readonly string[]): boolean {
  let count = 0;
  for (const name in a) {
    if (excluded.includes(name)) continue;
    if (b[name] !== a[name]) return false;
    count++;
  }
  for (const name in b) if (!excluded.includes(name)) count--;
  return count === 0;
}

interface Entry<V> {
  labels: Labels;
  value: V;
  next: Entry<V> | undefined;
}

/**
 * A map from label sets, under an equivalence given by `hash` and `same` (equal sets, or equal on
 * some names). Iterates in insertion order.
 */
export class LabelSetTable<V> {
  private readonly buckets = new Map<number, Entry<V>>();
  private readonly entries: Array<Entry<V>> = [];
  private readonly hash: (labels: Labels) => number;
  private readonly same: (a: Labels, b: Labels) => boolean;

  constructor(hash: (labels: Labels) => number = labelSetHash, same: (a: Labels, b: Labels) => boolean = sameLabels) {
    this.hash = hash;
    this.same = same;
  }

  get size(): number {
    return this.entries.length;
  }

  get(labels: Labels): V | undefined {
    for (let entry = this.buckets.get(this.hash(labels)); entry !== undefined; entry = entry.next) {
      if (this.same(entry.labels, labels)) return entry.value;
    }
    return undefined;
  }

  /** The value for `labels`, or `create()`'s, stored under `labels` if it had none. */
  getOrAdd(labels: Labels, create: (labels: Labels) => V): V {
    const hash = this.hash(labels);
    const first = this.buckets.get(hash);
    for (let entry = first; entry !== undefined; entry = entry.next) {
      if (this.same(entry.labels, labels)) return entry.value;
    }
    const entry: Entry<V> = { labels, value: create(labels), next: first };
    this.buckets.set(hash, entry);
    this.entries.push(entry);
    return entry.value;
  }

  /** Stores `value` under `labels`, which must have no equivalent in the table yet. */
  add(labels: Labels, value: V): void {
    const hash = this.hash(labels);
    const entry: Entry<V> = { labels, value, next: this.buckets.get(hash) };
    this.buckets.set(hash, entry);
    this.entries.push(entry);
  }

  /** The first label set stored for the `index`-th entry, in insertion order (no iterator objects). */
  labelsAt(index: number): Labels {
    return this.entries[index]!.labels;
  }

  valueAt(index: number): V {
    return this.entries[index]!.value;
  }

  values(): V[] {
    const out = new Array<V>(this.entries.length);
    for (let i = 0; i < out.length; i++) out[i] = this.entries[i]!.value;
    return out;
  }
}
