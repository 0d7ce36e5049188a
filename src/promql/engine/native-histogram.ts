// Native histograms as the engine computes with them: sparse bucket maps (index → count) for
// exponential schemas (bucket i covers (2^((i-1)·2^-s), 2^(i·2^-s)]) and custom bounds (schema -53).
// Addition brings both sides to the coarser schema and the wider zero bucket, as Prometheus does.

import type { FloatHistogram, HistogramSpan } from '../../tsdb/types.ts';
import { formatGoFloat } from '../../logql/syntax/numbers.ts';
import { kahanMean } from './range-functions.ts';

export const CUSTOM_BUCKETS_SCHEMA = -53;

export interface NativeHistogram {
  schema: number;
  zeroThreshold: number;
  zeroCount: number;
  count: number;
  sum: number;
  positive: Map<number, number>;
  negative: Map<number, number>;
  customValues: number[] | undefined;
  counterResetHint: 'unknown' | 'reset' | 'not_reset' | 'gauge';
}

export interface HistogramBucket {
  lower: number;
  upper: number;
  count: number;
  /** The zero bucket of an exponential histogram. */
  isZero: boolean;
}

export type CombineProblem = 'mixed-schemas' | 'reconciled' | undefined;

export function usesCustomBuckets(h: NativeHistogram): boolean {
  return h.schema === CUSTOM_BUCKETS_SCHEMA;
}

function spansToMap(spans: HistogramSpan[], buckets: number[]): Map<number, number> {
  const out = new Map<number, number>();
  let index = 0;
  let k = 0;
  for (const span of spans) {
    index += span.offset;
    for (let j = 0; j < span.length && k < buckets.length; j++, index++, k++) out.set(index, buckets[k]!);
  }
  return out;
}

function mapToSpans(map: Map<number, number>): { spans: HistogramSpan[]; buckets: number[] } {
  const indexes = [...map.keys()].filter((i) => map.get(i) !== 0).sort((a, b) => a - b);
  const spans: HistogramSpan[] = [];
  const buckets: number[] = [];
  let next = 0;
  for (const index of indexes) {
    const last = spans[spans.length - 1];
    if (last !== undefined && index === next) last.length++;
    else spans.push({ offset: spans.length === 0 ? index : index - next, length: 1 });
    buckets.push(map.get(index)!);
    next = index + 1;
  }
  return { spans, buckets };
}

export function fromFloatHistogram(h: FloatHistogram): NativeHistogram {
  return {
    schema: h.schema,
    zeroThreshold: h.zeroThreshold,
    zeroCount: h.zeroCount,
    count: h.count,
    sum: h.sum,
    positive: spansToMap(h.positiveSpans, h.positiveBuckets),
    negative: spansToMap(h.negativeSpans, h.negativeBuckets),
    customValues: h.customValues,
    counterResetHint: h.counterResetHint ?? 'unknown',
  };
}

export function toFloatHistogram(h: NativeHistogram): FloatHistogram {
  const positive = mapToSpans(h.positive);
  const negative = mapToSpans(h.negative);
  return {
    schema: h.schema,
    zeroThreshold: h.zeroThreshold,
    zeroCount: h.zeroCount,
    count: h.count,
    sum: h.sum,
    positiveSpans: positive.spans,
    positiveBuckets: positive.buckets,
    negativeSpans: negative.spans,
    negativeBuckets: negative.buckets,
    ...(h.customValues ? { customValues: h.customValues } : {}),
    counterResetHint: h.counterResetHint,
  };
}

export function copyHistogram(h: NativeHistogram): NativeHistogram {
  return { ...h, positive: new Map(h.positive), negative: new Map(h.negative) };
}

/** Upper bound of exponential bucket `index` at `schema` (positive side). */
export function exponentialBound(index: number, schema: number): number {
  if (schema <= 0) return 2 ** (index * 2 ** -schema);
  return 2 ** (index / 2 ** schema);
}

/** Index at the coarser `target` schema that bucket `index` falls into. */
function targetIndex(index: number, schema: number, target: number): number {
  return ((index - 1) >> (schema - target)) + 1;
}

function reduceMap(map: Map<number, number>, schema: number, target: number): Map<number, number> {
  if (schema === target) return new Map(map);
  const out = new Map<number, number>();
  for (const [index, count] of map) {
    const t = targetIndex(index, schema, target);
    out.set(t, (out.get(t) ?? 0) + count);
  }
  return out;
}

/** Moves buckets that lie entirely inside a widened zero bucket into the zero count. */
function widenZeroBucket(h: NativeHistogram, zeroThreshold: number): void {
  if (zeroThreshold <= h.zeroThreshold) return;
  for (const side of [h.positive, h.negative]) {
    for (const [index, count] of side) {
      if (exponentialBound(index, h.schema) <= zeroThreshold) {
        h.zeroCount += count;
        side.delete(index);
      }
    }
  }
  h.zeroThreshold = zeroThreshold;
}

function atSchema(h: NativeHistogram, schema: number): NativeHistogram {
  return { ...h, schema, positive: reduceMap(h.positive, h.schema, schema), negative: reduceMap(h.negative, h.schema, schema) };
}

/** Custom buckets mapped onto a subset of their bounds (each bucket into the first bound ≥ its upper). */
function remapCustom(h: NativeHistogram, bounds: number[]): NativeHistogram {
  const cv = h.customValues ?? [];
  const positive = new Map<number, number>();
  for (const [index, count] of h.positive) {
    const upper = index < cv.length ? cv[index]! : Infinity;
    let target = bounds.findIndex((b) => b >= upper);
    if (target === -1) target = bounds.length;
    positive.set(target, (positive.get(target) ?? 0) + count);
  }
  return { ...h, positive, customValues: bounds };
}

function sameBounds(a: number[] | undefined, b: number[] | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/** a + b·factor (factor 1 adds, -1 subtracts). */
export function combine(a: NativeHistogram, b: NativeHistogram, factor: number): { result: NativeHistogram | undefined; problem: CombineProblem } {
  if (usesCustomBuckets(a) !== usesCustomBuckets(b)) return { result: undefined, problem: 'mixed-schemas' };
  let left = a;
  let right = b;
  let problem: CombineProblem;
  if (usesCustomBuckets(a)) {
    if (!sameBounds(a.customValues, b.customValues)) {
      const common = (a.customValues ?? []).filter((v) => (b.customValues ?? []).includes(v));
      left = remapCustom(a, common);
      right = remapCustom(b, common);
      problem = 'reconciled';
    }
  } else {
    const schema = Math.min(a.schema, b.schema);
    left = atSchema(a, schema);
    right = atSchema(b, schema);
    const zeroThreshold = Math.max(a.zeroThreshold, b.zeroThreshold);
    widenZeroBucket(left, zeroThreshold);
    widenZeroBucket(right, zeroThreshold);
  }
  const result = copyHistogram(left);
  result.count += factor * right.count;
  result.sum += factor * right.sum;
  result.zeroCount += factor * right.zeroCount;
  for (const [index, count] of right.positive) result.positive.set(index, (result.positive.get(index) ?? 0) + factor * count);
  for (const [index, count] of right.negative) result.negative.set(index, (result.negative.get(index) ?? 0) + factor * count);
  result.counterResetHint = 'unknown';
  return { result, problem };
}

/**
 * The mean of histograms from their sum; when the sum overflows (counts near 1e308), the incremental
 * mean instead (mean += h/n - mean/n), as upstream does for floats and histograms alike.
 */
export function averageHistograms(total: NativeHistogram, histograms: NativeHistogram[]): NativeHistogram {
  if (finiteHistogram(total) || !histograms.every(finiteHistogram)) return scaleHistogram(total, 1 / histograms.length);
  let mean = histograms[0]!;
  for (let k = 1; k < histograms.length; k++) {
    const n = k + 1;
    const delta = combine(scaleHistogram(histograms[k]!, 1 / n), scaleHistogram(mean, 1 / n), -1).result;
    const next = delta === undefined ? undefined : combine(mean, delta, 1).result;
    if (next === undefined) return scaleHistogram(total, 1 / histograms.length);
    mean = next;
  }
  // The sum field by the floats' compensated mean: the incremental one loses large values that cancel.
  return { ...mean, sum: kahanMean(histograms.map((h) => h.sum), 0, histograms.length), counterResetHint: total.counterResetHint };
}

function finiteHistogram(h: NativeHistogram): boolean {
  if (!Number.isFinite(h.count) || !Number.isFinite(h.zeroCount)) return false;
  for (const count of h.positive.values()) if (!Number.isFinite(count)) return false;
  for (const count of h.negative.values()) if (!Number.isFinite(count)) return false;
  return true;
}

/**
 * Re-adds the scalar fields of a sum of histograms with Kahan compensation, so that large values
 * that cancel (1e100 + 3.1 - 1e100) keep the small ones, as Prometheus' compensated histogram sums do.
 */
export function compensateScalarSums(total: NativeHistogram, parts: NativeHistogram[]): NativeHistogram {
  const kahan = (pick: (h: NativeHistogram) => number): number => {
    let sum = 0;
    let c = 0;
    for (const h of parts) {
      const x = pick(h);
      const t = sum + x;
      if (!Number.isFinite(t)) c = 0;
      else if (Math.abs(sum) >= Math.abs(x)) c += sum - t + x;
      else c += x - t + sum;
      sum = t;
    }
    return Number.isFinite(sum) ? sum + c : sum;
  };
  return { ...total, sum: kahan((h) => h.sum), count: kahan((h) => h.count) };
}

export function scaleHistogram(h: NativeHistogram, factor: number): NativeHistogram {
  const out = copyHistogram(h);
  out.count *= factor;
  out.sum *= factor;
  out.zeroCount *= factor;
  for (const [index, count] of out.positive) out.positive.set(index, count * factor);
  for (const [index, count] of out.negative) out.negative.set(index, count * factor);
  return out;
}

/** All buckets in ascending order of their bounds, including empty ones' absence (only counted ones). */
export function allBuckets(h: NativeHistogram): HistogramBucket[] {
  const out: HistogramBucket[] = [];
  if (usesCustomBuckets(h)) {
    const cv = h.customValues ?? [];
    for (const index of [...h.positive.keys()].sort((a, b) => a - b)) {
      out.push({ lower: index === 0 ? -Infinity : cv[index - 1]!, upper: index < cv.length ? cv[index]! : Infinity, count: h.positive.get(index)!, isZero: false });
    }
    return out;
  }
  for (const index of [...h.negative.keys()].sort((a, b) => b - a)) {
    out.push({ lower: -exponentialBound(index, h.schema), upper: -exponentialBound(index - 1, h.schema), count: h.negative.get(index)!, isZero: false });
  }
  if (h.zeroCount !== 0 || h.zeroThreshold > 0) out.push({ lower: -h.zeroThreshold, upper: h.zeroThreshold, count: h.zeroCount, isZero: true });
  for (const index of [...h.positive.keys()].sort((a, b) => a - b)) {
    out.push({ lower: exponentialBound(index - 1, h.schema), upper: exponentialBound(index, h.schema), count: h.positive.get(index)!, isZero: false });
  }
  return out;
}

/**
 * The histogram as upstream's FloatHistogram.String() prints it (count_values uses it as a label
 * value): `{count:20, sum:10, [-2,-1):2, [-0.001,0.001]:2, (0.5,1]:1}`, Go %g numbers, negative
 * buckets from the most negative, empty buckets left out.
 */
export function histogramText(h: NativeHistogram): string {
  const parts = [`count:${formatGoFloat(h.count)}`, `sum:${formatGoFloat(h.sum)}`];
  for (const bucket of allBuckets(h)) {
    if (bucket.count === 0) continue;
    const [open, close] = bucket.isZero ? ['[', ']'] : bucket.upper <= 0 && !usesCustomBuckets(h) ? ['[', ')'] : ['(', ']'];
    parts.push(`${open}${formatGoFloat(bucket.lower)},${formatGoFloat(bucket.upper)}${close}:${formatGoFloat(bucket.count)}`);
  }
  return `{${parts.join(', ')}}`;
}

/** Whether `current` starts over relative to `previous` (a counter reset). */
export function detectReset(current: NativeHistogram, previous: NativeHistogram): boolean {
  if (current.counterResetHint === 'reset') return true;
  if (current.counterResetHint === 'not_reset') return false;
  if (current.count < previous.count) return true;
  if (usesCustomBuckets(current) !== usesCustomBuckets(previous)) return true;
  if (current.schema > previous.schema) return true;
  if (current.zeroThreshold < previous.zeroThreshold) return true;
  const schema = Math.min(current.schema, previous.schema);
  let cur = usesCustomBuckets(current) ? current : atSchema(current, schema);
  let prev = usesCustomBuckets(previous) ? previous : atSchema(previous, schema);
  if (usesCustomBuckets(current) && !sameBounds(current.customValues, previous.customValues)) {
    // Changed custom bounds are no reset by themselves: both are compared on the bounds they share.
    const common = (current.customValues ?? []).filter((v) => (previous.customValues ?? []).includes(v));
    cur = remapCustom(current, common);
    prev = remapCustom(previous, common);
  }
  if (cur.zeroCount < prev.zeroCount) return true;
  for (const [side, prevSide] of [[cur.positive, prev.positive], [cur.negative, prev.negative]] as const) {
    for (const [index, count] of prevSide) if ((side.get(index) ?? 0) < count) return true;
  }
  return false;
}

export function histogramsEqual(a: NativeHistogram, b: NativeHistogram): boolean {
  if (a.schema !== b.schema || a.zeroThreshold !== b.zeroThreshold || a.zeroCount !== b.zeroCount || a.count !== b.count) return false;
  if (!(a.sum === b.sum || (Number.isNaN(a.sum) && Number.isNaN(b.sum)))) return false;
  if (!sameBounds(a.customValues, b.customValues)) return false;
  for (const [x, y] of [[a.positive, b.positive], [a.negative, b.negative]] as const) {
    const keys = new Set([...x.keys(), ...y.keys()]);
    for (const k of keys) if ((x.get(k) ?? 0) !== (y.get(k) ?? 0)) return false;
  }
  return true;
}
