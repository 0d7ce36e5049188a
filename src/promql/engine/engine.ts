// The PromQL engine's public surface: instant and range queries over a MetricsSource, with Prometheus
// 3.x defaults (5m lookback, 1m default subquery step, 50M samples), a timeout or abort signal, and
// results shaped for Prometheus' HTTP JSON (`toPrometheusData`).

import type { Labels } from '../../push/types.ts';
import type { FloatHistogram, MetricsSource } from '../../tsdb/types.ts';
import { allBuckets, fromFloatHistogram, toFloatHistogram, usesCustomBuckets, type NativeHistogram } from './native-histogram.ts';
import { formatPlainFloat } from '../../logql/syntax/numbers.ts';
import type { DurationExpr, Expr } from '../syntax/ast.ts';
import { evaluateDuration } from '../syntax/duration-expr.ts';
import { parseExpr } from '../syntax/parser.ts';
import { typeOf } from '../syntax/types.ts';
import { PromQLQueryError } from './errors.ts';
import { Evaluator } from './evaluator.ts';
import { borrowJsonBytes, releaseJsonBytes } from './json-bytes.ts';
import { DuplicateLabelsetError, sortByLabels, histogramAt, mergeSameLabels, sortedLabels, withoutName, type EvalValue, type StepVectorSeries } from './series.ts';

export interface PromQLEngineOptions {
  /** How far back an instant selector looks for a sample (Prometheus' --query.lookback-delta). */
  lookbackDeltaMs?: number;
  /** Step of subqueries written without one (`[1h:]`); Prometheus uses the global evaluation interval. */
  defaultSubqueryStepMs?: number;
  /** Prometheus' --query.max-samples. */
  maxSamples?: number;
  /** Prometheus' --query.timeout. */
  timeoutMs?: number;
}

export interface QueryOptions {
  signal?: AbortSignal;
  lookbackDeltaMs?: number;
}

export interface InstantSample {
  labels: Labels;
  timestampMs: number;
  value: number;
  /** Set when the sample is a native histogram (`value` is then meaningless). */
  histogram?: FloatHistogram;
}

export interface RangeSeriesResult {
  labels: Labels;
  timestampsMs: number[];
  values: number[];
  /** Aligned with `timestampsMs` when the series has native histogram samples. */
  histograms?: Array<FloatHistogram | undefined>;
}

export type QueryValue =
  | { resultType: 'vector'; result: InstantSample[] }
  | { resultType: 'matrix'; result: RangeSeriesResult[] }
  | { resultType: 'scalar'; result: { timestampMs: number; value: number } }
  | { resultType: 'string'; result: { timestampMs: number; value: string } };

export interface QueryResult {
  value: QueryValue;
  warnings: string[];
  infos: string[];
}

export const DEFAULT_LOOKBACK_DELTA_MS = 5 * 60_000;
export const DEFAULT_SUBQUERY_STEP_MS = 60_000;
export const DEFAULT_MAX_SAMPLES = 50_000_000;
export const DEFAULT_TIMEOUT_MS = 2 * 60_000;
export const MAX_POINTS_PER_SERIES = 11_000;

/**
 * Parsed queries kept by their text. Dashboards and rules send the same few queries again and again,
 * and a parse runs once per query, mostly before V8 optimises the parser: 0.05–0.2 ms of CPU on the
 * compare bench's 1–3 ms instant queries. The AST is plain data the evaluation only reads.
 */
const PARSE_CACHE_ENTRIES = 256;

export class PromQLEngine {
  private readonly source: MetricsSource;
  private readonly options: Required<PromQLEngineOptions>;
  private readonly parsed = new Map<string, Expr>();

  constructor(source: MetricsSource, options: PromQLEngineOptions = {}) {
    this.source = source;
    this.options = {
      lookbackDeltaMs: options.lookbackDeltaMs ?? DEFAULT_LOOKBACK_DELTA_MS,
      defaultSubqueryStepMs: options.defaultSubqueryStepMs ?? DEFAULT_SUBQUERY_STEP_MS,
      maxSamples: options.maxSamples ?? DEFAULT_MAX_SAMPLES,
      timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    };
  }

  async instantQuery(tenant: string, query: string | Expr, timeMs: number, options: QueryOptions = {}): Promise<QueryResult> {
    return this.run(tenant, query, timeMs, timeMs, 0, options);
  }

  async rangeQuery(tenant: string, query: string | Expr, startMs: number, endMs: number, stepMs: number, options: QueryOptions = {}): Promise<QueryResult> {
    if (!(stepMs > 0)) throw new PromQLQueryError('zero or negative query resolution step widths are not accepted. Try a positive integer', 'bad_data');
    if (endMs < startMs) throw new PromQLQueryError('end timestamp must not be before start time', 'bad_data');
    // Prometheus' API refuses more than 11,000 points per series; the engine enforces it for every caller.
    if ((endMs - startMs) / stepMs > MAX_POINTS_PER_SERIES) {
      throw new PromQLQueryError('exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)', 'bad_data');
    }
    return this.run(tenant, query, startMs, endMs, stepMs, options);
  }

  /** parseExpr through a least-recently-used cache (a parse error is thrown again each time). */
  private parse(query: string): Expr {
    let expr = this.parsed.get(query);
    if (expr !== undefined) {
      this.parsed.delete(query);
    } else {
      expr = parseExpr(query);
      if (this.parsed.size >= PARSE_CACHE_ENTRIES) this.parsed.delete(this.parsed.keys().next().value!);
    }
    this.parsed.set(query, expr);
    return expr;
  }

  private async run(tenant: string, query: string | Expr, startMs: number, endMs: number, stepMs: number, options: QueryOptions): Promise<QueryResult> {
    const parsed = typeof query === 'string' ? this.parse(query) : query;
    const expr = resolveDurations(parsed, { stepMs, rangeMs: endMs - startMs });
    const isRange = stepMs > 0;
    if (isRange) {
      // Checked before evaluating, as Prometheus does when it creates the query: its API answers 400.
      const type = typeOf(expr);
      if (type === 'string' || type === 'matrix') throw new PromQLQueryError(rangeTypeMessage(type), 'bad_data');
    }
    // A deadline checked where the evaluator checks its signal, rather than AbortSignal.timeout joined
    // to the caller's signal by AbortSignal.any: those hold a 2-minute timer and weak references per
    // query, about 15 µs of CPU and garbage for the collector on every query (the compare bench's
    // instant queries take 2–5 ms).
    const deadlineMs = performance.now() + this.options.timeoutMs;
    // Released once the result below holds its own copies of every value it needs.
    const scratch = this.source.createScratch?.();
    try {
      const evaluator = new Evaluator({
        source: this.source,
        tenant,
        queryStartMs: startMs,
        queryEndMs: endMs,
        queryStepMs: stepMs,
        lookbackDeltaMs: options.lookbackDeltaMs ?? this.options.lookbackDeltaMs,
        defaultSubqueryStepMs: this.options.defaultSubqueryStepMs,
        maxSamples: this.options.maxSamples,
        signal: options.signal,
        deadlineMs,
        ...(scratch ? { scratch } : {}),
      }, typeof query === 'string' ? query : undefined);
      const count = isRange ? Math.floor((endMs - startMs) / stepMs) + 1 : 1;
      const grid = { startMs, stepMs: isRange ? stepMs : 1, count };
      const evaluated = await evaluator.evaluate(expr, grid);
      const value = isRange ? rangeResult(evaluated, grid) : instantResult(evaluated, startMs);
      return { value, warnings: [...evaluator.annotations.warnings], infos: [...evaluator.annotations.infos] };
    } finally {
      scratch?.release();
    }
  }
}

/** Removes `__name__` where an operation asked for it (delayed removal), then rejects collisions. */
function finalizeVector(series: StepVectorSeries[], count: number): StepVectorSeries[] {
  // In place: the query is over, nothing reads these series but the result built from them (a copy
  // of each was an object per series per query). The same series listed twice is renamed once.
  for (const s of series) {
    if (!s.dropName) continue;
    s.labels = withoutName(s.labels);
    s.dropName = false;
  }
  const cleaned = series;
  try {
    return mergeSameLabels(cleaned, count);
  } catch (error) {
    if (error instanceof DuplicateLabelsetError) throw new PromQLQueryError(error.message);
    throw error;
  }
}

function instantResult(value: EvalValue, timeMs: number): QueryValue {
  switch (value.kind) {
    case 'scalar':
      return { resultType: 'scalar', result: { timestampMs: timeMs, value: value.values[0]! } };
    case 'string':
      return { resultType: 'string', result: { timestampMs: timeMs, value: value.value } };
    case 'vector': {
      const result: InstantSample[] = [];
      for (const s of finalizeVector(value.series, 1)) {
        if (!s.present[0]) continue;
        const histogram = histogramAt(s, 0);
        result.push(histogram === undefined
          ? { labels: sortedLabels(s.labels), timestampMs: timeMs, value: s.values[0]! }
          : { labels: sortedLabels(s.labels), timestampMs: timeMs, value: s.values[0]!, histogram: toFloatHistogram(histogram) });
      }
      return { resultType: 'vector', result };
    }
    case 'matrix': {
      const series = value.series.map((s) => ({ ...s, labels: s.dropName ? withoutName(s.labels) : s.labels }));
      const seen = new Set<string>();
      for (const s of series) {
        const key = JSON.stringify(sortedLabels(s.labels));
        if (seen.has(key)) throw new PromQLQueryError('vector cannot contain metrics with the same labelset');
        seen.add(key);
      }
      return {
        resultType: 'matrix',
        result: sortByLabels(series
          .map((s) => ({
            labels: sortedLabels(s.labels),
            timestampsMs: Array.from(s.timestampsMs),
            values: Array.from(s.values),
            ...(s.histograms ? { histograms: s.histograms.map((h) => h && toFloatHistogram(h)) } : {}),
          }))),
      };
    }
  }
}

function rangeTypeMessage(type: 'string' | 'matrix'): string {
  return `invalid expression type "${type === 'string' ? 'string' : 'range vector'}" for range query, must be Scalar or instant Vector`;
}

function rangeResult(value: EvalValue, grid: { startMs: number; stepMs: number; count: number }): QueryValue {
  if (value.kind === 'string' || value.kind === 'matrix') throw new PromQLQueryError(rangeTypeMessage(value.kind), 'bad_data');
  const series: StepVectorSeries[] = value.kind === 'scalar'
    ? [{ labels: {}, values: value.values, present: new Uint8Array(grid.count).fill(1), dropName: false }]
    : finalizeVector(value.series, grid.count);
  const result: RangeSeriesResult[] = [];
  for (const s of series) {
    const timestampsMs: number[] = [];
    const values: number[] = [];
    const histograms: Array<FloatHistogram | undefined> | undefined = s.histograms ? [] : undefined;
    for (let i = 0; i < grid.count; i++) {
      if (!s.present[i]) continue;
      timestampsMs.push(grid.startMs + i * grid.stepMs);
      values.push(s.values[i]!);
      if (histograms) {
        const h: NativeHistogram | undefined = s.histograms![i];
        histograms.push(h && toFloatHistogram(h));
      }
    }
    if (timestampsMs.length > 0) result.push({ labels: sortedLabels(s.labels), timestampsMs, values, ...(histograms ? { histograms } : {}) });
  }
  return { resultType: 'matrix', result: sortByLabels(result) };
}

/** Replaces `step()`/`range()` duration expressions with this query's values. */
function resolveDurations(expr: Expr, query: { stepMs: number; rangeMs: number }): Expr {
  const ms = (d: DurationExpr | undefined, fallback: number): number => {
    if (d === undefined) return fallback;
    const seconds = evaluateDuration(d, query) ?? 0;
    return Math.trunc(Math.round(seconds * 1e6) / 1e3);
  };
  switch (expr.type) {
    case 'VectorSelector':
      return expr.offsetExpr === undefined ? expr : { ...expr, offsetMs: ms(expr.offsetExpr, expr.offsetMs), offsetExpr: undefined };
    case 'MatrixSelector': {
      const vector = resolveDurations(expr.vector, query) as typeof expr.vector;
      if (expr.rangeExpr === undefined && vector === expr.vector) return expr;
      return { ...expr, vector, rangeMs: ms(expr.rangeExpr, expr.rangeMs), rangeExpr: undefined };
    }
    case 'SubqueryExpr':
      return {
        ...expr,
        expr: resolveDurations(expr.expr, query),
        rangeMs: ms(expr.rangeExpr, expr.rangeMs),
        stepMs: ms(expr.stepExpr, expr.stepMs),
        offsetMs: ms(expr.offsetExpr, expr.offsetMs),
        rangeExpr: undefined,
        stepExpr: undefined,
        offsetExpr: undefined,
      };
    case 'Call':
      return { ...expr, args: expr.args.map((a) => resolveDurations(a, query)) };
    case 'AggregateExpr':
      return { ...expr, expr: resolveDurations(expr.expr, query), param: expr.param && resolveDurations(expr.param, query) };
    case 'BinaryExpr':
      return { ...expr, lhs: resolveDurations(expr.lhs, query), rhs: resolveDurations(expr.rhs, query) };
    case 'UnaryExpr':
    case 'ParenExpr':
      return { ...expr, expr: resolveDurations(expr.expr, query) };
    default:
      return expr;
  }
}

/** Prometheus' HTTP API `data` object: `{resultType, result}` with `[seconds, "value"]` pairs. */
export function toPrometheusData(value: QueryValue): { resultType: string; result: unknown } {
  const pair = (timestampMs: number, v: number): [number, string] => [timestampMs / 1000, formatPlainFloat(v)];
  switch (value.resultType) {
    case 'vector':
      return {
        resultType: 'vector',
        result: value.result.map((s) =>
          s.histogram ? { metric: s.labels, histogram: [s.timestampMs / 1000, histogramJson(s.histogram)] } : { metric: s.labels, value: pair(s.timestampMs, s.value) },
        ),
      };
    case 'matrix':
      return {
        resultType: 'matrix',
        result: value.result.map((s) => {
          const out: { metric: Labels; values?: Array<[number, string]>; histograms?: Array<[number, unknown]> } = { metric: s.labels };
          const floats = s.timestampsMs.flatMap((t, i) => (s.histograms?.[i] ? [] : [pair(t, s.values[i]!)]));
          const histograms = s.timestampsMs.flatMap((t, i) => (s.histograms?.[i] ? [[t / 1000, histogramJson(s.histograms[i]!)] as [number, unknown]] : []));
          if (floats.length > 0 || histograms.length === 0) out.values = floats;
          if (histograms.length > 0) out.histograms = histograms;
          return out;
        }),
      };
    case 'scalar':
      return { resultType: 'scalar', result: pair(value.result.timestampMs, value.result.value) };
    case 'string':
      return { resultType: 'string', result: [value.result.timestampMs / 1000, value.result.value] };
  }
}

/**
 * `JSON.stringify(toPrometheusData(value))`, written as text directly: no array and string object per
 * sample (a range query's answer holds one per point, and they were most of the young-generation
 * garbage, and so of the scavenges, behind the compare bench's range queries).
 */
export function prometheusDataJson(value: QueryValue): string {
  switch (value.resultType) {
    case 'scalar':
    case 'string':
      return JSON.stringify(toPrometheusData(value));
    case 'vector': {
      let out = '{"resultType":"vector","result":[';
      // An instant vector's samples share one time: formatted once, not per series.
      let timeMs = Number.NaN;
      let timeText = '';
      for (let k = 0; k < value.result.length; k++) {
        const s = value.result[k]!;
        if (k > 0) out += ',';
        // Samples are rare enough as histograms to go through the object form.
        if (s.histogram) {
          out += JSON.stringify({ metric: s.labels, histogram: [s.timestampMs / 1000, histogramJson(s.histogram)] });
          continue;
        }
        if (s.timestampMs !== timeMs) {
          timeMs = s.timestampMs;
          timeText = JSON.stringify(timeMs / 1000);
        }
        out += `{"metric":${JSON.stringify(s.labels)},"value":[${timeText},"${formatPlainFloat(s.value)}"]}`;
      }
      return `${out}]}`;
    }
    case 'matrix': {
      const out = borrowJsonBytes();
      try {
        out.ascii('{"resultType":"matrix","result":[');
        // A range query's series share its steps: each step's time is formatted once, not per series.
        const stepTimes: number[] = [];
        const stepTexts: string[] = [];
        for (let k = 0; k < value.result.length; k++) {
          const s = value.result[k]!;
          if (k > 0) out.ascii(',');
          if (s.histograms?.some((h) => h !== undefined)) {
            const data = toPrometheusData({ resultType: 'matrix', result: [s] }) as { result: unknown[] };
            out.utf8(JSON.stringify(data.result[0]));
            continue;
          }
          out.ascii('{"metric":');
          out.utf8(JSON.stringify(s.labels));
          out.ascii(',"values":[');
          for (let i = 0; i < s.timestampsMs.length; i++) {
            const t = s.timestampsMs[i]!;
            if (stepTimes[i] !== t) {
              stepTimes[i] = t;
              stepTexts[i] = JSON.stringify(t / 1000);
            }
            out.ascii(i > 0 ? ',[' : '[');
            out.ascii(stepTexts[i]!);
            out.ascii(',"');
            out.ascii(formatPlainFloat(s.values[i]!));
            out.ascii('"]');
          }
          out.ascii(']}');
        }
        out.ascii(']}');
        return out.take();
      } finally {
        releaseJsonBytes(out);
      }
    }
  }
}

/** Prometheus' JSON for a native histogram: counts as strings, buckets as [boundaryRule, lower, upper, count]. */
function histogramJson(h: FloatHistogram): { count: string; sum: string; buckets: Array<[number, string, string, string]> } {
  const buckets: Array<[number, string, string, string]> = [];
  const native = fromFloatHistogram(h);
  for (const b of allBuckets(native)) {
    if (b.count === 0) continue;
    // 0: (lower, upper], 1: [lower, upper), 3: [lower, upper] (the zero bucket).
    const rule = b.isZero ? 3 : b.upper <= 0 && !usesCustomBuckets(native) ? 1 : 0;
    buckets.push([rule, formatPlainFloat(b.lower), formatPlainFloat(b.upper), formatPlainFloat(b.count)]);
  }
  return { count: formatPlainFloat(h.count), sum: formatPlainFloat(h.sum), buckets };
}
