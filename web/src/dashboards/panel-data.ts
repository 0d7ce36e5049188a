// What panels draw, shaped from query answers: named series per target, a value per series by a
// Grafana reducer, threshold colours, and histogram buckets turned into heatmap cells. Pure.
import type { Threshold } from './dashboard-types.ts';
import { legendName } from './interpolate.ts';

export interface PanelSeries {
  /** The legend name (legendFormat applied). */
  name: string;
  labels: Record<string, string>;
  refId: string;
  /** Seconds since epoch, ascending. */
  timesS: number[];
  values: Array<number | null>;
}

interface RawMatrixSeries {
  metric: Record<string, string>;
  values: Array<[number, string]>;
}
interface RawVectorSample {
  metric: Record<string, string>;
  value: [number, string];
}

function sampleValue(text: string): number | null {
  if (text === '+Inf') return Infinity;
  if (text === '-Inf') return -Infinity;
  const value = Number(text);
  return Number.isNaN(value) ? null : value;
}

export function seriesFromMatrix(result: RawMatrixSeries[], refId: string, legendFormat: string): PanelSeries[] {
  return result.map((raw) => ({
    name: legendName(legendFormat, raw.metric ?? {}),
    labels: raw.metric ?? {},
    refId,
    timesS: raw.values.map((pair) => Number(pair[0])),
    values: raw.values.map((pair) => sampleValue(pair[1])),
  }));
}

export function seriesFromVector(result: RawVectorSample[], refId: string, legendFormat: string): PanelSeries[] {
  return result.map((raw) => ({
    name: legendName(legendFormat, raw.metric ?? {}),
    labels: raw.metric ?? {},
    refId,
    timesS: [Number(raw.value[0])],
    values: [sampleValue(raw.value[1])],
  }));
}

/** One shared, sorted x array; a series without a point at some x gets null there (a gap). */
export function alignPanelSeries(series: PanelSeries[]): [number[], ...Array<Array<number | null>>] {
  const times = new Set<number>();
  for (const one of series) for (const time of one.timesS) times.add(time);
  const xs = [...times].sort((a, b) => a - b);
  const position = new Map(xs.map((time, index) => [time, index]));
  return [
    xs,
    ...series.map((one) => {
      const column = new Array<number | null>(xs.length).fill(null);
      one.timesS.forEach((time, index) => {
        const value = one.values[index];
        column[position.get(time)!] = value === null || value === undefined || !Number.isFinite(value) ? null : value;
      });
      return column;
    }),
  ];
}

/**
 * Grafana's "normal" stacking: each series drawn on top of the ones before it (a missing point
 * counts as 0 underneath, and stays a gap itself).
 */
export function stackColumns(aligned: [number[], ...Array<Array<number | null>>]): [number[], ...Array<Array<number | null>>] {
  const [xs, ...columns] = aligned;
  const running = new Array<number>(xs.length).fill(0);
  return [
    xs,
    ...columns.map((column) =>
      column.map((value, index) => {
        if (value === null) return null;
        running[index] = running[index]! + value;
        return running[index]!;
      }),
    ),
  ];
}

/** Grafana's reducers (fieldReducers) for the ones dashboards use; null when there is nothing to reduce. */
export function reduceSeries(values: Array<number | null>, reducer: string): number | null {
  const present = values.filter((value): value is number => value !== null && !Number.isNaN(value));
  if (reducer === 'count') return values.length;
  if (present.length === 0) return null;
  switch (reducer) {
    case 'last':
      return values[values.length - 1] ?? null;
    case 'first':
      return values[0] ?? null;
    case 'firstNotNull':
      return present[0]!;
    case 'mean':
      return present.reduce((sum, value) => sum + value, 0) / present.length;
    case 'sum':
      return present.reduce((sum, value) => sum + value, 0);
    case 'max':
      return Math.max(...present);
    case 'min':
      return Math.min(...present);
    case 'range':
      return Math.max(...present) - Math.min(...present);
    case 'diff':
    case 'delta':
      return present[present.length - 1]! - present[0]!;
    default:
      return present[present.length - 1]!;
  }
}

/** Grafana's named colours (the ones its threshold editor offers) as hex; anything else passes through. */
const NAMED_COLOURS: Record<string, string> = {
  green: '#73bf69',
  red: '#f2495c',
  orange: '#ff9830',
  yellow: '#fade2a',
  blue: '#5794f2',
  purple: '#b877d9',
  'dark-red': '#c4162a',
  'dark-green': '#37872d',
  'dark-orange': '#fa6400',
  'dark-yellow': '#e0b400',
  'dark-blue': '#1f60c4',
  'semi-dark-red': '#e02f44',
  'semi-dark-green': '#56a64b',
  'semi-dark-orange': '#ff780a',
  transparent: 'transparent',
  text: '#d8dee9',
};

export function colourOf(name: string): string {
  return NAMED_COLOURS[name] ?? name;
}

/** The colour of the highest step the value reaches (the base step covers everything below). */
export function thresholdColour(value: number | null, thresholds: Threshold[], fallback = '#73bf69'): string {
  if (thresholds.length === 0) return fallback;
  let colour = thresholds[0]!.color;
  if (value === null) return colourOf(colour);
  for (const step of thresholds) if (step.value === null || value >= step.value) colour = step.color;
  return colourOf(colour);
}

/** Steps Grafana would pick (rounded intervals), in seconds. */
const NICE_STEPS_S = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 21_600, 43_200, 86_400];

/** About one point per 25 px of the panel's width (24 columns of a ~1400 px page). */
export function stepFor(rangeS: number, widthColumns: number, minIntervalS: number): number {
  const points = Math.max(60, widthColumns * 25);
  const raw = Math.max(rangeS / points, minIntervalS, 1);
  return NICE_STEPS_S.find((step) => step >= raw) ?? Math.ceil(raw);
}

export interface HeatmapData {
  timesS: number[];
  /** Bucket upper bounds, ascending (the last may be +Inf). */
  upperBounds: number[];
  /** counts[bucket][time]: observations in that bucket alone (cumulative counts de-accumulated). */
  counts: number[][];
  maxCount: number;
}

/**
 * Prometheus histogram buckets (one series per `le`, cumulative) as heatmap cells, the way Grafana's
 * "format as heatmap" reads them: sorted by `le`, each bucket minus the one below.
 */
export function heatmapFromBuckets(series: PanelSeries[]): HeatmapData {
  const withBound = series
    .map((one) => ({ one, le: one.labels.le === '+Inf' ? Infinity : Number(one.labels.le) }))
    .filter((entry) => entry.one.labels.le !== undefined && !Number.isNaN(entry.le))
    .sort((a, b) => a.le - b.le);
  const times = new Set<number>();
  for (const { one } of withBound) for (const time of one.timesS) times.add(time);
  const timesS = [...times].sort((a, b) => a - b);
  const column = new Map(timesS.map((time, index) => [time, index]));
  const cumulative = withBound.map(({ one }) => {
    const row = new Array<number>(timesS.length).fill(0);
    one.timesS.forEach((time, index) => {
      row[column.get(time)!] = one.values[index] ?? 0;
    });
    return row;
  });
  let maxCount = 0;
  const counts = cumulative.map((row, bucket) =>
    row.map((value, time) => {
      const below = bucket === 0 ? 0 : cumulative[bucket - 1]![time]!;
      const count = Math.max(0, value - below);
      if (count > maxCount) maxCount = count;
      return count;
    }),
  );
  return { timesS, upperBounds: withBound.map((entry) => entry.le), counts, maxCount };
}

/**
 * Drops the buckets below the lowest and above the highest one that ever holds an observation
 * (keeping one empty bucket each side), so a histogram declared up to hours does not squeeze the
 * milliseconds where its observations are into a sliver.
 */
export function trimEmptyBuckets(heatmap: HeatmapData): HeatmapData {
  const used = heatmap.counts.map((row) => row.some((count) => count > 0));
  const first = used.indexOf(true);
  if (first < 0) return heatmap;
  const last = used.lastIndexOf(true);
  const from = Math.max(0, first - 1);
  const to = Math.min(heatmap.counts.length, last + 2);
  return { ...heatmap, upperBounds: heatmap.upperBounds.slice(from, to), counts: heatmap.counts.slice(from, to) };
}
