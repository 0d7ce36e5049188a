// Sample windows over one series: pointer movement over time-ordered arrays, the float/histogram
// split of a mixed series, staleness markers dropped from range input, and changes()/resets() across
// float and histogram samples. Pure functions used by the evaluator's range-vector code.

import type { SeriesSamples } from '../../tsdb/types.ts';
import { detectReset, fromFloatHistogram, histogramsEqual, type NativeHistogram } from './native-histogram.ts';
import type { WindowContext } from './range-functions.ts';
import type { RangeSeries } from './series.ts';

/** First index whose timestamp is > bound, starting the search at `from` (windows only move forward). */
export function advance(ts: Float64Array, from: number, bound: number): number {
  let i = from;
  while (i < ts.length && ts[i]! <= bound) i++;
  return i;
}

/** First index whose timestamp is > bound (binary search). */
export function upperBound(ts: Float64Array, bound: number): number {
  let lo = 0;
  let hi = ts.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (ts[mid]! <= bound) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export function minMax(values: Float64Array): [number, number] {
  let min = Infinity;
  let max = -Infinity;
  for (const v of values) {
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return [min, max];
}

/**
 * changes()/resets() over a series holding both floats and histograms (and the anchored sample
 * before the window): a switch between the two types counts as a change and as a reset.
 */
export function mixedTransitions(
  func: 'changes' | 'resets',
  floats: { timestampsMs: Float64Array; values: Float64Array },
  lo: number,
  hi: number,
  histograms: HistogramView,
  hLo: number,
  hHi: number,
  ctx: WindowContext,
): number | undefined {
  type Point = { t: number; value: number; histogram: NativeHistogram | undefined };
  const points: Point[] = [];
  for (let k = lo; k < hi; k++) points.push({ t: floats.timestampsMs[k]!, value: floats.values[k]!, histogram: undefined });
  for (let k = hLo; k < hHi; k++) points.push({ t: histograms.timestampsMs[k]!, value: NaN, histogram: histograms.values[k]! });
  if (points.length === 0) return undefined;
  if (ctx.modifier === 'anchored') {
    const start = ctx.refMs - ctx.rangeMs;
    const floatAnchor = lo > 0 ? floats.timestampsMs[lo - 1]! : -Infinity;
    const histogramAnchor = hLo > 0 ? histograms.timestampsMs[hLo - 1]! : -Infinity;
    const anchorT = Math.max(floatAnchor, histogramAnchor);
    if (anchorT <= start && anchorT > start - ctx.lookbackDeltaMs) {
      points.push(anchorT === floatAnchor
        ? { t: anchorT, value: floats.values[lo - 1]!, histogram: undefined }
        : { t: anchorT, value: NaN, histogram: histograms.values[hLo - 1]! });
    }
  }
  points.sort((a, b) => a.t - b.t);
  let count = 0;
  for (let k = 1; k < points.length; k++) {
    const previous = points[k - 1]!;
    const current = points[k]!;
    if ((previous.histogram === undefined) !== (current.histogram === undefined)) count++;
    else if (current.histogram !== undefined) {
      if (func === 'changes' ? !histogramsEqual(current.histogram, previous.histogram!) : detectReset(current.histogram, previous.histogram!)) count++;
    } else if (func === 'changes' ? current.value !== previous.value && !(Number.isNaN(current.value) && Number.isNaN(previous.value)) : current.value < previous.value) count++;
  }
  return count;
}

export interface HistogramView {
  timestampsMs: Float64Array;
  values: NativeHistogram[];
}

/** Whether a range series holds any native histogram sample (else its float samples are all of it). */
export function hasHistogramSamples(s: RangeSeries): boolean {
  return s.histograms !== undefined && s.histograms.some((h) => h !== undefined);
}

/** A range series' float samples and histogram samples as two time-ordered views. */
export function splitSamples(s: RangeSeries): { floats: { timestampsMs: Float64Array; values: Float64Array }; histograms: HistogramView | undefined } {
  if (s.histograms === undefined || !hasHistogramSamples(s)) return { floats: s, histograms: undefined };
  const floatIndexes: number[] = [];
  const histogramIndexes: number[] = [];
  s.histograms.forEach((h, i) => (h === undefined ? floatIndexes : histogramIndexes).push(i));
  return {
    floats: { timestampsMs: Float64Array.from(floatIndexes, (i) => s.timestampsMs[i]!), values: Float64Array.from(floatIndexes, (i) => s.values[i]!) },
    histograms: { timestampsMs: Float64Array.from(histogramIndexes, (i) => s.timestampsMs[i]!), values: histogramIndexes.map((i) => s.histograms![i]!) },
  };
}

export function withoutStaleMarkers(s: SeriesSamples): RangeSeries {
  const stale = s.stale;
  const clean = stale === undefined || !stale.includes(1);
  if (clean && s.histograms === undefined) {
    // Float samples with no marker: the TSDB's series itself (a RangeSeries in all but dropName,
    // absent meaning false), not a copy of it per series per query.
    const floatsOnly: Omit<SeriesSamples, 'histograms'> = s;
    return floatsOnly;
  }
  const histograms = s.histograms?.map((h) => h && fromFloatHistogram(h));
  if (clean) {
    return { labels: s.labels, timestampsMs: s.timestampsMs, values: s.values, dropName: false, ...(histograms ? { histograms } : {}) };
  }
  const keep: number[] = [];
  for (let i = 0; i < s.timestampsMs.length; i++) if (!stale![i]) keep.push(i);
  return {
    labels: s.labels,
    timestampsMs: Float64Array.from(keep, (i) => s.timestampsMs[i]!),
    values: Float64Array.from(keep, (i) => s.values[i]!),
    dropName: false,
    ...(histograms ? { histograms: keep.map((i) => histograms[i]) } : {}),
  };
}
