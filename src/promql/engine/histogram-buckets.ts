// Quantiles and fractions over classic histogram buckets (`le` series), as Prometheus computes them:
// buckets sorted by upper bound, equal bounds merged, counts forced monotonic, linear interpolation
// inside the bucket, and the first bucket starting at 0 when its bound is positive.

export interface Bucket {
  upperBound: number;
  count: number;
}

/** Counts within this relative distance are treated as equal (float noise from rate()). */
const SMALL_DELTA_TOLERANCE = 1e-12;

function prepare(buckets: Bucket[]): Bucket[] {
  buckets.sort((a, b) => a.upperBound - b.upperBound);
  const merged: Bucket[] = [];
  for (const b of buckets) {
    const last = merged[merged.length - 1];
    if (last !== undefined && last.upperBound === b.upperBound) last.count += b.count;
    else merged.push({ ...b });
  }
  return merged;
}

function almostEqual(a: number, b: number, epsilon: number): boolean {
  if (a === b) return true;
  const absSum = Math.abs(a) + Math.abs(b);
  const diff = Math.abs(a - b);
  if (a === 0 || b === 0 || absSum < Number.MIN_VALUE) return diff < epsilon * Number.MIN_VALUE;
  return diff / Math.min(absSum, Number.MAX_VALUE) < epsilon;
}

function ensureMonotonic(buckets: Bucket[]): boolean {
  let forced = false;
  let previous = buckets[0]!.count;
  for (let i = 1; i < buckets.length; i++) {
    const current = buckets[i]!.count;
    if (current === previous) continue;
    if (almostEqual(previous, current, SMALL_DELTA_TOLERANCE)) {
      buckets[i]!.count = previous;
      continue;
    }
    if (current < previous) {
      buckets[i]!.count = previous;
      forced = true;
      continue;
    }
    previous = current;
  }
  return forced;
}

export function bucketQuantile(q: number, input: Bucket[]): { value: number; forcedMonotonic: boolean } {
  if (Number.isNaN(q)) return { value: NaN, forcedMonotonic: false };
  if (q < 0) return { value: -Infinity, forcedMonotonic: false };
  if (q > 1) return { value: Infinity, forcedMonotonic: false };
  const sorted = [...input].sort((a, b) => a.upperBound - b.upperBound);
  if (sorted[sorted.length - 1]!.upperBound !== Infinity) return { value: NaN, forcedMonotonic: false };
  const buckets = prepare(sorted);
  const forcedMonotonic = ensureMonotonic(buckets);
  if (buckets.length < 2) return { value: NaN, forcedMonotonic };
  const observations = buckets[buckets.length - 1]!.count;
  if (observations === 0 || Number.isNaN(observations)) return { value: NaN, forcedMonotonic };
  let rank = q * observations;
  let b = 0;
  while (b < buckets.length - 1 && !(buckets[b]!.count >= rank)) b++;
  if (b === buckets.length - 1) return { value: buckets[buckets.length - 2]!.upperBound, forcedMonotonic };
  if (b === 0 && buckets[0]!.upperBound <= 0) return { value: buckets[0]!.upperBound, forcedMonotonic };
  let bucketStart = 0;
  const bucketEnd = buckets[b]!.upperBound;
  let count = buckets[b]!.count;
  if (b > 0) {
    bucketStart = buckets[b - 1]!.upperBound;
    count -= buckets[b - 1]!.count;
    rank -= buckets[b - 1]!.count;
  }
  return { value: bucketStart + (bucketEnd - bucketStart) * (rank / count), forcedMonotonic };
}

/** Estimated fraction of observations between lower and upper. */
export function bucketFraction(lower: number, upper: number, input: Bucket[]): number {
  const sorted = [...input].sort((a, b) => a.upperBound - b.upperBound);
  if (sorted[sorted.length - 1]!.upperBound !== Infinity) return NaN;
  const buckets = prepare(sorted);
  ensureMonotonic(buckets);
  const total = buckets[buckets.length - 1]!.count;
  if (total === 0 || Number.isNaN(lower) || Number.isNaN(upper)) return NaN;
  if (lower >= upper) return 0;
  const rankAt = (v: number): number => {
    let previousCount = 0;
    let previousBound = buckets[0]!.upperBound > 0 ? 0 : -Infinity;
    for (let i = 0; i < buckets.length; i++) {
      const b = buckets[i]!;
      if (i > 0) previousBound = buckets[i - 1]!.upperBound;
      if (v <= previousBound) return previousCount;
      if (v < b.upperBound) {
        // No interpolation in a bucket of infinite width: a first bucket (-Inf, ≤ 0] counts as wholly
        // below the value, the +Inf bucket as wholly above it (as for custom-bucket native histograms).
        if (previousBound === -Infinity) return b.count;
        if (b.upperBound === Infinity) return previousCount;
        return previousCount + ((b.count - previousCount) * (v - previousBound)) / (b.upperBound - previousBound);
      }
      previousCount = b.count;
    }
    return total;
  };
  return (rankAt(upper) - rankAt(lower)) / total;
}
