// Functions over range windows (`rate(x[5m])`, `avg_over_time(x[1h])`): each kernel reads one
// window, samples [lo, hi) of a series' arrays, and returns the value at that step or undefined for no
// sample. The arithmetic follows Prometheus 3.x, including Kahan-compensated sums and rate
// extrapolation.

import { kahanSumInc, quantileOfSorted } from './float-math.ts';

export interface WindowContext {
  /** The evaluation time after offset and @ (the window is (refMs - rangeMs, refMs]). */
  refMs: number;
  rangeMs: number;
  /** Scalar arguments' values at this step (quantile_over_time's φ, predict_linear's t, …). */
  params: number[];
  /** `anchored` / `smoothed` range modifiers (experimental). */
  modifier: 'anchored' | 'smoothed' | undefined;
  /** The step's evaluation time (predict_linear predicts from it even under @ and offset). */
  stepMs: number;
  /** How far before the window an anchored/smoothed function may look for a sample. */
  lookbackDeltaMs: number;
}

export type WindowKernel = (ts: Float64Array, vs: Float64Array, lo: number, hi: number, ctx: WindowContext) => number | undefined;

function extrapolatedRate(ts: Float64Array, vs: Float64Array, lo: number, hi: number, ctx: WindowContext, isCounter: boolean, isRate: boolean): number | undefined {
  const count = hi - lo;
  if (count < 2) return undefined;
  const rangeStart = ctx.refMs - ctx.rangeMs;
  const rangeEnd = ctx.refMs;
  let result = vs[hi - 1]! - vs[lo]!;
  if (isCounter) {
    let previous = vs[lo]!;
    for (let i = lo + 1; i < hi; i++) {
      const value = vs[i]!;
      if (value < previous) result += previous;
      previous = value;
    }
  }
  const firstT = ts[lo]!;
  const lastT = ts[hi - 1]!;
  let durationToStart = (firstT - rangeStart) / 1000;
  let durationToEnd = (rangeEnd - lastT) / 1000;
  const sampledInterval = (lastT - firstT) / 1000;
  const averageDurationBetweenSamples = sampledInterval / (count - 1);
  const extrapolationThreshold = averageDurationBetweenSamples * 1.1;
  if (durationToStart >= extrapolationThreshold) durationToStart = averageDurationBetweenSamples / 2;
  if (isCounter) {
    // A counter cannot go below zero: don't extrapolate the start past the point where it would.
    let durationToZero = durationToStart;
    if (result > 0 && vs[lo]! >= 0) durationToZero = sampledInterval * (vs[lo]! / result);
    if (durationToZero < durationToStart) durationToStart = durationToZero;
  }
  if (durationToEnd >= extrapolationThreshold) durationToEnd = averageDurationBetweenSamples / 2;
  let factor = (sampledInterval + durationToStart + durationToEnd) / sampledInterval;
  if (isRate) factor /= ctx.rangeMs / 1000;
  return result * factor;
}

function instantRate(ts: Float64Array, vs: Float64Array, lo: number, hi: number, isRate: boolean): number | undefined {
  if (hi - lo < 2) return undefined;
  const last = vs[hi - 1]!;
  const previous = vs[hi - 2]!;
  let result = isRate && last < previous ? last : last - previous;
  const intervalMs = ts[hi - 1]! - ts[hi - 2]!;
  if (intervalMs === 0) return undefined;
  if (isRate) result /= intervalMs / 1000;
  return result;
}

/** Least-squares slope and intercept (at `interceptTimeMs`), Kahan-compensated, as Prometheus. */
export function linearRegression(ts: Float64Array, vs: Float64Array, lo: number, hi: number, interceptTimeMs: number): [number, number] {
  let n = 0;
  let sumX = 0, cX = 0, sumY = 0, cY = 0, sumXY = 0, cXY = 0, sumX2 = 0, cX2 = 0;
  const initY = vs[lo]!;
  let constY = true;
  for (let i = lo; i < hi; i++) {
    const y = vs[i]!;
    if (constY && i > lo && y !== initY) constY = false;
    n += 1;
    const x = (ts[i]! - interceptTimeMs) / 1000;
    [sumX, cX] = kahanSumInc(x, sumX, cX);
    [sumY, cY] = kahanSumInc(y, sumY, cY);
    [sumXY, cXY] = kahanSumInc(x * y, sumXY, cXY);
    [sumX2, cX2] = kahanSumInc(x * x, sumX2, cX2);
  }
  if (constY) {
    if (!Number.isFinite(initY) && !Number.isNaN(initY)) return [NaN, NaN];
    return [0, initY];
  }
  sumX += cX;
  sumY += cY;
  sumXY += cXY;
  sumX2 += cX2;
  const covXY = sumXY - (sumX * sumY) / n;
  const varX = sumX2 - (sumX * sumX) / n;
  const slope = covXY / varX;
  const intercept = sumY / n - (slope * sumX) / n;
  return [slope, intercept];
}

/** Neumaier-compensated sum of values[lo, hi), without a tuple per addition (hot in *_over_time). */
export function neumaierSum(values: ArrayLike<number>, lo: number, hi: number): number {
  let sum = 0;
  let c = 0;
  for (let i = lo; i < hi; i++) {
    const v = values[i]!;
    const t = sum + v;
    if (!Number.isFinite(t)) c = 0;
    else if (Math.abs(sum) >= Math.abs(v)) c += sum - t + v;
    else c += v - t + sum;
    sum = t;
  }
  return Number.isFinite(sum) ? sum + c : sum;
}

/** Mean with Kahan summation, switching to an incremental mean on overflow (Prometheus 3.x). */
export function kahanMean(values: ArrayLike<number>, lo: number, hi: number): number {
  // Common case first: the compensated sum stays finite, so sum/n + c/n needs no incremental mean.
  let fastSum = 0;
  let fastC = 0;
  let finite = true;
  for (let i = lo; i < hi && finite; i++) {
    const v = values[i]!;
    const t = fastSum + v;
    if (!Number.isFinite(t)) finite = i === lo || Number.isNaN(t);
    else if (Math.abs(fastSum) >= Math.abs(v)) fastC += fastSum - t + v;
    else fastC += v - t + fastSum;
    fastSum = t;
  }
  if (finite) return fastSum / (hi - lo) + fastC / (hi - lo);
  let sum = 0, mean = 0, count = 0, kahanC = 0;
  let incremental = false;
  for (let i = lo; i < hi; i++) {
    const value = values[i]!;
    count++;
    if (!incremental) {
      const [newSum, newC] = kahanSumInc(value, sum, kahanC);
      if (count === 1 || Number.isFinite(newSum) || Number.isNaN(newSum)) {
        sum = newSum;
        kahanC = newC;
        continue;
      }
      incremental = true;
      mean = sum / (count - 1);
      kahanC /= count - 1;
    }
    if (!Number.isFinite(mean) && !Number.isNaN(mean)) {
      if (!Number.isFinite(value) && !Number.isNaN(value) && mean > 0 === value > 0) continue;
      if (Number.isFinite(value)) continue;
    }
    const correctedMean = mean + kahanC;
    [mean, kahanC] = kahanSumInc(value / count - correctedMean / count, mean, kahanC);
  }
  return incremental ? mean + kahanC : sum / count + kahanC / count;
}

function variance(vs: Float64Array, lo: number, hi: number): number {
  let count = 0, mean = 0, cMean = 0, aux = 0, cAux = 0;
  for (let i = lo; i < hi; i++) {
    const value = vs[i]!;
    count++;
    const delta = value - (mean + cMean);
    [mean, cMean] = kahanSumInc(delta / count, mean, cMean);
    [aux, cAux] = kahanSumInc(delta * (value - (mean + cMean)), aux, cAux);
  }
  return (aux + cAux) / count;
}

function sortedWindow(vs: Float64Array, lo: number, hi: number): Float64Array {
  // Float64Array.sort puts NaN last; Prometheus (sort.Float64s) puts NaN first.
  const sorted = vs.slice(lo, hi).sort();
  let nans = 0;
  for (let i = sorted.length - 1; i >= 0 && Number.isNaN(sorted[i]!); i--) nans++;
  if (nans === 0) return sorted;
  const out = new Float64Array(sorted.length);
  out.fill(NaN, 0, nans);
  out.set(sorted.subarray(0, sorted.length - nans), nans);
  return out;
}

function doubleExponentialSmoothing(vs: Float64Array, lo: number, hi: number, sf: number, tf: number): number | undefined {
  if (hi - lo < 2) return undefined;
  let s0 = 0;
  let s1 = vs[lo]!;
  let b = vs[lo + 1]! - vs[lo]!;
  for (let i = lo + 1; i < hi; i++) {
    const x = sf * vs[i]!;
    if (i - lo - 1 !== 0) b = tf * (s1 - s0) + (1 - tf) * b;
    const y = (1 - sf) * (s1 + b);
    s0 = s1;
    s1 = x + y;
  }
  return s1;
}

/**
 * The sample an anchored window starts from: the last one at or before the window start (within the
 * lookback delta), else the window's first sample. Windows here hold samples (start, end].
 */
function anchorIndex(ts: Float64Array, lo: number, ctx: WindowContext): number {
  const start = ctx.refMs - ctx.rangeMs;
  if (lo > 0 && ts[lo - 1]! <= start && ts[lo - 1]! > start - ctx.lookbackDeltaMs) return lo - 1;
  return lo;
}

/** Interpolated value at `t` between samples i and i + 1; counters treat a drop as a reset from zero. */
function interpolate(ts: Float64Array, vs: Float64Array, i: number, t: number, isCounter: boolean): number {
  const a = vs[i]!;
  let b = vs[i + 1]!;
  if (isCounter && b < a) b += a;
  return a + ((b - a) * (t - ts[i]!)) / (ts[i + 1]! - ts[i]!);
}

/** increase/delta with the `anchored` or `smoothed` modifier: no extrapolation, exact boundaries. */
function boundedIncrease(ts: Float64Array, vs: Float64Array, lo: number, hi: number, ctx: WindowContext, isCounter: boolean, isRate: boolean): number | undefined {
  const start = ctx.refMs - ctx.rangeMs;
  const end = ctx.refMs;
  let result: number;
  if (ctx.modifier === 'anchored') {
    if (hi === lo) return undefined;
    const first = anchorIndex(ts, lo, ctx);
    result = vs[hi - 1]! - vs[first]!;
    if (isCounter) {
      for (let i = first + 1; i < hi; i++) if (vs[i]! < vs[i - 1]!) result += vs[i - 1]!;
    }
  } else {
    // Smoothed: interpolate at both boundaries; needs data on both sides of the window's edges.
    const hasBefore = lo > 0 && ts[lo - 1]! > start - ctx.lookbackDeltaMs;
    const hasAfter = hi < ts.length && ts[hi]! <= end + ctx.lookbackDeltaMs;
    if (hi === lo && !(hasBefore && hasAfter)) return undefined;
    // Points on the counter's adjusted scale: [startValue, samples in (start, end], endValue].
    let startValue: number;
    let firstInside = lo;
    if (hasBefore) startValue = interpolate(ts, vs, lo - 1, start, isCounter);
    else {
      startValue = vs[lo]!;
      firstInside = lo + 1;
    }
    let endValue: number;
    const lastIndex = hi - 1;
    if (hi === lo) {
      endValue = interpolate(ts, vs, lo - 1, end, isCounter);
      return scaleRate(endValue - startValue, ctx, isRate);
    }
    if (ts[lastIndex]! === end || !hasAfter) endValue = vs[lastIndex]!;
    else endValue = interpolate(ts, vs, lastIndex, end, isCounter);
    result = 0;
    let previous = startValue;
    if (hasBefore) {
      // From the interpolated start to the first sample inside, on the adjusted scale.
      const before = vs[lo - 1]!;
      const first = vs[lo]!;
      result += (isCounter && first < before ? first + before : first) - startValue;
      previous = first;
      firstInside = lo + 1;
    }
    for (let i = firstInside; i <= lastIndex; i++) {
      const value = vs[i]!;
      result += isCounter && value < previous ? value : value - previous;
      previous = value;
    }
    result += endValue - vs[lastIndex]!;
  }
  return scaleRate(result, ctx, isRate);
}

function scaleRate(increase: number, ctx: WindowContext, isRate: boolean): number {
  return isRate ? increase / (ctx.rangeMs / 1000) : increase;
}

function rateKernel(isCounter: boolean, isRate: boolean): WindowKernel {
  return (ts, vs, lo, hi, ctx) =>
    ctx.modifier === undefined ? extrapolatedRate(ts, vs, lo, hi, ctx, isCounter, isRate) : boundedIncrease(ts, vs, lo, hi, ctx, isCounter, isRate);
}

/** Anchored changes/resets also look at the step from the anchor sample into the window. */
function countTransitions(vs: Float64Array, ts: Float64Array, lo: number, hi: number, ctx: WindowContext, counts: (previous: number, current: number) => boolean): number | undefined {
  if (hi === lo) return undefined;
  const first = ctx.modifier === 'anchored' ? anchorIndex(ts, lo, ctx) : lo;
  let n = 0;
  for (let i = first + 1; i < hi; i++) if (counts(vs[i - 1]!, vs[i]!)) n++;
  return n;
}

export const WINDOW_KERNELS: Record<string, WindowKernel> = {
  rate: rateKernel(true, true),
  increase: rateKernel(true, false),
  delta: rateKernel(false, false),
  irate: (ts, vs, lo, hi) => instantRate(ts, vs, lo, hi, true),
  idelta: (ts, vs, lo, hi) => instantRate(ts, vs, lo, hi, false),
  deriv: (ts, vs, lo, hi) => (hi - lo < 2 ? undefined : linearRegression(ts, vs, lo, hi, ts[lo]!)[0]),
  predict_linear: (ts, vs, lo, hi, ctx) => {
    if (hi - lo < 2) return undefined;
    const [slope, intercept] = linearRegression(ts, vs, lo, hi, ctx.stepMs);
    return slope * ctx.params[0]! + intercept;
  },
  double_exponential_smoothing: (_ts, vs, lo, hi, ctx) => doubleExponentialSmoothing(vs, lo, hi, ctx.params[0]!, ctx.params[1]!),
  changes: (ts, vs, lo, hi, ctx) =>
    countTransitions(vs, ts, lo, hi, ctx, (previous, current) => current !== previous && !(Number.isNaN(current) && Number.isNaN(previous))),
  resets: (ts, vs, lo, hi, ctx) => countTransitions(vs, ts, lo, hi, ctx, (previous, current) => current < previous),
  avg_over_time: (_ts, vs, lo, hi) => (hi === lo ? undefined : kahanMean(vs, lo, hi)),
  sum_over_time: (_ts, vs, lo, hi) => (hi === lo ? undefined : neumaierSum(vs, lo, hi)),
  count_over_time: (_ts, _vs, lo, hi) => (hi === lo ? undefined : hi - lo),
  min_over_time: (_ts, vs, lo, hi) => {
    if (hi === lo) return undefined;
    let min = vs[lo]!;
    for (let i = lo + 1; i < hi; i++) if (vs[i]! < min || Number.isNaN(min)) min = vs[i]!;
    return min;
  },
  max_over_time: (_ts, vs, lo, hi) => {
    if (hi === lo) return undefined;
    let max = vs[lo]!;
    for (let i = lo + 1; i < hi; i++) if (vs[i]! > max || Number.isNaN(max)) max = vs[i]!;
    return max;
  },
  ts_of_min_over_time: (ts, vs, lo, hi) => {
    if (hi === lo) return undefined;
    let best = lo;
    for (let i = lo + 1; i < hi; i++) if (vs[i]! <= vs[best]! || Number.isNaN(vs[best]!)) best = i;
    return ts[best]! / 1000;
  },
  ts_of_max_over_time: (ts, vs, lo, hi) => {
    if (hi === lo) return undefined;
    let best = lo;
    for (let i = lo + 1; i < hi; i++) if (vs[i]! >= vs[best]! || Number.isNaN(vs[best]!)) best = i;
    return ts[best]! / 1000;
  },
  stddev_over_time: (_ts, vs, lo, hi) => (hi === lo ? undefined : Math.sqrt(variance(vs, lo, hi))),
  stdvar_over_time: (_ts, vs, lo, hi) => (hi === lo ? undefined : variance(vs, lo, hi)),
  last_over_time: (_ts, vs, lo, hi) => (hi === lo ? undefined : vs[hi - 1]!),
  first_over_time: (_ts, vs, lo, hi) => (hi === lo ? undefined : vs[lo]!),
  ts_of_last_over_time: (ts, _vs, lo, hi) => (hi === lo ? undefined : ts[hi - 1]! / 1000),
  ts_of_first_over_time: (ts, _vs, lo, hi) => (hi === lo ? undefined : ts[lo]! / 1000),
  present_over_time: (_ts, _vs, lo, hi) => (hi === lo ? undefined : 1),
  quantile_over_time: (_ts, vs, lo, hi, ctx) => (hi === lo ? undefined : quantileOfSorted(ctx.params[0]!, sortedWindow(vs, lo, hi))),
  mad_over_time: (_ts, vs, lo, hi) => {
    if (hi === lo) return undefined;
    for (let i = lo; i < hi; i++) if (Number.isNaN(vs[i]!)) return NaN;
    const median = quantileOfSorted(0.5, sortedWindow(vs, lo, hi));
    const deviations = new Float64Array(hi - lo);
    for (let i = lo; i < hi; i++) deviations[i - lo] = Math.abs(vs[i]! - median);
    return quantileOfSorted(0.5, sortedWindow(deviations, 0, deviations.length));
  },
};
