// Shapes Loki metric answers (matrix, vector, scalar) for charts and tables. Pure.
import type { Labels, RawSeries, RawSample } from '../api/loki-client.ts';

export interface Series {
  name: string;
  labels: Labels;
  /** Seconds since epoch, ascending. */
  timesS: number[];
  values: number[];
}

export function seriesName(labels: Labels): string {
  const names = Object.keys(labels).sort();
  if (names.length === 0) return '{}';
  return `{${names.map((name) => `${name}="${labels[name]}"`).join(', ')}}`;
}

export function parseSampleValue(text: string): number {
  if (text === '+Inf') return Infinity;
  if (text === '-Inf') return -Infinity;
  return Number(text);
}

export function seriesFromMatrix(result: RawSeries[]): Series[] {
  return result.map((raw) => ({
    name: seriesName(raw.metric ?? {}),
    labels: raw.metric ?? {},
    timesS: raw.values.map((value) => Number(value[0])),
    values: raw.values.map((value) => parseSampleValue(value[1])),
  }));
}

export function seriesFromVector(result: RawSample[]): Series[] {
  return result.map((raw) => ({
    name: seriesName(raw.metric ?? {}),
    labels: raw.metric ?? {},
    timesS: [Number(raw.value[0])],
    values: [parseSampleValue(raw.value[1])],
  }));
}

/** uPlot wants one shared x array; series missing a timestamp get null there (a gap). */
export function alignSeries(series: Series[]): [number[], ...Array<Array<number | null>>] {
  const allTimes = new Set<number>();
  for (const one of series) for (const time of one.timesS) allTimes.add(time);
  const xs = [...allTimes].sort((a, b) => a - b);
  const indexOfTime = new Map<number, number>();
  xs.forEach((time, index) => indexOfTime.set(time, index));
  const columns = series.map((one) => {
    const column: Array<number | null> = new Array(xs.length).fill(null);
    one.timesS.forEach((time, i) => {
      const value = one.values[i];
      column[indexOfTime.get(time)!] = Number.isFinite(value) ? value : null;
    });
    return column;
  });
  return [xs, ...columns];
}

export interface SeriesSummary {
  name: string;
  last: number;
  min: number;
  max: number;
  mean: number;
  points: number;
}

export function summarise(series: Series[]): SeriesSummary[] {
  return series.map((one) => {
    const finite = one.values.filter(Number.isFinite);
    const sum = finite.reduce((total, value) => total + value, 0);
    return {
      name: one.name,
      last: one.values[one.values.length - 1] ?? NaN,
      min: finite.length ? Math.min(...finite) : NaN,
      max: finite.length ? Math.max(...finite) : NaN,
      mean: finite.length ? sum / finite.length : NaN,
      points: one.values.length,
    };
  });
}

export function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (!Number.isFinite(value)) return value > 0 ? '+Inf' : '-Inf';
  if (value !== 0 && (Math.abs(value) >= 1e6 || Math.abs(value) < 1e-3)) return value.toExponential(3);
  return String(Math.round(value * 10_000) / 10_000);
}
