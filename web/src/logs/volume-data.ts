// The log-volume histogram's data: count_over_time by level, stacked error → warn → info → debug → unknown.
import type { RawSeries } from '../api/loki-client.ts';
import { levelFromWord, type Level } from './log-rows.ts';

export const STACK_ORDER: Level[] = ['error', 'warn', 'info', 'debug', 'unknown'];

export interface VolumeBuckets {
  timesS: number[];
  /** Lines per bucket for each level, aligned with timesS. */
  counts: Record<Level, number[]>;
  total: number;
}

/** Reads a level word out of lines that carry no level label. A stream or metadata label named `level`
 * wins: Loki renames a colliding extracted label to `level_extracted`. Only the first match counts, so a
 * message mentioning "ERROR" after its INFO prefix stays info. */
const LEVEL_EXTRACTION = '| regexp `\\b(?P<level>ERROR|WARN(?:ING)?|INFO|DEBUG|FATAL|CRITICAL|Traceback)\\b`';

/** The metric query behind the histogram for a log query over buckets of stepMs. */
export function volumeQuery(logQuery: string, stepMs: number, extractLevel: boolean): string {
  const window = stepMs % 1000 === 0 ? `${stepMs / 1000}s` : `${stepMs}ms`;
  const pipeline = extractLevel ? `${logQuery.trimEnd()} ${LEVEL_EXTRACTION}` : logQuery;
  return `sum by (level) (count_over_time(${pipeline} [${window}]))`;
}

export function bucketsFromMatrix(result: RawSeries[], fromMs: number, toMs: number, stepMs: number): VolumeBuckets {
  // Fixed buckets over the whole range, so empty stretches show as gaps rather than being squeezed out.
  const firstS = Math.ceil(fromMs / stepMs) * stepMs / 1000;
  const timesS: number[] = [];
  for (let t = firstS; t <= toMs / 1000 && timesS.length < 2000; t += stepMs / 1000) timesS.push(t);
  const indexOf = (timeS: number): number => Math.round((timeS - firstS) / (stepMs / 1000));
  const counts = Object.fromEntries(STACK_ORDER.map((level) => [level, new Array<number>(timesS.length).fill(0)])) as Record<Level, number[]>;
  let total = 0;
  for (const series of result) {
    const level = levelFromWord(series.metric?.level ?? series.metric?.detected_level ?? '');
    for (const [timeS, text] of series.values) {
      const index = indexOf(Number(timeS));
      const value = Number(text);
      if (index < 0 || index >= timesS.length || !Number.isFinite(value)) continue;
      counts[level][index] += value;
      total += value;
    }
  }
  return { timesS, counts, total };
}
