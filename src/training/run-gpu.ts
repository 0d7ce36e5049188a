// A run's GPUs beside its logs, for GET /api/v1/runs/{id}/gpu: per-rank utilization over a window
// (the run page's strip, one row per rank and GPU) and the verdict of gpu-correlation.ts, read with
// PromQL from the metrics store through a small source interface (the server passes its engine).
//
// Both queries average the samples inside a window (`avg_over_time(…[w])`) rather than taking PromQL's
// 5-minute lookback, so a GPU whose series stopped shows as no data, not as its last value. The
// verdict's window is its step (a sample speaks only for its own moment); the strip's is at least
// 15 s, the agent's default collection interval, so a strip finer than the samples has no holes.

import { judgeGpus, type GpuVerdict, type RankGpuSeries } from './gpu-correlation.ts';
import type { RunState } from './run-state.ts';
import { formatRfc3339Nano, type RunTracker } from './run-tracker.ts';

/** A PromQL range query answering a matrix: [Unix seconds, "value"] per sample, as the Prometheus API. */
export type MetricsRangeQuery = (query: string, startMs: number, endMs: number, stepMs: number) => Promise<Array<{ metric: Record<string, string>; values: Array<[number, string]> }>>;

export const GPU_UTIL_METRIC = 'DCGM_FI_DEV_GPU_UTIL';
/** Strip width in steps by default (the activity strip's bucket count). */
export const GPU_STRIP_BUCKETS = 240;
/** Steps of the verdict's query: fine enough that three samples after a rank's last line are seen. */
const VERDICT_BUCKETS = 300;
/** Margin the run page shows around a run's first and last line. */
const WINDOW_MARGIN_MS = 30_000;
/** The strip's smallest averaging window (the agent's default collection interval). */
const STRIP_MIN_RANGE_MS = 15_000;
/** A hung run's GPUs are judged at most this long after its last line (it may have been killed since). */
const VERDICT_MAX_SPAN_MS = 30 * 60_000;

export interface RunGpuWindow {
  startMs: number;
  endMs: number;
  stepMs: number;
}

/** The page's default window: the run with a margin, up to now while the run is live (so a hang's GPU shows). */
export function defaultGpuWindow(tracker: RunTracker, run: RunState, nowMs: number): RunGpuWindow {
  const firstMs = Number((run.firstNs ?? BigInt(nowMs) * 1_000_000n) / 1_000_000n);
  const lastMs = Number((run.lastNs ?? BigInt(nowMs) * 1_000_000n) / 1_000_000n);
  const startMs = firstMs - WINDOW_MARGIN_MS;
  const endMs = Math.max(lastMs + WINDOW_MARGIN_MS, tracker.isLive(run, nowMs) ? nowMs : 0);
  return { startMs, endMs, stepMs: Math.max(1000, Math.ceil((endMs - startMs) / GPU_STRIP_BUCKETS / 1000) * 1000) };
}

function utilQuery(runId: string, rangeMs: number): string {
  return `max by (rank, gpu, uuid, host) (avg_over_time(${GPU_UTIL_METRIC}{run_id=${JSON.stringify(runId)}, rank!=""}[${Math.max(1, Math.round(rangeMs / 1000))}s]))`;
}

function toSeries(matrix: Awaited<ReturnType<MetricsRangeQuery>>): RankGpuSeries[] {
  const series: RankGpuSeries[] = [];
  for (const one of matrix) {
    const rank = Number(one.metric.rank);
    if (!Number.isInteger(rank) || rank < 0) continue;
    series.push({
      rank,
      gpu: one.metric.gpu ?? '',
      uuid: one.metric.uuid ?? '',
      host: one.metric.host ?? '',
      points: one.values.map(([seconds, text]): [number, number] => [Math.round(seconds * 1000), Number(text)]).filter(([, value]) => Number.isFinite(value)),
    });
  }
  return series.sort((a, b) => a.rank - b.rank || a.host.localeCompare(b.host) || Number(a.gpu) - Number(b.gpu));
}

function verdictJson(verdict: GpuVerdict | null): Record<string, unknown> | null {
  if (verdict === null) return null;
  return {
    kind: verdict.kind,
    summary: verdict.summary,
    findings: verdict.findings.map((finding) => ({
      rank: finding.rank,
      gpu: finding.gpu,
      uuid: finding.uuid,
      host: finding.host,
      silent_since: formatRfc3339Nano(BigInt(finding.silentSinceMs) * 1_000_000n),
      last_line: finding.lastLine,
      mean_percent: Math.round(finding.meanPercent * 10) / 10,
      min_percent: Math.round(finding.minPercent * 10) / 10,
      samples: finding.samples,
    })),
  };
}

/** The strip over `window` and the verdict judged at `nowMs`. */
export async function runGpuView(tracker: RunTracker, run: RunState, query: MetricsRangeQuery, window: RunGpuWindow, nowMs: number): Promise<Record<string, unknown>> {
  const strip = toSeries(await query(utilQuery(run.id, Math.max(window.stepMs, STRIP_MIN_RANGE_MS)), window.startMs, window.endMs, window.stepMs));
  const status = tracker.verdict(run, nowMs).status;
  let verdict: GpuVerdict | null = null;
  if (status === 'hung' || (status === 'running' && tracker.isLive(run, nowMs))) {
    const ranks = tracker.rankActivity(run, nowMs);
    const silentSince = ranks.filter((rank) => rank.silent).map((rank) => rank.lastLineMs);
    const startMs = silentSince.length > 0 ? Math.min(...silentSince) : nowMs - 3 * 60_000;
    const endMs = Math.min(nowMs, startMs + VERDICT_MAX_SPAN_MS);
    if (endMs > startMs) {
      const stepMs = Math.max(1000, Math.ceil((endMs - startMs) / VERDICT_BUCKETS / 1000) * 1000);
      const judged = toSeries(await query(utilQuery(run.id, stepMs), startMs, endMs, stepMs));
      verdict = judgeGpus(ranks, judged, { runStatus: status, nowMs: endMs });
    }
  }
  return {
    metric: GPU_UTIL_METRIC,
    start: formatRfc3339Nano(BigInt(window.startMs) * 1_000_000n),
    end: formatRfc3339Nano(BigInt(window.endMs) * 1_000_000n),
    step_seconds: window.stepMs / 1000,
    ranks: strip.map((series) => ({ rank: series.rank, gpu: series.gpu, uuid: series.uuid, host: series.host, points: series.points.map(([timeMs, value]) => [timeMs / 1000, value]) })),
    verdict: verdictJson(verdict),
  };
}
