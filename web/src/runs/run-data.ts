// Pure shaping of training-run data for the run page: numbers from the API's point values, per-rank
// curves on one x axis, the mean with a min–max band when ranks are many, the rank × time activity
// grid, and the words the page prints (durations, statuses).
import type { GpuRow, PointValue, RankSeries, RunSummary } from '../api/training-client.ts';

/** Above this many ranks a panel draws the mean and a min–max band instead of one line per rank. */
export const MAX_RANK_LINES = 8;

export function pointNumber(value: PointValue): number {
  if (typeof value === 'number') return value;
  if (value === '+Inf') return Infinity;
  if (value === '-Inf') return -Infinity;
  return NaN;
}

/** An x value: a step as it is, a time as Unix seconds. */
export function pointX(x: number | string, kind: 'step' | 'time'): number {
  if (kind === 'step') return Number(x);
  return typeof x === 'number' ? x : Date.parse(x) / 1000;
}

export interface Curve {
  label: string;
  /** Stable colour key: `rank N` (the same colour in every panel and in Explore). */
  colourKey: string;
  xs: number[];
  ys: number[];
}

export interface CurveSet {
  x: 'step' | 'time';
  /** How many ranks the set covers (drawn one by one, or summarised in the band). */
  rankCount: number;
  curves: Curve[];
  /** Present when the ranks were summarised: [xs, mean, min, max]. */
  band?: { xs: number[]; mean: number[]; min: number[]; max: number[] };
}

export function curvesOf(series: RankSeries[]): CurveSet {
  const sorted = [...series].sort((a, b) => a.rank - b.rank);
  const kind = sorted[0]?.x ?? 'step';
  const curves = sorted.map((one) => ({
    label: `rank ${one.rank}`,
    colourKey: `rank ${one.rank}`,
    xs: one.points.map(([x]) => pointX(x, one.x)),
    ys: one.points.map(([, value]) => pointNumber(value)),
  }));
  if (curves.length <= MAX_RANK_LINES) return { x: kind, rankCount: curves.length, curves };
  return { x: kind, rankCount: curves.length, curves: [], band: meanBand(curves) };
}

/** Mean, min and max over the ranks at every x any rank has (finite values only). */
export function meanBand(curves: Curve[]): { xs: number[]; mean: number[]; min: number[]; max: number[] } {
  const byX = new Map<number, { sum: number; count: number; min: number; max: number }>();
  for (const curve of curves) {
    for (let i = 0; i < curve.xs.length; i++) {
      const value = curve.ys[i]!;
      if (!Number.isFinite(value)) continue;
      const x = curve.xs[i]!;
      const cell = byX.get(x);
      if (cell === undefined) byX.set(x, { sum: value, count: 1, min: value, max: value });
      else {
        cell.sum += value;
        cell.count++;
        cell.min = Math.min(cell.min, value);
        cell.max = Math.max(cell.max, value);
      }
    }
  }
  const xs = [...byX.keys()].sort((a, b) => a - b);
  return {
    xs,
    mean: xs.map((x) => byX.get(x)!.sum / byX.get(x)!.count),
    min: xs.map((x) => byX.get(x)!.min),
    max: xs.map((x) => byX.get(x)!.max),
  };
}

/** uPlot's aligned form: one sorted x column and one y column per curve (null where a curve has no point). */
export function alignCurves(curves: Array<{ xs: number[]; ys: number[] }>): [number[], ...Array<Array<number | null>>] {
  const xs = [...new Set(curves.flatMap((curve) => curve.xs))].sort((a, b) => a - b);
  const index = new Map(xs.map((x, i) => [x, i]));
  const columns = curves.map((curve) => {
    const column: Array<number | null> = new Array<number | null>(xs.length).fill(null);
    for (let i = 0; i < curve.xs.length; i++) {
      const value = curve.ys[i]!;
      column[index.get(curve.xs[i]!)!] = Number.isFinite(value) ? value : null;
    }
    return column;
  });
  return [xs, ...columns];
}

/** The x range the panels of a run with the same x (step or time) share, so they line up. */
export function sharedXRange(sets: CurveSet[], kind: 'step' | 'time'): [number, number] | undefined {
  let min = Infinity;
  let max = -Infinity;
  for (const set of sets) {
    if (set.x !== kind) continue;
    const xs = set.band ? set.band.xs : set.curves.flatMap((curve) => curve.xs);
    for (const x of xs) {
      if (x < min) min = x;
      if (x > max) max = x;
    }
  }
  return min <= max ? [min, max === min ? min + 1 : max] : undefined;
}

export type ActivityLevel = 'error' | 'warn' | 'info' | 'none';

export interface ActivityGrid {
  ranks: number[];
  startS: number;
  stepS: number;
  buckets: number;
  /** cells[rankIndex][bucket]: the worst level logged there and how many lines. */
  cells: Array<Array<{ level: ActivityLevel; lines: number }>>;
}

const LEVEL_ORDER: Record<ActivityLevel, number> = { none: 0, info: 1, warn: 2, error: 3 };

function normaliseLevel(level: string | undefined): ActivityLevel {
  const lower = (level ?? '').toLowerCase();
  if (lower.startsWith('err') || lower === 'critical' || lower === 'fatal') return 'error';
  if (lower.startsWith('warn')) return 'warn';
  return 'info';
}

/** From `sum by (rank, level) (count_over_time(…))`: a rank × time grid of the worst level per cell. */
export function activityGrid(matrix: Array<{ metric: Record<string, string>; values: Array<[number, string]> }>, startS: number, endS: number, stepS: number): ActivityGrid {
  const ranks = [...new Set(matrix.map((series) => Number(series.metric.rank)).filter((rank) => Number.isInteger(rank)))].sort((a, b) => a - b);
  const buckets = Math.max(1, Math.floor((endS - startS) / stepS) + 1);
  const rowOf = new Map(ranks.map((rank, i) => [rank, i]));
  const cells = ranks.map(() => Array.from({ length: buckets }, () => ({ level: 'none' as ActivityLevel, lines: 0 })));
  for (const series of matrix) {
    const row = rowOf.get(Number(series.metric.rank));
    if (row === undefined) continue;
    const level = normaliseLevel(series.metric.level ?? series.metric.detected_level);
    for (const [timeS, text] of series.values) {
      const bucket = Math.round((timeS - startS) / stepS);
      const cell = cells[row]![bucket];
      if (cell === undefined) continue;
      const lines = Number(text);
      if (!(lines > 0)) continue;
      cell.lines += lines;
      if (LEVEL_ORDER[level] > LEVEL_ORDER[cell.level]) cell.level = level;
    }
  }
  return { ranks, startS, stepS, buckets, cells };
}

export interface GpuGrid {
  /** One row per rank and GPU: `rank N`, or `rank N/gK` when a rank drives several GPUs. */
  rows: Array<{ rank: number; gpu: string; label: string }>;
  startS: number;
  stepS: number;
  buckets: number;
  /** cells[row][bucket]: utilization in %, or null where no sample fell. */
  cells: Array<Array<number | null>>;
}

/** The GPU rows on the activity strip's buckets (same start, step and count), so the two line up. */
export function gpuGrid(rows: GpuRow[], startS: number, endS: number, stepS: number): GpuGrid {
  const buckets = Math.max(1, Math.floor((endS - startS) / stepS) + 1);
  const sorted = [...rows].sort((a, b) => a.rank - b.rank || a.host.localeCompare(b.host) || Number(a.gpu) - Number(b.gpu));
  const gpusOfRank = new Map<number, number>();
  for (const row of sorted) gpusOfRank.set(row.rank, (gpusOfRank.get(row.rank) ?? 0) + 1);
  const cells = sorted.map((row) => {
    const line: Array<number | null> = new Array<number | null>(buckets).fill(null);
    for (const [timeS, percent] of row.points) {
      const bucket = Math.round((timeS - startS) / stepS);
      if (bucket >= 0 && bucket < buckets && Number.isFinite(percent)) line[bucket] = percent;
    }
    return line;
  });
  return {
    rows: sorted.map((row) => ({ rank: row.rank, gpu: row.gpu, label: gpusOfRank.get(row.rank)! > 1 ? `rank ${row.rank}/g${row.gpu}` : `rank ${row.rank}` })),
    startS,
    stepS,
    buckets,
    cells,
  };
}

/** Utilization → colour: dark slate at 0%, through blue, to bright cyan at 100% (busy reads bright). */
export function utilizationColour(percent: number): string {
  const t = Math.min(1, Math.max(0, percent / 100));
  const from = [0x22, 0x30, 0x48];
  const to = [0x5f, 0xe0, 0xff];
  const channel = (i: number) => Math.round(from[i]! + (to[i]! - from[i]!) * t).toString(16).padStart(2, '0');
  return `#${channel(0)}${channel(1)}${channel(2)}`;
}

export function formatDuration(seconds: number | undefined): string {
  if (seconds === undefined || !Number.isFinite(seconds)) return '–';
  if (seconds < 60) return `${seconds.toFixed(seconds < 10 ? 1 : 0)} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ${Math.round(seconds % 60)} s`;
  const hours = Math.floor(minutes / 60);
  return `${hours} h ${minutes % 60} min`;
}

export function runDurationS(run: RunSummary): number | undefined {
  if (run.duration_seconds !== undefined) return run.duration_seconds;
  const start = Date.parse(run.started_at);
  const end = Date.parse(run.last_activity_at);
  return Number.isFinite(start) && Number.isFinite(end) ? (end - start) / 1000 : undefined;
}

export function describeFailure(failure: RunSummary['first_failure']): string {
  if (failure === null) return '';
  const where = failure.rank === null ? 'no single rank' : `rank ${failure.rank}`;
  return `${failure.class} · ${where}${failure.host ? ` (${failure.host})` : ''}`;
}
