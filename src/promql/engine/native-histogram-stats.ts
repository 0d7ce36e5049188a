// Estimates from one native histogram: quantiles, the fraction of observations in a range, and the
// standard deviation. Exponential buckets interpolate exponentially inside a bucket, the zero bucket
// and custom buckets linearly, as Prometheus' histogram_quantile and histogram_fraction do.

import { kahanSumInc } from './float-math.ts';
import { allBuckets, copyHistogram, exponentialBound, usesCustomBuckets, type HistogramBucket, type NativeHistogram } from './native-histogram.ts';

function interpolate(bucket: HistogramBucket, fraction: number, custom: boolean): number {
  if (custom || bucket.isZero) return bucket.lower + (bucket.upper - bucket.lower) * fraction;
  const logLower = Math.log2(Math.abs(bucket.lower));
  const logUpper = Math.log2(Math.abs(bucket.upper));
  if (bucket.lower > 0) return 2 ** (logLower + (logUpper - logLower) * fraction);
  return -(2 ** (logUpper + (logLower - logUpper) * (1 - fraction)));
}

export function nativeHistogramQuantile(q: number, h: NativeHistogram): number {
  if (q < 0) return -Infinity;
  if (q > 1) return Infinity;
  if (h.count === 0 || Number.isNaN(q)) return NaN;
  const custom = usesCustomBuckets(h);
  const buckets = allBuckets(h).filter((b) => b.count !== 0);
  if (buckets.length === 0) return NaN;
  const forward = Number.isNaN(h.sum) || q < 0.5;
  const ordered = forward ? buckets : [...buckets].reverse();
  const rank = forward ? q * h.count : (1 - q) * h.count;
  let count = 0;
  let bucket = ordered[0]!;
  for (const b of ordered) {
    bucket = { ...b };
    count += b.count;
    if (count >= rank) break;
  }
  if (!custom && bucket.lower < 0 && bucket.upper > 0) {
    if (h.negative.size === 0 && h.positive.size > 0) bucket.lower = 0;
    else if (h.positive.size === 0 && h.negative.size > 0) bucket.upper = 0;
  } else if (custom) {
    if (bucket.lower === -Infinity) {
      if (bucket.upper <= 0) return bucket.upper;
      bucket.lower = 0;
    } else if (bucket.upper === Infinity) return bucket.lower;
  }
  if (count > h.count) count = h.count;
  // The rank lies beyond every bucket: only NaN observations (counted but in no bucket) get there.
  if (count < rank) return Number.isNaN(h.sum) ? NaN : bucket.upper;
  // Position of the rank inside the bucket, counted from its lower end.
  const inBucket = forward ? rank - (count - bucket.count) : bucket.count - (rank - (count - bucket.count));
  return interpolate(bucket, inBucket / bucket.count, custom);
}

/** Share of the bucket [lower, upper] that lies below `value`. */
function fractionBelow(bucket: HistogramBucket, value: number, custom: boolean): number {
  if (value <= bucket.lower) return 0;
  if (value >= bucket.upper) return 1;
  let lower = bucket.lower;
  const upper = bucket.upper;
  if (custom || bucket.isZero) {
    if (lower === -Infinity) {
      if (upper <= 0) return 1;
      lower = 0;
      if (value <= 0) return 0;
    }
    if (upper === Infinity) return 0;
    return (value - lower) / (upper - lower);
  }
  if (lower > 0) return (Math.log2(value) - Math.log2(lower)) / (Math.log2(upper) - Math.log2(lower));
  // Negative bucket: exponential from the upper (closer to zero) end.
  return 1 - (Math.log2(-value) - Math.log2(-upper)) / (Math.log2(-lower) - Math.log2(-upper));
}

export function nativeHistogramFraction(lower: number, upper: number, h: NativeHistogram): number {
  if (h.count === 0 || Number.isNaN(lower) || Number.isNaN(upper)) return NaN;
  if (lower >= upper) return 0;
  const custom = usesCustomBuckets(h);
  let rank = 0;
  for (const raw of allBuckets(h)) {
    const bucket = { ...raw };
    if (bucket.isZero) {
      if (h.negative.size === 0 && h.positive.size > 0) bucket.lower = 0;
      else if (h.positive.size === 0 && h.negative.size > 0) bucket.upper = 0;
    }
    rank += bucket.count * (fractionBelow(bucket, upper, custom) - fractionBelow(bucket, lower, custom));
  }
  return rank / h.count;
}

export function nativeHistogramVariance(h: NativeHistogram): number {
  if (h.count === 0) return NaN;
  const mean = h.sum / h.count;
  const custom = usesCustomBuckets(h);
  let variance = 0;
  let compensation = 0;
  for (const bucket of allBuckets(h)) {
    if (bucket.count === 0) continue;
    let value: number;
    if (custom) value = (bucket.upper + bucket.lower) / 2;
    else if (bucket.lower <= 0 && bucket.upper >= 0) value = 0;
    else {
      value = Math.sqrt(bucket.upper * bucket.lower);
      if (bucket.upper < 0) value = -value;
    }
    const delta = value - mean;
    [variance, compensation] = kahanSumInc(bucket.count * delta * delta, variance, compensation);
  }
  return (variance + compensation) / h.count;
}

/** A representative value for a (possibly trimmed) bucket: geometric mean for exponential buckets. */
function bucketMidpoint(lower: number, upper: number, exponential: boolean): number {
  if (!exponential) {
    if (lower === -Infinity) return upper;
    if (upper === Infinity) return lower;
    return (lower + upper) / 2;
  }
  const mid = Math.sqrt(Math.abs(lower) * Math.abs(upper));
  return upper <= 0 ? -mid : mid;
}

/**
 * The trim operators: `h </ x` keeps the observations at or below x, `h >/ x` those at or above it.
 * A bucket the cutoff falls into keeps its interpolated share; the sum is re-estimated from what is
 * left (an infinite cutoff that keeps everything leaves the histogram as it is).
 */
export function trimHistogram(h: NativeHistogram, cutoff: number, keepBelow: boolean): NativeHistogram {
  if ((keepBelow && cutoff === Infinity) || (!keepBelow && cutoff === -Infinity)) return h;
  const out = copyHistogram(h);
  const custom = usesCustomBuckets(h);
  let count = 0;
  let sum = 0;
  // Whether any observation was dropped or moved: a trim that keeps everything as it was leaves the
  // histogram as it came, its stored sum included (not one re-estimated from the buckets).
  let trimmed = false;
  const keep = (bucket: HistogramBucket, exponential: boolean): number => {
    const below = fractionBelow(bucket, cutoff, !exponential);
    const share = keepBelow ? below : 1 - below;
    if (share < 1 && bucket.count !== 0) trimmed = true;
    if (share <= 0) return 0;
    const lower = keepBelow ? bucket.lower : Math.max(bucket.lower, cutoff);
    const upper = keepBelow ? Math.min(bucket.upper, cutoff) : bucket.upper;
    const kept = bucket.count * share;
    count += kept;
    if (kept > 0) sum += kept * bucketMidpoint(lower, upper, exponential);
    return kept;
  };
  /** A bucket open at one end: whole or nothing, each kept observation counted at its closed bound or the cutoff, whichever is nearer the cutoff's side. */
  const keepWhole = (observations: number, at: number, moved: boolean): number => {
    if (moved && observations !== 0) trimmed = true;
    count += observations;
    sum += observations * at;
    return observations;
  };
  const drop = (observations: number): number => {
    if (observations !== 0) trimmed = true;
    return 0;
  };
  if (custom) {
    const cv = h.customValues ?? [];
    for (const [index, c] of h.positive) {
      const upper = index < cv.length ? cv[index]! : Infinity;
      const lower = index === 0 ? -Infinity : cv[index - 1]!;
      let kept: number;
      if (lower === -Infinity && upper === Infinity) kept = drop(c);
      else if (upper === Infinity) {
        // (lower, +Inf]: only a trim from below keeps it, whole.
        kept = keepBelow || cutoff === Infinity ? drop(c) : keepWhole(c, Math.max(lower, cutoff), cutoff > lower);
      } else if (lower === -Infinity && upper <= 0) {
        // (-Inf, upper]: only a trim from above keeps it, whole.
        kept = keepBelow ? keepWhole(c, Math.min(upper, cutoff), cutoff < upper) : drop(c);
      } else if (lower === -Infinity) {
        // The first bucket with a positive bound is taken to start at zero (as for quantiles), unless
        // the cutoff lies below zero, where its open lower end can't be split.
        kept = !keepBelow && cutoff < 0 ? drop(c) : keep({ lower: 0, upper, count: c, isZero: false }, false);
      } else kept = keep({ lower, upper, count: c, isZero: false }, false);
      out.positive.set(index, kept);
    }
  } else {
    for (const [index, c] of h.negative) {
      out.negative.set(index, keep({ lower: -exponentialBound(index, h.schema), upper: -exponentialBound(index - 1, h.schema), count: c, isZero: false }, true));
    }
    // A zero bucket beside buckets of one sign only covers that side of zero.
    const zeroLower = h.negative.size === 0 && h.positive.size > 0 ? 0 : -h.zeroThreshold;
    const zeroUpper = h.positive.size === 0 && h.negative.size > 0 ? 0 : h.zeroThreshold;
    out.zeroCount = keep({ lower: zeroLower, upper: zeroUpper, count: h.zeroCount, isZero: true }, false);
    for (const [index, c] of h.positive) {
      out.positive.set(index, keep({ lower: exponentialBound(index - 1, h.schema), upper: exponentialBound(index, h.schema), count: c, isZero: false }, true));
    }
  }
  if (!trimmed) return h;
  out.count = count;
  out.sum = sum;
  return out;
}
