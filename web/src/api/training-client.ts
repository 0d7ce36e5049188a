// The training-run API (/api/v1/runs…, docs/training.md) as the UI reads it. Times are RFC3339 with
// nanoseconds, ranks are numbers; values that are not finite come as "NaN", "+Inf", "-Inf".
import { getJson } from './loki-client.ts';

export type RunStatus = 'running' | 'finished' | 'failed' | 'hung';

export interface FirstFailure {
  rank: number | null;
  class: string;
  time?: string;
  host?: string;
  summary?: string;
}

export interface RunSummary {
  id: string;
  status: RunStatus;
  world_size: number | null;
  nodes: number;
  hosts?: string[];
  ranks_seen: number[];
  started_at: string;
  last_activity_at: string;
  duration_seconds?: number;
  attempt: number;
  first_failure: FirstFailure | null;
  hung_ranks: number[];
}

export interface RankDetail {
  rank: number;
  host?: string;
  lines?: number;
  error_lines?: number;
  last_activity_at?: string;
  last_line?: string;
  last_step?: number | null;
  exit_code?: number | null;
}

export interface RunDetail extends RunSummary {
  ranks?: RankDetail[];
  series?: string[];
  exit_codes?: Record<string, number>;
}

export interface EvidenceLine {
  rank: number | null;
  time: string;
  line: string;
  labels: Record<string, string>;
}

export interface FailureRecord {
  rank: number | null;
  class: string;
  severity?: string;
  time: string;
  host?: string;
  consequence?: boolean;
  harmless?: boolean;
  line?: string;
  labels?: Record<string, string>;
}

export interface RunFailures {
  first: (FirstFailure & { evidence: EvidenceLine[] }) | null;
  failures: FailureRecord[];
}

export type PointValue = number | 'NaN' | '+Inf' | '-Inf';

export interface RankSeries {
  name: string;
  rank: number;
  x: 'step' | 'time';
  points: Array<[number | string, PointValue]>;
}

const enc = encodeURIComponent;

export function listRuns(signal?: AbortSignal, limit = 500): Promise<{ runs: RunSummary[] }> {
  return getJson('/api/v1/runs', { limit: String(limit) }, signal);
}

export function getRun(id: string, signal?: AbortSignal): Promise<RunDetail> {
  return getJson(`/api/v1/runs/${enc(id)}`, {}, signal);
}

export function getFailures(id: string, signal?: AbortSignal): Promise<RunFailures> {
  return getJson(`/api/v1/runs/${enc(id)}/failures`, {}, signal);
}

export async function getSeriesNames(id: string, signal?: AbortSignal): Promise<string[]> {
  return (await getJson<{ names: string[] }>(`/api/v1/runs/${enc(id)}/series`, {}, signal)).names;
}

/** Every rank's points of one series (thinned by the server to at most `maxPoints` in all). */
export async function getSeries(id: string, name: string, signal?: AbortSignal, maxPoints = 20_000): Promise<RankSeries[]> {
  const body = await getJson<{ series: RankSeries[] }>(`/api/v1/runs/${enc(id)}/series`, { name, max_points: String(maxPoints) }, signal);
  return body.series;
}

/** One rank's GPU in the run's window: [Unix seconds, utilization %] per step. */
export interface GpuRow {
  rank: number;
  gpu: string;
  uuid: string;
  host: string;
  points: Array<[number, number]>;
}

export interface GpuFinding {
  rank: number;
  gpu: string;
  uuid: string;
  host: string;
  silent_since: string;
  last_line: string;
  mean_percent: number;
  min_percent: number;
  samples: number;
}

/** What the GPUs say beside the logs: silent ranks on busy GPUs (a deadlock), or logging ranks on idle ones. */
export interface GpuVerdict {
  kind: 'nccl_deadlock' | 'busy_silent_rank' | 'idle_gpu';
  summary: string;
  findings: GpuFinding[];
}

export interface RunGpu {
  metric: string;
  step_seconds?: number;
  ranks: GpuRow[];
  verdict: GpuVerdict | null;
  /** Set when the server keeps no metrics. */
  note?: string;
}

/** DCGM_FI_DEV_GPU_UTIL per rank over [startS, endS] at `stepS`, and the GPU verdict (docs/training.md). */
export function getRunGpu(id: string, window: { startS: number; endS: number; stepS: number }, signal?: AbortSignal): Promise<RunGpu> {
  return getJson(`/api/v1/runs/${enc(id)}/gpu`, { start: String(window.startS), end: String(window.endS), step: String(window.stepS) }, signal);
}
