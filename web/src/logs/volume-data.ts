// The log-volume histogram's data: count_over_time by level, stacked error → warn → info → debug → unknown.
import type { RawSeries } from '../api/loki-client.ts';
import { findSelector } from '../explore/query-text.ts';
import { levelFromWord, type Level } from './log-rows.ts';

export const STACK_ORDER: Level[] = ['error', 'warn', 'info', 'debug', 'unknown'];

export interface VolumeBuckets {
  timesS: number[];
  /** Lines per bucket for each level, aligned with timesS. */
  counts: Record<Level, number[]>;
  total: number;
}

/** Reads a level word out of lines that carry no level label (case-insensitive, like the log list). A
 * stream or metadata label named `level` wins: Loki renames a colliding extracted label to
 * `level_extracted`. Only the first match counts, so a message mentioning "error" after its INFO prefix
 * stays info. `keep level` then drops every other label, so a query whose parsers add labels (step,
 * loss) still counts into one series per level instead of one per line. */
const LEVEL_EXTRACTION = '| regexp `(?i)\\b(?P<level>error|warn(?:ing)?|info|debug|fatal|critical|traceback)\\b` | keep level';

/** The metric query behind the histogram for a log query over buckets of stepMs. With `extractLevel`
 * it counts the whole query by level; without, only the selector and line filters by the level label
 * (the fallback for a server that rejects the extraction stages). */
export function volumeQuery(logQuery: string, stepMs: number, extractLevel: boolean): string {
  const window = stepMs % 1000 === 0 ? `${stepMs / 1000}s` : `${stepMs}ms`;
  const pipeline = extractLevel ? `${logQuery.trimEnd()} ${LEVEL_EXTRACTION}` : selectorAndLineFilters(logQuery);
  return `sum by (level) (count_over_time(${pipeline} [${window}]))`;
}

const LINE_FILTER_OPERATORS = ['|=', '!=', '|~', '!~', '|>', '!>'];

/** Reads one quoted LogQL string at `index` ("…" with escapes, or `…`); returns the index after it. */
function skipString(query: string, index: number): number | undefined {
  const quote = query[index];
  if (quote !== '"' && quote !== '`') return undefined;
  for (let i = index + 1; i < query.length; i++) {
    if (quote === '"' && query[i] === '\\') i++;
    else if (query[i] === quote) return i + 1;
  }
  return undefined;
}

/** The stream selector and the line filters right after it; parsers, label filters and formatting cut. */
export function selectorAndLineFilters(query: string): string {
  const selector = findSelector(query);
  if (!selector) return query;
  let end = selector[1];
  let index = end;
  while (index < query.length) {
    while (query[index] === ' ' || query[index] === '\n' || query[index] === '\t') index++;
    const operator = query.slice(index, index + 2);
    let next: number | undefined;
    if (LINE_FILTER_OPERATORS.includes(operator)) {
      index += 2;
      while (query[index] === ' ') index++;
      next = skipString(query, index);
    } else if (/^or\s/.test(query.slice(index, index + 3)) && end > selector[1]) {
      index += 2;
      while (query[index] === ' ') index++;
      next = skipString(query, index);
    }
    if (next === undefined) break;
    end = next;
    index = next;
  }
  return query.slice(selector[0], end);
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
