// Range-window functions over native histogram samples: rate/increase/delta with Prometheus'
// extrapolation and counter-reset handling, irate/idelta, the *_over_time functions that apply to
// histograms, and changes/resets. Problems (mixed bucket schemas, gauge vs counter) are reported
// through `report` so the evaluator can attach the position.

import type { WindowContext } from './range-functions.ts';
import { combine, detectReset, histogramsEqual, scaleHistogram, type NativeHistogram } from './native-histogram.ts';

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
  const count = hi - lo;
  if (count < 2) return undefined;
  const first = hs[lo]!;
  const last = hs[hi - 1]!;
  let result = difference(last, first, report);
  if (result === undefined) return undefined;
  if (isCounter) {
    if (hs.slice(lo, hi).some((h) => h.counterResetHint === 'gauge')) report('not-counter');
    for (let i = lo + 1; i < hi; i++) {
      if (!detectReset(hs[i]!, hs[i - 1]!)) continue;
      const added = combine(result, hs[i - 1]!, 1);
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
  return sum === undefined ? undefined : { ...sum, counterResetHint: 'gauge' };
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
    return sum === undefined ? undefined : scaleHistogram(sum, 1 / (hi - lo));
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
