// info(v, {selector}): enriches each series with the data labels of the info series (target_info by
// default) that share its identifying labels (instance, job), as of the same time its samples were
// read (so `@` and `offset` in the argument pin the info series too).

import type { Labels } from '../../push/types.ts';
import type { MetricLabelMatcher } from '../../tsdb/types.ts';
import type { Expr, VectorSelector } from '../syntax/ast.ts';
import { matchesEmpty } from '../syntax/matchers.ts';
import { compileAnchoredRegex } from '../regex.ts';
import { PromQLQueryError } from './errors.ts';
import { labelsKey, newVectorSeries, stepTime, type StepGrid, type StepVectorSeries } from './series.ts';

const IDENTIFYING_LABELS = ['instance', 'job'];

function matches(matcher: MetricLabelMatcher, value: string): boolean {
  switch (matcher.type) {
    case '=':
      return value === matcher.value;
    case '!=':
      return value !== matcher.value;
    case '=~':
      return compileAnchoredRegex(matcher.value).matches(value);
    case '!~':
      return !compileAnchoredRegex(matcher.value).matches(value);
  }
}

/** The time each step's samples were read at, following @ and offset down the first argument. */
export function referenceTimes(expr: Expr, times: Float64Array, queryStartMs: number, queryEndMs: number): Float64Array {
  const atTime = (at: VectorSelector['at']): number | undefined =>
    at === undefined ? undefined : at.kind === 'timestamp' ? at.timestampMs : at.kind === 'start' ? queryStartMs : queryEndMs;
  const shift = (at: VectorSelector['at'], offsetMs: number): Float64Array => {
    const pinned = atTime(at);
    return times.map((t) => (pinned ?? t) - offsetMs);
  };
  switch (expr.type) {
    case 'VectorSelector':
      return shift(expr.at, expr.offsetMs);
    case 'MatrixSelector':
      return shift(expr.vector.at, expr.vector.offsetMs);
    case 'SubqueryExpr':
      return referenceTimes(expr.expr, shift(expr.at, expr.offsetMs), queryStartMs, queryEndMs);
    case 'ParenExpr':
    case 'UnaryExpr':
    case 'AggregateExpr':
      return referenceTimes(expr.expr, times, queryStartMs, queryEndMs);
    case 'Call': {
      const arg = expr.args.find((a) => a.type !== 'NumberLiteral' && a.type !== 'StringLiteral');
      return arg === undefined ? times : referenceTimes(arg, times, queryStartMs, queryEndMs);
    }
    default:
      return times;
  }
}

export interface InfoSeriesSource {
  /** Instant-vector selection at arbitrary reference times (one per step). */
  selectAt(selector: VectorSelector, refs: Float64Array): Promise<{ series: StepVectorSeries[]; timestamps: Float64Array[] }>;
}

export async function evaluateInfo(
  base: StepVectorSeries[],
  selectorArg: Expr | undefined,
  baseExpr: Expr,
  grid: StepGrid,
  query: { startMs: number; endMs: number },
  source: InfoSeriesSource,
): Promise<StepVectorSeries[]> {
  const matchers = selectorArg?.type === 'VectorSelector' ? selectorArg.matchers : [];
  let nameMatchers = matchers.filter((m) => m.name === '__name__');
  if (nameMatchers.length === 0) nameMatchers = [{ name: '__name__', type: '=', value: 'target_info' }];
  const dataMatchers = matchers.filter((m) => m.name !== '__name__');
  const times = new Float64Array(grid.count).map((_, i) => stepTime(grid, i));
  const refs = referenceTimes(baseExpr, times, query.startMs, query.endMs);
  const selector: VectorSelector = { type: 'VectorSelector', name: undefined, matchers: [...nameMatchers, ...dataMatchers], offsetMs: 0, at: undefined, pos: { start: 0, end: 0 } };
  const info = await source.selectAt(selector, refs);
  if (info.series.some((s) => s.histograms?.some((h) => h !== undefined))) {
    throw new PromQLQueryError('info() requires info metrics to be float samples, got a native histogram');
  }
  const identity = (labels: Labels): string => IDENTIFYING_LABELS.map((name) => labels[name] ?? '').join('\xff');
  const infoByIdentity = new Map<string, number[]>();
  const explicitNames = new Set(nameMatchers.filter((m) => m.type === '=').map((m) => m.value));
  info.series.forEach((s, k) => {
    // Only info metrics enrich: by convention their names end in _info (or are named exactly).
    const infoName = s.labels.__name__ ?? '';
    if (!infoName.endsWith('_info') && !explicitNames.has(infoName)) return;
    const key = identity(s.labels);
    infoByIdentity.set(key, [...(infoByIdentity.get(key) ?? []), k]);
  });
  const requiresMatch = dataMatchers.some((m) => !matchesEmpty(m));
  const outputs = new Map<string, StepVectorSeries>();
  const emit = (labels: Labels, source: StepVectorSeries, i: number): void => {
    const key = labelsKey(labels) + (source.dropName ? '\x00drop' : '');
    let out = outputs.get(key);
    if (out === undefined) {
      out = newVectorSeries(labels, grid.count, source.dropName);
      outputs.set(key, out);
    }
    out.values[i] = source.values[i]!;
    out.present[i] = 1;
  };
  for (const s of base) {
    const name = s.labels.__name__ ?? '';
    const hasPositive = nameMatchers.some((m) => m.type === '=' || m.type === '=~');
    const isInfoMetric = name !== '' && hasPositive && nameMatchers.every((m) => matches(m, name));
    const candidates = isInfoMetric ? [] : (infoByIdentity.get(identity(s.labels)) ?? []);
    for (let i = 0; i < grid.count; i++) {
      if (!s.present[i]) continue;
      if (isInfoMetric) {
        emit(s.labels, s, i);
        continue;
      }
      // Per info metric name, the series with the latest sample wins when several are current.
      const bestByName = new Map<string, number>();
      for (const k of candidates) {
        if (!info.series[k]!.present[i]) continue;
        const infoName = info.series[k]!.labels.__name__ ?? '';
        const best = bestByName.get(infoName);
        if (best === undefined || info.timestamps[k]![i]! > info.timestamps[best]![i]!) bestByName.set(infoName, k);
      }
      if (bestByName.size === 0) {
        if (!requiresMatch) emit(s.labels, s, i);
        continue;
      }
      const labels: Labels = { ...s.labels };
      // Two info metrics that give one data label different values are an error, as upstream.
      const fromInfo = new Set<string>();
      for (const best of bestByName.values()) {
        for (const [labelName, value] of Object.entries(info.series[best]!.labels)) {
          if (labelName === '__name__' || IDENTIFYING_LABELS.includes(labelName)) continue;
          if (dataMatchers.length > 0 && !dataMatchers.some((m) => m.name === labelName)) continue;
          if (fromInfo.has(labelName) && labels[labelName] !== value) throw new PromQLQueryError(`conflicting label: ${labelName}`);
          if (labels[labelName] !== undefined) continue;
          labels[labelName] = value;
          fromInfo.add(labelName);
        }
      }
      emit(labels, s, i);
    }
  }
  return [...outputs.values()];
}
