// Range-window functions over native histogram samples: rate/increase/delta with Prometheus'
// extrapolation and counter-reset handling, irate/idelta, the *_over_time functions that apply to
// histograms, and changes/resets. Problems (mixed bucket schemas, gauge vs counter) are reported
// through `report` so the evaluator can attach the position.

import type { WindowContext } from './range-functions.ts';
import { averageHistograms, combine, compensateScalarSums, detectReset, histogramsEqual, scaleHistogram, type NativeHistogram } from './native-histogram.ts';

export type HistogramProblem = 'mixed-schemas' | 'not-counter' | 'not-gauge' | 'reconciled';

export type HistogramKernel = (
  ts: Float64Array,
  hs: NativeHistogram[],
  lo: number,
  hi: number,
  ctx: WindowContext,
  report: (problem: HistogramProblem) => void,
) => NativeHistogram | number | undefined;

function difference(a: NativeHistogram, b: NativeHistogram, report: (problem: HistogramProblem) => void): NativeHistogram | undefined {
  const { result, problem } = combine(a, b, -1);
  if (problem !== undefined) report(problem);
  return result;
}

function histogramRate(ts: Float64Array, hs: NativeHistogram[], lo: number, hi: number, ctx: WindowContext, report: (problem: HistogramProblem) => void, isCounter: boolean, isRate: boolean): NativeHistogram | undefined {
  if (ctx.modifier !== undefined) {
    if (isCounter && hs.slice(lo, hi).some((h) => h.counterResetHint === 'gauge')) report('not-counter');
    if (!isCounter && hi > lo && (hs[lo]!.counterResetHint !== 'gauge' || hs[hi - 1]!.counterResetHint !== 'gauge')) report('not-gauge');
    return boundedHistogramIncrease(ts, hs, lo, hi, ctx, report, isCounter, isRate);
  }
  const count = hi - lo;
  if (count < 2) return undefined;
  const first = hs[lo]!;
  const last = hs[hi - 1]!;
  // A counter reset between the first two samples makes the first one's buckets irrelevant: it counts
  // as an empty histogram in the second's layout, so a schema the window only starts with (custom
  // buckets before exponential ones, say) is no mix (Prometheus' histogramRate; its count still
  // bounds the extrapolation to zero).
  const base = isCounter && detectReset(hs[lo + 1]!, first) ? emptyHistogramLike(hs[lo + 1]!) : first;
  let result = difference(last, base, report);
  if (result === undefined) return undefined;
  if (isCounter) {
    if (hs.slice(lo, hi).some((h) => h.counterResetHint === 'gauge')) report('not-counter');
    for (let i = lo + 1; i < hi; i++) {
      const previous = i === lo + 1 ? base : hs[i - 1]!;
      if (!detectReset(hs[i]!, previous)) continue;
      const added = combine(result, previous, 1);
      if (added.result === undefined) {
        report('mixed-schemas');
        return undefined;
      }
      result = added.result;
    }
  } else if (first.counterResetHint !== 'gauge' || last.counterResetHint !== 'gauge') report('not-gauge');
  if (ctx.modifier !== undefined) {
    result.counterResetHint = 'gauge';
    return isRate ? scaleHistogram(result, 1000 / ctx.rangeMs) : result;
  }
  return extrapolate(result, ts, hs, lo, hi, ctx, isCounter, isRate);
}

/** No observations, in `like`'s bucket layout (schema and custom bounds). */
function emptyHistogramLike(like: NativeHistogram): NativeHistogram {
  return { schema: like.schema, zeroThreshold: 0, zeroCount: 0, count: 0, sum: 0, positive: new Map(), negative: new Map(), customValues: like.customValues, counterResetHint: 'unknown' };
}

function add(a: NativeHistogram, b: NativeHistogram, factor: number, report: (problem: HistogramProblem) => void): NativeHistogram | undefined {
  const { result, problem } = combine(a, b, factor);
  if (problem !== undefined) report(problem);
  return result;
}

/** Histogram at `t` between samples i and i + 1; a counter reset counts from zero. */
function interpolateHistogram(ts: Float64Array, hs: NativeHistogram[], i: number, t: number, isCounter: boolean, report: (problem: HistogramProblem) => void): NativeHistogram | undefined {
  const a = hs[i]!;
  let b: NativeHistogram | undefined = hs[i + 1]!;
  if (isCounter && detectReset(b, a)) b = add(b, a, 1, report);
  if (b === undefined) return undefined;
  const step = add(b, a, -1, report);
  if (step === undefined) return undefined;
  return add(a, scaleHistogram(step, (t - ts[i]!) / (ts[i + 1]! - ts[i]!)), 1, report);
}

/** increase/rate/delta over histograms with the anchored or smoothed modifier (no extrapolation). */
function boundedHistogramIncrease(ts: Float64Array, hs: NativeHistogram[], lo: number, hi: number, ctx: WindowContext, report: (problem: HistogramProblem) => void, isCounter: boolean, isRate: boolean): NativeHistogram | undefined {
  const start = ctx.refMs - ctx.rangeMs;
  const end = ctx.refMs;
  // Points: the boundary values and the samples in between, summed pairwise with reset handling.
  const points: NativeHistogram[] = [];
  if (ctx.modifier === 'anchored') {
    if (hi === lo) return undefined;
    const first = lo > 0 && ts[lo - 1]! <= start && ts[lo - 1]! > start - ctx.lookbackDeltaMs ? lo - 1 : lo;
    for (let i = first; i < hi; i++) points.push(hs[i]!);
  } else {
    const hasBefore = lo > 0 && ts[lo - 1]! > start - ctx.lookbackDeltaMs;
    const hasAfter = hi < ts.length && ts[hi]! <= end + ctx.lookbackDeltaMs;
    if (hi === lo && !(hasBefore && hasAfter)) return undefined;
    if (hasBefore) {
      const startValue = interpolateHistogram(ts, hs, lo - 1, start, isCounter, report);
      if (startValue === undefined) return undefined;
      points.push(startValue);
    }
    for (let i = lo; i < hi; i++) points.push(hs[i]!);
    if (hi === lo || (hasAfter && ts[hi - 1]! !== end)) {
      const endValue = interpolateHistogram(ts, hs, hi - 1, end, isCounter, report);
      if (endValue === undefined) return undefined;
      if (hi > lo && isCounter && detectReset(hs[hi]!, hs[hi - 1]!)) {
        // The interpolated end sits on the reset's adjusted scale: add it as an increase over the last sample.
        const increase = add(endValue, hs[hi - 1]!, -1, report);
        if (increase === undefined) return undefined;
        const adjusted = add(hs[hi - 1]!, increase, 1, report);
        if (adjusted === undefined) return undefined;
        points.push({ ...adjusted, counterResetHint: 'not_reset' });
      } else points.push({ ...endValue, counterResetHint: 'not_reset' });
    }
  }
  let result = add(points[points.length - 1]!, points[0]!, -1, report);
  if (result === undefined) return undefined;
  if (isCounter) {
    for (let i = 1; i < points.length; i++) {
      if (!detectReset(points[i]!, points[i - 1]!)) continue;
      result = add(result, points[i - 1]!, 1, report);
      if (result === undefined) return undefined;
    }
  }
  result = { ...result, counterResetHint: 'gauge' };
  return isRate ? scaleHistogram(result, 1000 / ctx.rangeMs) : result;
}

function extrapolate(result: NativeHistogram, ts: Float64Array, hs: NativeHistogram[], lo: number, hi: number, ctx: WindowContext, isCounter: boolean, isRate: boolean): NativeHistogram {
  const count = hi - lo;
  const first = hs[lo]!;
  const rangeStart = ctx.refMs - ctx.rangeMs;
  const firstT = ts[lo]!;
  const lastT = ts[hi - 1]!;
  let durationToStart = (firstT - rangeStart) / 1000;
  let durationToEnd = (ctx.refMs - lastT) / 1000;
  const sampledInterval = (lastT - firstT) / 1000;
  const average = sampledInterval / (count - 1);
  const threshold = average * 1.1;
  if (durationToStart >= threshold) durationToStart = average / 2;
  if (isCounter && result.count > 0 && first.count >= 0) {
    const durationToZero = sampledInterval * (first.count / result.count);
    if (durationToZero < durationToStart) durationToStart = durationToZero;
  }
  if (durationToEnd >= threshold) durationToEnd = average / 2;
  let factor = (sampledInterval + durationToStart + durationToEnd) / sampledInterval;
  if (isRate) factor /= ctx.rangeMs / 1000;
  const scaled = scaleHistogram(result, factor);
  scaled.counterResetHint = 'gauge';
  return scaled;
}

function histogramInstantRate(ts: Float64Array, hs: NativeHistogram[], lo: number, hi: number, report: (problem: HistogramProblem) => void, isRate: boolean): NativeHistogram | undefined {
  if (hi - lo < 2) return undefined;
  const last = hs[hi - 1]!;
  const previous = hs[hi - 2]!;
  let result: NativeHistogram | undefined = isRate && detectReset(last, previous) ? last : difference(last, previous, report);
  if (result === undefined) return undefined;
  if (!isRate && (last.counterResetHint !== 'gauge' || previous.counterResetHint !== 'gauge')) report('not-gauge');
  if (isRate && (last.counterResetHint === 'gauge' || previous.counterResetHint === 'gauge')) report('not-counter');
  const intervalMs = ts[hi - 1]! - ts[hi - 2]!;
  if (intervalMs === 0) return undefined;
  if (isRate) result = scaleHistogram(result, 1000 / intervalMs);
  result = { ...result, counterResetHint: 'gauge' };
  return result;
}

function histogramSum(hs: NativeHistogram[], lo: number, hi: number, report: (problem: HistogramProblem) => void): NativeHistogram | undefined {
  let sum: NativeHistogram | undefined = hs[lo]!;
  for (let i = lo + 1; i < hi && sum !== undefined; i++) {
    const added = combine(sum, hs[i]!, 1);
    if (added.problem !== undefined) report(added.problem);
    sum = added.result;
  }
  return sum === undefined ? undefined : { ...compensateScalarSums(sum, hs.slice(lo, hi)), counterResetHint: 'gauge' };
}

export const HISTOGRAM_KERNELS: Record<string, HistogramKernel> = {
  rate: (ts, hs, lo, hi, ctx, report) => histogramRate(ts, hs, lo, hi, ctx, report, true, true),
  increase: (ts, hs, lo, hi, ctx, report) => histogramRate(ts, hs, lo, hi, ctx, report, true, false),
  delta: (ts, hs, lo, hi, ctx, report) => histogramRate(ts, hs, lo, hi, ctx, report, false, false),
  irate: (ts, hs, lo, hi, _ctx, report) => histogramInstantRate(ts, hs, lo, hi, report, true),
  idelta: (ts, hs, lo, hi, _ctx, report) => histogramInstantRate(ts, hs, lo, hi, report, false),
  last_over_time: (_ts, hs, lo, hi) => (hi === lo ? undefined : hs[hi - 1]),
  first_over_time: (_ts, hs, lo, hi) => (hi === lo ? undefined : hs[lo]),
  ts_of_last_over_time: (ts, _hs, lo, hi) => (hi === lo ? undefined : ts[hi - 1]! / 1000),
  ts_of_first_over_time: (ts, _hs, lo, hi) => (hi === lo ? undefined : ts[lo]! / 1000),
  count_over_time: (_ts, _hs, lo, hi) => (hi === lo ? undefined : hi - lo),
  present_over_time: (_ts, _hs, lo, hi) => (hi === lo ? undefined : 1),
  sum_over_time: (_ts, hs, lo, hi, _ctx, report) => (hi === lo ? undefined : histogramSum(hs, lo, hi, report)),
  avg_over_time: (_ts, hs, lo, hi, _ctx, report) => {
    if (hi === lo) return undefined;
    const sum = histogramSum(hs, lo, hi, report);
    return sum === undefined ? undefined : { ...averageHistograms(sum, hs.slice(lo, hi)), counterResetHint: 'gauge' };
  },
  changes: (_ts, hs, lo, hi) => {
    if (hi === lo) return undefined;
    let changes = 0;
    for (let i = lo + 1; i < hi; i++) if (!histogramsEqual(hs[i]!, hs[i - 1]!)) changes++;
    return changes;
  },
  resets: (_ts, hs, lo, hi) => {
    if (hi === lo) return undefined;
    let resets = 0;
    for (let i = lo + 1; i < hi; i++) if (detectReset(hs[i]!, hs[i - 1]!)) resets++;
    return resets;
  },
};
