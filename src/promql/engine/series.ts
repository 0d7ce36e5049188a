// The engine's values. An instant vector over a query's steps is a list of series, each with a
// Float64Array of values and a presence mask (a PromQL vector has no sample for a series at some
// steps). Range vectors keep raw samples. Names are dropped late (Prometheus 3's delayed __name__
// removal): a series that will lose `__name__` carries `dropName` until the result is built.

import type { Labels } from '../../push/types.ts';
import type { NativeHistogram } from './native-histogram.ts';
import { LabelSetTable } from './label-set-table.ts';

export interface StepVectorSeries {
  labels: Labels;
  values: Float64Array;
  present: Uint8Array;
  dropName: boolean;
  /** Native histogram samples: where defined (and present), the step's sample is this histogram. */
  histograms?: Array<NativeHistogram | undefined>;
}

export interface RangeSeries {
  labels: Labels;
  timestampsMs: Float64Array;
  values: Float64Array;
  /** Absent (false) on a selector's samples passed on as they came from the TSDB. */
  dropName?: boolean;
  histograms?: Array<NativeHistogram | undefined>;
}

/** The histogram sample of a series at a step, if that sample is one. */
export function histogramAt(series: { histograms?: Array<NativeHistogram | undefined> }, index: number): NativeHistogram | undefined {
  return series.histograms === undefined ? undefined : series.histograms[index];
}

/** Copies the sample (float or histogram) at step `i` from one series to another. */
export function copyPoint(from: StepVectorSeries, to: StepVectorSeries, i: number): void {
  to.values[i] = from.values[i]!;
  to.present[i] = 1;
  const histogram = histogramAt(from, i);
  if (histogram !== undefined) setHistogram(to, i, histogram);
}

export function setHistogram(series: StepVectorSeries, index: number, histogram: NativeHistogram): void {
  series.histograms ??= new Array<NativeHistogram | undefined>(series.values.length);
  series.histograms[index] = histogram;
  series.present[index] = 1;
}

/** Evaluation times: startMs + i * stepMs for i < count. */
export interface StepGrid {
  startMs: number;
  stepMs: number;
  count: number;
}

export type EvalValue =
  | { kind: 'scalar'; values: Float64Array }
  | { kind: 'vector'; series: StepVectorSeries[] }
  | { kind: 'matrix'; series: RangeSeries[] }
  | { kind: 'string'; value: string };

export function newVectorSeries(labels: Labels, count: number, dropName = false): StepVectorSeries {
  return { labels, values: floatSlab.take(count), present: flagSlab.take(count), dropName };
}

/**
 * Step arrays are carved from shared slabs (views, zeroed, never handed out twice) instead of one
 * ArrayBuffer each: a range query makes two per series per stage, and every ArrayBuffer is off-heap
 * memory the garbage collector tracks one by one. A slab lives as long as any view into it.
 */
const SLAB_ELEMENTS = 1 << 16;

class StepSlab<A extends Float64Array | Uint8Array> {
  private readonly allocate: (length: number) => A;
  private slab: A;
  private used = 0;

  constructor(allocate: (length: number) => A) {
    this.allocate = allocate;
    this.slab = allocate(SLAB_ELEMENTS);
  }

  take(count: number): A {
    // Long grids get arrays of their own (the slab would mostly hold one of them).
    if (count > SLAB_ELEMENTS >> 4) return this.allocate(count);
    if (this.used + count > SLAB_ELEMENTS) {
      this.slab = this.allocate(SLAB_ELEMENTS);
      this.used = 0;
    }
    const view = this.slab.subarray(this.used, this.used + count) as A;
    this.used += count;
    return view;
  }
}

const floatSlab = new StepSlab((length) => new Float64Array(length));
const flagSlab = new StepSlab((length) => new Uint8Array(length));

export function stepTime(grid: StepGrid, index: number): number {
  return grid.startMs + index * grid.stepMs;
}

const SEPARATOR = '\xff';

/**
 * The label names in ascending order. An insertion sort in place: a label set has a handful of names,
 * and Array.prototype.sort allocates its work arrays on every call (on the compare bench's instant
 * rate over 660 series with unsorted stored names, 1 MB of garbage a query, a scavenge every other query
 * in the server's 2 MB young generation).
 */
export function sortedNames(labels: Labels): string[] {
  const names = Object.keys(labels);
  for (let i = 1; i < names.length; i++) {
    const name = names[i]!;
    let j = i - 1;
    while (j >= 0 && names[j]! > name) {
      names[j + 1] = names[j]!;
      j--;
    }
    names[j + 1] = name;
  }
  return names;
}

/** A string identifying a label set (names sorted). */
export function labelsKey(labels: Labels): string {
  // Stored label sets come with sorted names: build the key in one pass and sort only when not.
  let key = '';
  let previous = '';
  for (const name in labels) {
    if (name < previous) return sortedKey(labels);
    previous = name;
    key += name + SEPARATOR + labels[name] + SEPARATOR;
  }
  return key;
}

function sortedKey(labels: Labels): string {
  const names = sortedNames(labels);
  let key = '';
  for (const name of names) key += name + SEPARATOR + labels[name] + SEPARATOR;
  return key;
}

/** Labels with names in sorted order (so printing and JSON are stable); the same object when they are. */
export function sortedLabels(labels: Labels): Labels {
  let previous = '';
  let sorted = true;
  for (const name in labels) {
    if (name < previous) {
      sorted = false;
      break;
    }
    previous = name;
  }
  if (sorted) return labels;
  const out: Labels = {};
  for (const name of sortedNames(labels)) out[name] = labels[name]!;
  return out;
}

/** Drops the metric name, and with it the type and unit labels that describe it (`__type__`, `__unit__`). */
export function withoutName(labels: Labels): Labels {
  if (!('__name__' in labels) && !('__type__' in labels) && !('__unit__' in labels)) return labels;
  // Copied without them rather than deleted from a copy (`delete` leaves a slow dictionary-mode
  // object), names in sorted order so that the answer's sortedLabels has nothing left to do.
  // The kept names sorted in a reused array (an instant query renames every result series: an
  // Object.keys array and its iterator each were garbage per series).
  const names = keptNames;
  names.length = 0;
  for (const name in labels) {
    if (name === '__name__' || name === '__type__' || name === '__unit__') continue;
    let j = names.length - 1;
    while (j >= 0 && names[j]! > name) {
      names[j + 1] = names[j]!;
      j--;
    }
    names[j + 1] = name;
  }
  const out: Labels = {};
  for (let i = 0; i < names.length; i++) out[names[i]!] = labels[names[i]!]!;
  names.length = 0;
  return out;
}

const keptNames: string[] = [];

/** Prometheus' labels.Compare: by sorted name/value pairs, shorter set first on a common prefix. */
export function compareLabels(a: Labels, b: Labels): number {
  const an = sortedNames(a);
  const bn = sortedNames(b);
  const n = Math.min(an.length, bn.length);
  for (let i = 0; i < n; i++) {
    if (an[i] !== bn[i]) return an[i]! < bn[i]! ? -1 : 1;
    const av = a[an[i]!]!;
    const bv = b[bn[i]!]!;
    if (av !== bv) return av < bv ? -1 : 1;
  }
  return an.length - bn.length;
}

/** Sorts by label set in Prometheus' order (labels.Compare), computing each series' key once. */
export function sortByLabels<T extends { labels: Labels }>(items: T[]): T[] {
  // NUL separators make plain string order equal labels.Compare: a name that is a prefix of another
  // sorts first, and a shorter set that is a prefix of a longer one sorts first.
  const keyed = items.map((item) => {
    let key = '';
    for (const name of sortedNames(item.labels)) key += `${name}\x00${item.labels[name]}\x00`;
    return { key, item };
  });
  keyed.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return keyed.map((k) => k.item);
}

/** Prometheus' text form of a label set: `{__name__="a", b="c"}`. */
export function formatLabelSet(labels: Labels): string {
  const names = sortedNames(labels);
  return `{${names.map((name) => `${name}=${JSON.stringify(labels[name])}`).join(', ')}}`;
}

export class DuplicateLabelsetError extends Error {}

/**
 * Merges series that share a label set. Two series present at the same step cannot be merged: that
 * is Prometheus' "vector cannot contain metrics with the same labelset".
 */
export function mergeSameLabels(series: StepVectorSeries[], count: number): StepVectorSeries[] {
  if (series.length < 2) return series;
  // Each label set's place in `out`.
  const places = new LabelSetTable<number>();
  const out: StepVectorSeries[] = [];
  const copied: boolean[] = [];
  const nextPlace = (): number => out.length;
  for (const s of series) {
    const place = places.getOrAdd(s.labels, nextPlace);
    if (place === out.length) {
      out.push(s);
      continue;
    }
    const existing = out[place]!;
    if (existing === s) continue;
    let merged = existing;
    if (!copied[place]) {
      // Copy before writing: `existing` may be shared with another expression's value.
      copied[place] = true;
      merged = {
        labels: existing.labels,
        values: existing.values.slice(),
        present: existing.present.slice(),
        dropName: existing.dropName,
        ...(existing.histograms ? { histograms: existing.histograms.slice() } : {}),
      };
      out[place] = merged;
    }
    for (let i = 0; i < count; i++) {
      if (!s.present[i]) continue;
      if (merged.present[i]) throw new DuplicateLabelsetError('vector cannot contain metrics with the same labelset');
      merged.present[i] = 1;
      merged.values[i] = s.values[i]!;
      const histogram = histogramAt(s, i);
      if (histogram !== undefined) setHistogram(merged, i, histogram);
    }
  }
  return out;
}

export function hasAnyPoint(series: StepVectorSeries): boolean {
  for (let i = 0; i < series.present.length; i++) if (series.present[i]) return true;
  return false;
}
