// Evaluates a PromQL expression over a grid of steps. Every node yields all its steps at once as
// arrays (a range query is one pass over the tree, not one per step): selectors walk each series'
// samples with a moving pointer, range functions slide a window over Float64Arrays, and subqueries
// evaluate their inner expression on their own aligned grid and feed it back as samples.

import type { MetricsSource, SelectScratch, SeriesSamples } from '../../tsdb/types.ts';
import type { AtModifier, Call, Expr, MatrixSelector, SubqueryExpr, VectorSelector } from '../syntax/ast.ts';
import { KEEPS_METRIC_NAME } from '../syntax/functions.ts';
import { aggregate } from './aggregation.ts';
import { evaluateBinary } from './binary.ts';
import { Annotations, PromQLQueryError, TOO_MANY_SAMPLES_MESSAGE } from './errors.ts';
import { evaluateInfo } from './info-function.ts';
import { combine, detectReset, fromFloatHistogram, scaleHistogram, usesCustomBuckets, type NativeHistogram } from './native-histogram.ts';
import { advance, hasHistogramSamples, minMax, mixedTransitions, splitSamples, upperBound, withoutStaleMarkers, type HistogramView } from './sample-windows.ts';
import { evaluateInstantFunction } from './instant-functions.ts';
import { WINDOW_KERNELS, type WindowContext } from './range-functions.ts';
import { HISTOGRAM_KERNELS, type HistogramKernel, type HistogramProblem } from './range-histogram-functions.ts';
import {
  DuplicateLabelsetError,
  hasAnyPoint,
  mergeSameLabels,
  newVectorSeries,
  setHistogram,
  stepTime,
  type EvalValue,
  type RangeSeries,
  type StepGrid,
  type StepVectorSeries,
} from './series.ts';

export interface EvaluatorOptions {
  source: MetricsSource;
  tenant: string;
  /** The query's own start and end, for `@ start()` / `@ end()`. */
  queryStartMs: number;
  queryEndMs: number;
  /** 0 for instant queries. */
  queryStepMs: number;
  lookbackDeltaMs: number;
  defaultSubqueryStepMs: number;
  maxSamples: number;
  signal: AbortSignal | undefined;
  /** performance.now() past which the query ends as timed out (the engine's timeout). */
  deadlineMs?: number;
  /** The source's decoding memory for this query's selects, released by the engine when it is done. */
  scratch?: SelectScratch;
}

/** Functions the experimental range modifiers apply to (Prometheus' lists, in its message order). */
const MODIFIER_FUNCTIONS = {
  anchored: ['changes', 'delta', 'increase', 'rate', 'resets'],
  smoothed: ['delta', 'increase', 'rate'],
};
const COUNTER_SUFFIXES = ['_total', '_sum', '_count', '_bucket'];
const RATE_FUNCTIONS = new Set(['rate', 'increase', 'irate']);

const ignoreProblem = (): void => {}; // The reporter for a series with no histogram samples (never called).

export class Evaluator {
  readonly annotations: Annotations;
  private samplesInMemory = 0;
  private readonly options: EvaluatorOptions;

  constructor(options: EvaluatorOptions, queryText?: string) {
    this.options = options;
    this.annotations = new Annotations(queryText);
  }

  checkAbort(where: string): void {
    const signal = this.options.signal;
    if (signal?.aborted) {
      const reason = signal.reason as { name?: string } | undefined;
      if (reason?.name === 'TimeoutError') throw new PromQLQueryError(`query timed out in ${where}`, 'timeout');
      throw new PromQLQueryError(`query was canceled in ${where}`, 'canceled');
    }
    const deadlineMs = this.options.deadlineMs;
    if (deadlineMs !== undefined && performance.now() > deadlineMs) throw new PromQLQueryError(`query timed out in ${where}`, 'timeout');
  }

  /** Accounts for samples held at once; over the limit the query fails as Prometheus' does. */
  private account(samples: number): void {
    this.samplesInMemory += samples;
    if (this.samplesInMemory > this.options.maxSamples) throw new PromQLQueryError(TOO_MANY_SAMPLES_MESSAGE, 'too_many_samples');
  }

  async evaluate(expr: Expr, grid: StepGrid): Promise<EvalValue> {
    this.checkAbort('expression evaluation');
    switch (expr.type) {
      case 'NumberLiteral':
        return { kind: 'scalar', values: new Float64Array(grid.count).fill(expr.value) };
      case 'StringLiteral':
        return { kind: 'string', value: expr.value };
      case 'ParenExpr':
        return this.evaluate(expr.expr, grid);
      case 'UnaryExpr': {
        const inner = await this.evaluate(expr.expr, grid);
        if (expr.op === '+') return inner;
        if (inner.kind === 'scalar') return { kind: 'scalar', values: inner.values.map((v) => -v) };
        if (inner.kind !== 'vector') return inner;
        return {
          kind: 'vector',
          series: inner.series.map((s) => ({
            labels: s.labels,
            values: s.values.map((v) => -v),
            present: s.present,
            dropName: true,
            ...(s.histograms ? { histograms: s.histograms.map((h) => h && scaleHistogram(h, -1)) } : {}),
          })),
        };
      }
      case 'VectorSelector':
        return { kind: 'vector', series: (await this.selectVector(expr, grid, false)).series };
      case 'MatrixSelector':
      case 'SubqueryExpr': {
        const input = await this.rangeInput(expr, grid);
        // A range vector as a value only exists at a single step (an instant query's result).
        const refMs = input.refs[0] ?? grid.startMs;
        const series: RangeSeries[] = [];
        for (const s of input.series) {
          const lo = upperBound(s.timestampsMs, refMs - input.rangeMs);
          const hi = upperBound(s.timestampsMs, refMs);
          if (hi > lo) {
            series.push({
              labels: s.labels,
              timestampsMs: s.timestampsMs.slice(lo, hi),
              values: s.values.slice(lo, hi),
              dropName: s.dropName,
              ...(s.histograms ? { histograms: s.histograms.slice(lo, hi) } : {}),
            });
          }
        }
        return { kind: 'matrix', series };
      }
      case 'AggregateExpr': {
        const input = await this.evaluate(expr.expr, grid);
        const param = expr.param === undefined ? undefined : await this.evaluate(expr.param, grid);
        if (input.kind !== 'vector') throw new PromQLQueryError(`unexpected ${input.kind} in aggregation`);
        return { kind: 'vector', series: aggregate(expr, input.series, param, grid, this.annotations) };
      }
      case 'BinaryExpr': {
        const lhs = await this.evaluate(expr.lhs, grid);
        const rhs = await this.evaluate(expr.rhs, grid);
        return evaluateBinary(expr, lhs, rhs, grid, this.annotations);
      }
      case 'Call':
        return this.evaluateCall(expr, grid);
    }
  }

  private refTimes(grid: StepGrid, at: AtModifier | undefined, offsetMs: number): Float64Array {
    const refs = new Float64Array(grid.count);
    if (at !== undefined) {
      const atMs = at.kind === 'timestamp' ? at.timestampMs : at.kind === 'start' ? this.options.queryStartMs : this.options.queryEndMs;
      refs.fill(atMs - offsetMs);
      return refs;
    }
    for (let i = 0; i < grid.count; i++) refs[i] = stepTime(grid, i) - offsetMs;
    return refs;
  }

  private async fetch(selector: VectorSelector, startMs: number, endMs: number, newestOnly = false): Promise<SeriesSamples[]> {
    const scratch = this.options.scratch;
    const data = await this.options.source.select(this.options.tenant, { matchers: selector.matchers, startMs, endMs, ...(newestOnly ? { newestOnly } : {}), ...(scratch ? { scratch } : {}) });
    this.checkAbort('query preparation');
    let total = 0;
    for (const s of data) total += s.timestampsMs.length;
    this.account(total);
    this.samplesInMemory -= total;
    return data;
  }

  /** Instant-vector selection with lookback; optionally the timestamps of the samples chosen. */
  async selectVector(selector: VectorSelector, grid: StepGrid, withTimestamps: boolean): Promise<{ series: StepVectorSeries[]; timestamps: Float64Array[] }> {
    return this.selectAt(selector, this.refTimes(grid, selector.at, selector.offsetMs), withTimestamps);
  }

  /** Instant-vector selection at given reference times (one per step). */
  async selectAt(selector: VectorSelector, refs: Float64Array, withTimestamps = true): Promise<{ series: StepVectorSeries[]; timestamps: Float64Array[] }> {
    const grid = { count: refs.length };
    if (grid.count === 0) return { series: [], timestamps: [] };
    const lookback = this.options.lookbackDeltaMs;
    const [minRef, maxRef] = minMax(refs);
    // One reference time (an instant query, or `@`): each series' newest sample in the lookback is all it takes.
    const newestOnly = minRef === maxRef && selector.smoothed !== true;
    const data = await this.fetch(selector, minRef - lookback + 1, maxRef + (selector.smoothed ? lookback : 0), newestOnly);
    const series: StepVectorSeries[] = [];
    const timestamps: Float64Array[] = [];
    for (const s of data) {
      const out = newVectorSeries(s.labels, grid.count);
      const chosen = withTimestamps ? new Float64Array(grid.count) : undefined;
      const ts = s.timestampsMs;
      let any = false;
      let j = -1;
      let previousRef = -Infinity;
      for (let i = 0; i < grid.count; i++) {
        const ref = refs[i]!;
        if (ref < previousRef) j = -1;
        previousRef = ref;
        while (j + 1 < ts.length && ts[j + 1]! <= ref) j++;
        if (j < 0 || ts[j]! <= ref - lookback) continue;
        if (s.stale !== undefined && s.stale[j]) continue;
        const histogram = s.histograms?.[j];
        const interpolateNext = selector.smoothed === true && ts[j]! < ref && j + 1 < ts.length && !(s.stale !== undefined && s.stale[j + 1]);
        if (interpolateNext && (histogram === undefined) !== (s.histograms?.[j + 1] === undefined)) {
          this.annotations.warn(`encountered a mix of histograms and floats for metric name ${JSON.stringify(s.labels.__name__ ?? '')}`, selector.pos);
          continue;
        }
        if (histogram !== undefined) {
          let value: NativeHistogram | undefined = fromFloatHistogram(histogram);
          if (interpolateNext) {
            const next = fromFloatHistogram(s.histograms![j + 1]!);
            const fraction = (ref - ts[j]!) / (ts[j + 1]! - ts[j]!);
            if (next.counterResetHint !== 'gauge' && usesCustomBuckets(next) === usesCustomBuckets(value) && detectReset(next, value)) {
              // A counter that reset between the two samples restarts from zero (as Prometheus interpolates it).
              value = scaleHistogram(next, fraction);
            } else {
              const step = combine(next, value, -1).result;
              value = step === undefined ? undefined : combine(value, scaleHistogram(step, fraction), 1).result;
            }
            if (value === undefined) {
              this.annotations.warn(`vector contains a mix of histograms with exponential and custom buckets schemas for metric name ${JSON.stringify(s.labels.__name__ ?? '')}`, selector.pos);
              continue;
            }
          }
          setHistogram(out, i, value);
          if (chosen) chosen[i] = ts[j]!;
          any = true;
          continue;
        }
        let value = s.values[j]!;
        if (selector.smoothed && ts[j]! < ref && j + 1 < ts.length && !(s.stale !== undefined && s.stale[j + 1]) && s.histograms?.[j + 1] === undefined) {
          value += ((s.values[j + 1]! - value) * (ref - ts[j]!)) / (ts[j + 1]! - ts[j]!);
        }
        out.values[i] = value;
        out.present[i] = 1;
        if (chosen) chosen[i] = ts[j]!;
        any = true;
      }
      if (any) {
        series.push(out);
        if (chosen) timestamps.push(chosen);
      }
    }
    let points = 0;
    for (const s of series) for (let i = 0; i < grid.count; i++) points += s.present[i]!;
    this.account(points);
    return { series, timestamps };
  }

  /** Samples feeding range functions: a matrix selector's raw samples or a subquery's steps. */
  async rangeInput(node: MatrixSelector | SubqueryExpr, grid: StepGrid): Promise<{ series: RangeSeries[]; refs: Float64Array; rangeMs: number }> {
    if (node.type === 'MatrixSelector') {
      const refs = this.refTimes(grid, node.vector.at, node.vector.offsetMs);
      if (grid.count === 0) return { series: [], refs, rangeMs: node.rangeMs };
      const [minRef, maxRef] = minMax(refs);
      // Anchored and smoothed windows also read the samples just outside the window.
      const margin = node.modifier === undefined ? 0 : this.options.lookbackDeltaMs;
      const data = await this.fetch(node.vector, minRef - node.rangeMs + 1 - margin, maxRef + margin);
      const series: RangeSeries[] = [];
      let total = 0;
      for (const s of data) {
        const cleaned = withoutStaleMarkers(s);
        if (cleaned.timestampsMs.length === 0) continue;
        total += cleaned.timestampsMs.length;
        series.push(cleaned);
      }
      this.account(total);
      return { series, refs, rangeMs: node.rangeMs };
    }
    const refs = this.refTimes(grid, node.at, node.offsetMs);
    if (grid.count === 0) return { series: [], refs, rangeMs: node.rangeMs };
    const [minRef, maxRef] = minMax(refs);
    const stepMs = node.stepMs > 0 ? node.stepMs : this.options.defaultSubqueryStepMs;
    const lower = minRef - node.rangeMs;
    // Go's integer division truncates toward zero; keep that for negative times too.
    let startMs = stepMs * Math.trunc(lower / stepMs);
    if (startMs < lower) startMs += stepMs;
    const count = maxRef >= startMs ? Math.floor((maxRef - startMs) / stepMs) + 1 : 0;
    // Every inner step holds at least one value per series: refuse grids no query could hold.
    if (count > this.options.maxSamples) throw new PromQLQueryError(TOO_MANY_SAMPLES_MESSAGE, 'too_many_samples');
    const inner = await this.evaluate(node.expr, { startMs, stepMs, count });
    if (inner.kind !== 'vector') throw new PromQLQueryError(`subquery is only allowed on instant vector, got ${inner.kind}`);
    const series: RangeSeries[] = [];
    for (const s of inner.series) {
      let n = 0;
      for (let i = 0; i < count; i++) n += s.present[i]!;
      if (n === 0) continue;
      const timestampsMs = new Float64Array(n);
      const values = new Float64Array(n);
      const histograms = s.histograms ? new Array<NativeHistogram | undefined>(n) : undefined;
      let k = 0;
      let previous: NativeHistogram | undefined;
      for (let i = 0; i < count; i++) {
        if (!s.present[i]) continue;
        timestampsMs[k] = startMs + i * stepMs;
        if (histograms) {
          const h = s.histograms![i];
          // A sample that the inner steps repeat (the same stored histogram, seen again through the
          // lookback) carries its reset hint once, or a range function would count the reset again.
          histograms[k] = h !== undefined && previous !== undefined && h.counterResetHint === 'reset' && sameHistogram(h, previous) ? { ...h, counterResetHint: 'not_reset' } : h;
          previous = h;
        }
        values[k++] = s.values[i]!;
      }
      series.push({ labels: s.labels, timestampsMs, values, dropName: s.dropName, ...(histograms ? { histograms } : {}) });
    }
    return { series, refs, rangeMs: node.rangeMs };
  }

  private async evaluateCall(call: Call, grid: StepGrid): Promise<EvalValue> {
    const kernel = WINDOW_KERNELS[call.func];
    if (kernel !== undefined) return this.evaluateWindowFunction(call, grid, kernel);
    if (call.func === 'absent_over_time') {
      const input = await this.rangeInput(call.args[0] as MatrixSelector | SubqueryExpr, grid);
      const present = new Uint8Array(grid.count);
      for (const s of input.series) {
        let lo = 0;
        let hi = 0;
        for (let i = 0; i < grid.count; i++) {
          const ref = input.refs[i]!;
          lo = advance(s.timestampsMs, lo, ref - input.rangeMs);
          hi = advance(s.timestampsMs, hi, ref);
          if (hi > lo) present[i] = 1;
        }
      }
      return absentResult(call.args[0]!, present, grid);
    }
    if (call.func === 'timestamp' && isVectorSelector(call.args[0]!)) {
      const selector = unwrapParens(call.args[0]!) as VectorSelector;
      const { series, timestamps } = await this.selectVector(selector, grid, true);
      return {
        kind: 'vector',
        series: series.map((s, k) => ({ labels: s.labels, values: timestamps[k]!.map((t) => t / 1000), present: s.present, dropName: true })),
      };
    }
    const queryScalar = this.queryScalar(call.func);
    if (queryScalar !== undefined) return { kind: 'scalar', values: new Float64Array(grid.count).fill(queryScalar) };
    const args: EvalValue[] = [];
    for (const arg of call.args) args.push(await this.evaluate(arg, grid));
    if (call.func === 'min_of' || call.func === 'max_of') {
      const a = (args[0] as { values: Float64Array }).values;
      const b = (args[1] as { values: Float64Array }).values;
      const pick = call.func === 'min_of' ? Math.min : Math.max;
      return { kind: 'scalar', values: a.map((x, i) => pick(x, b[i]!)) };
    }
    if (call.func === 'info') {
      const base = args[0]!.kind === 'vector' ? args[0]!.series : [];
      const query = { startMs: this.options.queryStartMs, endMs: this.options.queryEndMs };
      return { kind: 'vector', series: await evaluateInfo(base, call.args[1], call.args[0]!, grid, query, this) };
    }
    if (call.func === 'absent') {
      const vector = args[0]!;
      const present = new Uint8Array(grid.count);
      if (vector.kind === 'vector') for (const s of vector.series) for (let i = 0; i < grid.count; i++) present[i] ||= s.present[i]!;
      return absentResult(call.args[0]!, present, grid);
    }
    if (grid.count > 1 && call.func.startsWith('sort')) {
      this.annotations.warn(`sort is ineffective for range queries since results are always ordered by labels`, call.pos);
    }
    try {
      return evaluateInstantFunction(call, args, grid, this.annotations);
    } catch (error) {
      if (error instanceof DuplicateLabelsetError) throw new PromQLQueryError(error.message);
      throw error;
    }
  }

  /** A window holding histogram samples (and maybe floats): the histogram kernel decides, mixes are refused. */
  private histogramWindow(
    func: string,
    histogramKernel: HistogramKernel | undefined,
    histograms: HistogramView,
    hLo: number,
    hHi: number,
    floats: { timestampsMs: Float64Array; values: Float64Array },
    lo: number,
    hi: number,
    ctx: WindowContext,
    report: (problem: HistogramProblem) => void,
    name: string,
    rangeArg: MatrixSelector | SubqueryExpr,
  ): NativeHistogram | number | undefined {
    const hasFloats = hi > lo;
    if (histogramKernel === undefined) {
      // Functions that only read floats ignore histogram samples.
      if (hasFloats) this.annotations.info(`ignored histograms in a range containing both floats and histograms for metric name ${JSON.stringify(name)}`, rangeArg.pos);
      return hasFloats ? WINDOW_KERNELS[func]!(floats.timestampsMs, floats.values, lo, hi, ctx) : undefined;
    }
    if (!hasFloats) return histogramKernel(histograms.timestampsMs, histograms.values, hLo, hHi, ctx, report);
    switch (func) {
      case 'irate':
      case 'idelta': {
        // Only the last two samples matter: both histograms or both floats, else the types mix.
        const tail = [
          ...[hHi - 2, hHi - 1].filter((k) => k >= hLo).map((k) => ({ t: histograms.timestampsMs[k]!, histogram: true })),
          ...[hi - 2, hi - 1].filter((k) => k >= lo).map((k) => ({ t: floats.timestampsMs[k]!, histogram: false })),
        ].sort((a, b) => b.t - a.t).slice(0, 2);
        if (tail.length < 2) return undefined;
        if (tail[0]!.histogram && tail[1]!.histogram) return histogramKernel(histograms.timestampsMs, histograms.values, hHi - 2, hHi, ctx, report);
        if (!tail[0]!.histogram && !tail[1]!.histogram) return WINDOW_KERNELS[func]!(floats.timestampsMs, floats.values, hi - 2, hi, ctx);
        this.annotations.warn(`encountered a mix of histograms and floats for metric name ${JSON.stringify(name)}`, rangeArg.pos);
        return undefined;
      }
      case 'count_over_time':
        return hHi - hLo + (hi - lo);
      case 'present_over_time':
        return 1;
      case 'last_over_time':
      case 'ts_of_last_over_time':
        return histograms.timestampsMs[hHi - 1]! > floats.timestampsMs[hi - 1]!
          ? histogramKernel(histograms.timestampsMs, histograms.values, hLo, hHi, ctx, report)
          : WINDOW_KERNELS[func]!(floats.timestampsMs, floats.values, lo, hi, ctx);
      case 'first_over_time':
      case 'ts_of_first_over_time':
        return histograms.timestampsMs[hLo]! < floats.timestampsMs[lo]!
          ? histogramKernel(histograms.timestampsMs, histograms.values, hLo, hHi, ctx, report)
          : WINDOW_KERNELS[func]!(floats.timestampsMs, floats.values, lo, hi, ctx);
      default:
        this.annotations.warn(`encountered a mix of histograms and floats for metric name ${JSON.stringify(name)}`, rangeArg.pos);
        return undefined;
    }
  }

  reportHistogramProblem(problem: HistogramProblem, name: string, call: Call, rangeArg: MatrixSelector | SubqueryExpr): void {
    switch (problem) {
      case 'mixed-schemas':
        this.annotations.warn(`vector contains a mix of histograms with exponential and custom buckets schemas for metric name ${JSON.stringify(name)}`, rangeArg.pos);
        break;
      case 'not-counter':
        this.annotations.warn(`this native histogram metric is not a counter: ${JSON.stringify(name)}`, rangeArg.pos);
        break;
      case 'not-gauge':
        this.annotations.warn(`this native histogram metric is not a gauge: ${JSON.stringify(name)}`, rangeArg.pos);
        break;
      case 'reconciled':
        this.annotations.info(`mismatched custom buckets were reconciled during ${call.func === 'delta' || call.func === 'rate' || call.func === 'increase' || call.func === 'idelta' || call.func === 'irate' ? 'subtraction' : 'aggregation'}`, rangeArg.pos);
        break;
    }
  }

  /** step(), range(), start(), end(): properties of the query, in seconds. */
  private queryScalar(name: string): number | undefined {
    const o = this.options;
    switch (name) {
      case 'step':
        return o.queryStepMs / 1000;
      case 'range':
        return (o.queryEndMs - o.queryStartMs) / 1000;
      case 'start':
        return o.queryStartMs / 1000;
      case 'end':
        return o.queryEndMs / 1000;
      default:
        return undefined;
    }
  }

  private async evaluateWindowFunction(call: Call, grid: StepGrid, kernel: (typeof WINDOW_KERNELS)[string]): Promise<EvalValue> {
    const rangeArgIndex = call.args.findIndex((a) => a.type === 'MatrixSelector' || a.type === 'SubqueryExpr' || (a.type === 'ParenExpr' && unwrapParens(a).type !== 'VectorSelector'));
    const rangeArg = unwrapParens(call.args[rangeArgIndex]!) as MatrixSelector | SubqueryExpr;
    const scalarArgs: Float64Array[] = [];
    for (let i = 0; i < call.args.length; i++) {
      if (i === rangeArgIndex) continue;
      const value = await this.evaluate(call.args[i]!, grid);
      scalarArgs.push(value.kind === 'scalar' ? value.values : new Float64Array(grid.count).fill(NaN));
    }
    if (call.func === 'double_exponential_smoothing') {
      for (const [index, name] of [[0, 'smoothing'], [1, 'trend']] as const) {
        const factor = scalarArgs[index]![0]!;
        if (!(factor > 0 && factor < 1)) throw new PromQLQueryError(`invalid ${name} factor. Expected: 0 < ${name === 'smoothing' ? 'sf' : 'tf'} < 1, got: ${factor.toFixed(6)}`);
      }
    }
    if (call.func === 'quantile_over_time') {
      for (const q of scalarArgs[0]!) {
        if (!(q >= 0 && q <= 1)) this.annotations.warn(`quantile value should be between 0 and 1, got ${formatNumberForMessage(q)}`, call.args[0]!.pos);
      }
    }
    const modifier = rangeArg.type === 'MatrixSelector' ? rangeArg.modifier : undefined;
    if (modifier !== undefined && !MODIFIER_FUNCTIONS[modifier].includes(call.func)) {
      throw new PromQLQueryError(`${modifier} modifier can only be used with: ${MODIFIER_FUNCTIONS[modifier].join(', ')} - not with ${call.func}`);
    }
    const input = await this.rangeInput(rangeArg, grid);
    const keepName = KEEPS_METRIC_NAME.has(call.func);
    const out: StepVectorSeries[] = [];
    const ctx: WindowContext = { refMs: 0, rangeMs: input.rangeMs, params: scalarArgs.map(() => 0), modifier, stepMs: 0, lookbackDeltaMs: this.options.lookbackDeltaMs };
    const checkCounterName = RATE_FUNCTIONS.has(call.func);
    const histogramKernel = HISTOGRAM_KERNELS[call.func];
    for (const s of input.series) {
      const result = newVectorSeries(s.labels, grid.count, keepName ? s.dropName === true : true);
      // Float samples only (the common case): the series is its own float view, no split objects; its
      // arrays read once, not per step (the TSDB's series object or a split view: several shapes).
      const split = hasHistogramSamples(s) ? splitSamples(s) : undefined;
      const floats = split === undefined ? s : split.floats;
      const { timestampsMs: floatTimesMs, values: floatValues } = floats;
      const histograms = split?.histograms;
      const name = s.labels.__name__ ?? '';
      const report = histograms === undefined ? ignoreProblem : (problem: HistogramProblem): void => this.reportHistogramProblem(problem, name, call, rangeArg);
      let lo = 0;
      let hi = 0;
      let hLo = 0;
      let hHi = 0;
      let previousRef = -Infinity;
      let any = false;
      let anyFloat = false;
      for (let i = 0; i < grid.count; i++) {
        const ref = input.refs[i]!;
        if (ref < previousRef) {
          lo = hi = hLo = hHi = 0;
        }
        previousRef = ref;
        lo = advance(floatTimesMs, lo, ref - input.rangeMs);
        hi = advance(floatTimesMs, hi, ref);
        ctx.refMs = ref;
        ctx.stepMs = stepTime(grid, i);
        for (let p = 0; p < scalarArgs.length; p++) ctx.params[p] = scalarArgs[p]![i]!;
        if (histograms !== undefined) {
          hLo = advance(histograms.timestampsMs, hLo, ref - input.rangeMs);
          hHi = advance(histograms.timestampsMs, hHi, ref);
          if (call.func === 'changes' || call.func === 'resets') {
            const value = mixedTransitions(call.func, floats, lo, hi, histograms, hLo, hHi, ctx);
            if (value === undefined) continue;
            result.values[i] = value;
            result.present[i] = 1;
            any = true;
            continue;
          }
          if (hHi > hLo) {
            const value = this.histogramWindow(call.func, histogramKernel, histograms, hLo, hHi, floats, lo, hi, ctx, report, name, rangeArg);
            if (value === undefined) continue;
            if (typeof value === 'number') result.values[i] = value;
            else setHistogram(result, i, value);
            result.present[i] = 1;
            any = true;
            continue;
          }
        }
        // A smoothed window may interpolate between samples on both sides of it.
        if (hi === lo && modifier !== 'smoothed') continue;
        const value = kernel(floatTimesMs, floatValues, lo, hi, ctx);
        if (value === undefined) continue;
        result.values[i] = value;
        result.present[i] = 1;
        any = true;
        anyFloat = true;
      }
      if (!any) continue;
      if (checkCounterName && anyFloat) {
        if (name !== '' && !COUNTER_SUFFIXES.some((suffix) => name.endsWith(suffix))) {
          this.annotations.info(`metric might not be a counter, name does not end in _total/_sum/_count/_bucket: ${JSON.stringify(name)}`, rangeArg.pos);
        }
      }
      out.push(result);
    }
    this.checkAbort('expression evaluation');
    return { kind: 'vector', series: out };
  }
}

function unwrapParens(expr: Expr): Expr {
  while (expr.type === 'ParenExpr') expr = expr.expr;
  return expr;
}

function isVectorSelector(expr: Expr): boolean {
  return unwrapParens(expr).type === 'VectorSelector';
}

/** absent()/absent_over_time(): 1 where the input had nothing, labelled from the selector's `=` matchers. */
function absentResult(arg: Expr, inputPresent: Uint8Array, grid: StepGrid): EvalValue {
  const labels: Record<string, string> = {};
  const inner = unwrapParens(arg);
  const selector = inner.type === 'VectorSelector' ? inner : inner.type === 'MatrixSelector' ? inner.vector : undefined;
  if (selector !== undefined) {
    const seen = new Set<string>();
    for (const m of selector.matchers) {
      if (m.name === '__name__') continue;
      if (m.type === '=' && !seen.has(m.name)) labels[m.name] = m.value;
      else delete labels[m.name];
      seen.add(m.name);
    }
  }
  const out = newVectorSeries(labels, grid.count);
  for (let i = 0; i < grid.count; i++) {
    if (inputPresent[i]) continue;
    out.values[i] = 1;
    out.present[i] = 1;
  }
  return { kind: 'vector', series: hasAnyPoint(out) ? [out] : [] };
}

function formatNumberForMessage(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}

export { mergeSameLabels };

/** Equal counts, sum and buckets: one stored sample repeated by a subquery's steps. */
function sameHistogram(a: NativeHistogram, b: NativeHistogram): boolean {
  if (a.count !== b.count || a.sum !== b.sum || a.zeroCount !== b.zeroCount || a.schema !== b.schema || a.zeroThreshold !== b.zeroThreshold) return false;
  if (a.positive.size !== b.positive.size || a.negative.size !== b.negative.size) return false;
  if ((a.customValues ?? []).join() !== (b.customValues ?? []).join()) return false;
  for (const [index, count] of a.positive) if (b.positive.get(index) !== count) return false;
  for (const [index, count] of a.negative) if (b.negative.get(index) !== count) return false;
  return true;
}
