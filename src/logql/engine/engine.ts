// The LogQL engine: parses a query, evaluates it against a LogSource, and returns typed results in
// Loki's shapes and order. Limits (max entries, max series, timeout) fail with Loki's messages.

import os from 'node:os';
import type { BlockReaderConfig, LogSource } from '../../store/types.ts';
import { QueryError, type QueryParams, type QueryResult, type SampleResult, type SeriesResult } from '../api.ts';
import type { Expr, SampleExpr } from '../syntax/ast.ts';
import { StageBuildError } from '../log/line-filter.ts';
import { IpPatternError } from '../log/ip.ts';
import { evaluateLogQuery } from './log-query.ts';
import { evaluateSampleExpr } from './metric-evaluator.ts';
import { QueryContext } from './query-context.ts';
import { workerOffload } from './scan-pool.ts';
import { compareLabels } from './series-labels.ts';
import { sortByValue } from './vector-aggregation.ts';
import { ScanBudget, type ScanBudgetStats } from './scan-budget.ts';

export interface EngineOptions {
  /** Loki's `query_timeout` (default 1m). */
  timeoutMs?: number;
  /** Loki's `max_entries_limit_per_query` (default 5000). 0 disables the check. */
  maxEntriesLimitPerQuery?: number;
  /** Loki's `max_query_series` (default 500). */
  maxQuerySeries?: number;
  /** Threads for big scans (default: cores). */
  workerThreads?: number;
  /** Raw bytes of blocks all queries of this engine hold decoded at once (store.memory.scan_bytes); unbounded without it. */
  scanBudgetBytes?: number;
  /**
   * How worker threads read persisted blocks. Defaults to the source's `blockReaderConfig()` when it
   * has one (the disk store does); without it scans stay on one thread.
   */
  blockReader?: BlockReaderConfig;
  /** Scans with less raw text than this stay on the main thread (default 32 MiB). */
  parallelScanMinRawBytes?: number;
  /** Parses query text; injected so the engine does not depend on the parser's module layout. */
  parse: (text: string) => Expr;
}

export interface LogQLEngine {
  query(params: QueryParams): Promise<QueryResult>;
  /** Evaluates an already parsed expression. */
  evaluate(expr: Expr, params: QueryParams): Promise<QueryResult>;
  /** The scan byte budget's figures, when the engine has one. */
  scanBudget(): ScanBudgetStats | undefined;
}

export const ENGINE_DEFAULTS = {
  timeoutMs: 60_000,
  maxEntriesLimitPerQuery: 5000,
  maxQuerySeries: 500,
  workerThreads: Math.max(1, os.availableParallelism()),
};

/** An answer lists at most this many warnings: a store with thousands of corrupt blocks stays readable. */
const MAX_WARNINGS = 100;

function boundedWarnings(warnings: string[]): string[] {
  if (warnings.length <= MAX_WARNINGS) return warnings;
  return [...warnings.slice(0, MAX_WARNINGS - 1), `… and ${warnings.length - MAX_WARNINGS + 1} more warnings like these`];
}

/** Step timestamps: start, start+step, … up to and including end (Loki does not align them). */
export function stepTimestamps(params: QueryParams): bigint[] {
  if (params.instant || params.startNs === params.endNs) return [params.endNs];
  const stepNs = BigInt(Math.max(1, Math.round(params.stepMs))) * 1_000_000n;
  const steps: bigint[] = [];
  const maxSteps = 11_000;
  for (let t = params.startNs; t <= params.endNs; t += stepNs) {
    steps.push(t);
    if (steps.length > maxSteps) {
      throw new QueryError(
        'exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)',
      );
    }
  }
  return steps;
}

export function createLogQLEngine(source: LogSource, options: EngineOptions): LogQLEngine {
  const limits = {
    timeoutMs: options.timeoutMs ?? ENGINE_DEFAULTS.timeoutMs,
    maxEntriesLimitPerQuery: options.maxEntriesLimitPerQuery ?? ENGINE_DEFAULTS.maxEntriesLimitPerQuery,
    maxQuerySeries: options.maxQuerySeries ?? ENGINE_DEFAULTS.maxQuerySeries,
  };
  const threads = options.workerThreads ?? ENGINE_DEFAULTS.workerThreads;
  const blockReader = options.blockReader ?? source.blockReaderConfig?.();
  const offload = blockReader && threads > 1 ? workerOffload(blockReader, threads, options.parallelScanMinRawBytes) : undefined;
  const scanBudget = options.scanBudgetBytes === undefined ? undefined : new ScanBudget(options.scanBudgetBytes);
  const evaluate = async (expr: Expr, params: QueryParams): Promise<QueryResult> => {
    const started = performance.now();
    const context = new QueryContext(source, params.tenant, limits, params.signal);
    context.offload = offload;
    context.scanBudget = scanBudget;
    try {
      const result = await evaluateExpr(context, expr, params);
      context.stats.execTimeSeconds = (performance.now() - started) / 1000;
      if (context.warnings.size > 0) result.warnings = boundedWarnings([...context.warnings]);
      return result;
    } catch (error) {
      if (error instanceof StageBuildError || error instanceof IpPatternError) throw new QueryError(error.message);
      throw error;
    }
  };
  return {
    evaluate,
    scanBudget: () => scanBudget?.stats(),
    async query(params) {
      return evaluate(options.parse(params.query), params);
    },
  };
}

async function evaluateExpr(context: QueryContext, expr: Expr, params: QueryParams): Promise<QueryResult> {
  if (expr.kind === 'log') {
    // Loki 3 answers 400 to log queries sent as instant queries.
    if (params.instant) {
      throw new QueryError('log queries are not supported as an instant query type, please change your query to a range query type');
    }
    const streams = await evaluateLogQuery(context, expr, params);
    return { resultType: 'streams', streams, stats: context.stats };
  }
  const stepsNs = stepTimestamps(params);
  const evaluated = await evaluateSampleExpr(context, expr, stepsNs);
  const stepsMs = stepsNs.map((t) => Number(t / 1_000_000n));
  if (evaluated.kind === 'scalar') {
    if (params.instant || stepsNs.length === 1) {
      return { resultType: 'scalar', timestampMs: stepsMs[0]!, value: evaluated.value, stats: context.stats };
    }
    return {
      resultType: 'matrix',
      series: [{ labels: {}, samples: stepsMs.map((t) => [t, evaluated.value] as [number, number]) }],
      stats: context.stats,
    };
  }
  // Loki's max_query_series applies to the result, not to intermediate vectors.
  context.checkSeries(evaluated.series.length);
  if (params.instant) {
    let series = evaluated.series.filter((s) => s.present[0]);
    const order = resultOrder(expr);
    if (order === 'labels') series.sort((a, b) => compareLabels(a.labels, b.labels));
    else series = sortByValue(series, order === 'desc');
    const samples: SampleResult[] = series.map((s) => ({ labels: s.labels, timestampMs: stepsMs[0]!, value: s.values[0]! }));
    return { resultType: 'vector', samples, stats: context.stats };
  }
  const series: SeriesResult[] = [];
  for (const s of evaluated.series) {
    const samples: Array<[number, number]> = [];
    for (let i = 0; i < stepsMs.length; i++) if (s.present[i]) samples.push([stepsMs[i]!, s.values[i]!]);
    if (samples.length > 0) series.push({ labels: s.labels, samples });
  }
  series.sort((a, b) => compareLabels(a.labels, b.labels));
  return { resultType: 'matrix', series, stats: context.stats };
}

/** Instant vectors are sorted by labels, except the value-ordering aggregations. */
function resultOrder(expr: SampleExpr): 'labels' | 'asc' | 'desc' {
  if (expr.kind === 'vectorAggregation') {
    if (expr.op === 'sort') return 'asc';
    if (expr.op === 'sort_desc' || expr.op === 'topk') return 'desc';
    if (expr.op === 'bottomk') return 'asc';
  }
  return 'labels';
}
