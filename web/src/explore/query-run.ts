// Runs the Explore query and shapes the answer for the views: log rows, metric series or a scalar.
import { queryRange, type QueryData } from '../api/loki-client.ts';
import { mergeStreams, type LogRow } from '../logs/log-rows.ts';
import { seriesFromMatrix, seriesFromVector, type Series } from '../metrics/metric-data.ts';
import { msToNs, stepForRange, type ResolvedRange } from './time-range.ts';

export interface RunRequest {
  query: string;
  range: ResolvedRange;
  limit: number;
}

export type RunResult =
  | { kind: 'logs'; rows: LogRow[]; hasMore: boolean; elapsedMs: number }
  | { kind: 'metric'; series: Series[]; stepMs: number; elapsedMs: number }
  | { kind: 'scalar'; value: string; elapsedMs: number };

/** ~300 points per series: a point per 3–4 px on a typical screen, and well under Loki's 11,000 cap. */
const METRIC_POINTS = 300;

export function shapeResult(data: QueryData, limit: number, stepMs: number, elapsedMs: number): RunResult {
  switch (data.resultType) {
    case 'streams': {
      const rows = mergeStreams(data.result, 'backward');
      return { kind: 'logs', rows, hasMore: rows.length >= limit, elapsedMs };
    }
    case 'matrix':
      return { kind: 'metric', series: seriesFromMatrix(data.result), stepMs, elapsedMs };
    case 'vector':
      return { kind: 'metric', series: seriesFromVector(data.result), stepMs, elapsedMs };
    case 'scalar':
      return { kind: 'scalar', value: data.result[1], elapsedMs };
  }
}

export async function runQuery(request: RunRequest, signal: AbortSignal): Promise<RunResult> {
  const started = performance.now();
  const stepMs = stepForRange(request.range, METRIC_POINTS);
  const data = await queryRange(
    {
      query: request.query,
      startNs: msToNs(request.range.fromMs),
      endNs: msToNs(request.range.toMs),
      limit: request.limit,
      direction: 'backward',
      stepMs,
    },
    signal,
  );
  return shapeResult(data, request.limit, stepMs, performance.now() - started);
}

/** The page of lines older than the oldest one shown. End is exclusive; +1 ns re-reads lines sharing the
 * oldest timestamp, and the caller drops those duplicates. */
export async function loadOlderPage(request: RunRequest, oldest: LogRow, signal: AbortSignal): Promise<LogRow[]> {
  const data = await queryRange(
    { query: request.query, startNs: msToNs(request.range.fromMs), endNs: oldest.timestampNs + 1n, limit: request.limit, direction: 'backward' },
    signal,
  );
  return data.resultType === 'streams' ? mergeStreams(data.result, 'backward') : [];
}
