// Evaluates a metric expression tree over the query's steps.

import type { Labels } from '../../push/types.ts';
import { QueryError } from '../api.ts';
import type { LabelReplaceExpr, RangeAggregation, SampleExpr, VectorAggregation } from '../syntax/ast.ts';
import { compileRegex, jsGroupName, RegexSyntaxError } from '../../regex/index.ts';
import { evaluateBinary } from './binary-operation.ts';
import type { QueryContext } from './query-context.ts';
import { evaluateRangeAggregation } from './range-aggregation.ts';
import { labelsKey } from './series-labels.ts';
import { newSeries, type Evaluated, type StepSeries } from './step-series.ts';
import { aggregateVector } from './vector-aggregation.ts';

export async function evaluateSampleExpr(context: QueryContext, expr: SampleExpr, stepsNs: bigint[]): Promise<Evaluated> {
  const steps = stepsNs.length;
  switch (expr.kind) {
    case 'literal':
      return { kind: 'scalar', value: expr.value };
    case 'vector': {
      const series = newSeries({}, labelsKey({}), steps);
      series.values.fill(expr.value);
      series.present.fill(1);
      return { kind: 'vector', series: [series] };
    }
    case 'rangeAggregation': {
      return { kind: 'vector', series: await evaluateRangeAggregation(context, expr, stepsNs) };
    }
    case 'vectorAggregation': {
      const pushed = pushDownSum(expr);
      if (pushed) return { kind: 'vector', series: await evaluateRangeAggregation(context, pushed, stepsNs) };
      const inner = await evaluateSampleExpr(context, expr.expr, stepsNs);
      if (inner.kind === 'scalar') throw new QueryError(`unexpected literal in ${expr.op} aggregation`);
      return { kind: 'vector', series: aggregateVector(expr, inner.series, steps) };
    }
    case 'binary': {
      const [left, right] = await Promise.all([
        evaluateSampleExpr(context, expr.left, stepsNs),
        evaluateSampleExpr(context, expr.right, stepsNs),
      ]);
      return evaluateBinary(expr, left, right, steps);
    }
    case 'labelReplace': {
      const inner = await evaluateSampleExpr(context, expr.expr, stepsNs);
      if (inner.kind === 'scalar') throw new QueryError('unexpected literal in label_replace');
      return { kind: 'vector', series: labelReplace(expr, inner.series, steps) };
    }
  }
}

/** Range aggregations whose per-series values add up: summing series equals aggregating the group. */
const ADDITIVE_RANGE_OPS = new Set<RangeAggregation['op']>(['count_over_time', 'bytes_over_time', 'sum_over_time', 'rate', 'bytes_rate']);

/**
 * `sum by (g) (count_over_time(…))` equals `count_over_time(…)` with the entries grouped by g: the
 * range aggregation then keeps one series per group instead of one per parsed label set, which is
 * far cheaper after a parser. Errors are still checked per entry, before grouping.
 */
function pushDownSum(expr: VectorAggregation): RangeAggregation | null {
  const inner = expr.expr;
  if (expr.op !== 'sum' || inner.kind !== 'rangeAggregation' || inner.grouping || !ADDITIVE_RANGE_OPS.has(inner.op)) return null;
  return { ...inner, grouping: expr.grouping ?? { without: false, labels: [] } };
}

function labelReplace(expr: LabelReplaceExpr, input: StepSeries[], steps: number): StepSeries[] {
  let compiled;
  try {
    compiled = compileRegex(expr.regex, 'anchored');
  } catch (error) {
    if (error instanceof RegexSyntaxError) throw new QueryError(`invalid regex in label_replace: ${error.message}`);
    throw error;
  }
  const merged = new Map<string, StepSeries>();
  for (const series of input) {
    const match = compiled.regexp.exec(series.labels[expr.src] ?? '');
    let labels: Labels = series.labels;
    if (match) {
      const value = expr.replacement.replace(/\$(\$|\{([A-Za-z0-9_]+)\}|([A-Za-z0-9_]+))/g, (_w, dollar: string, braced?: string, bare?: string) => {
        if (dollar === '$') return '$';
        const name = braced ?? bare!;
        if (/^\d+$/.test(name)) return match[Number(name)] ?? '';
        return match.groups?.[jsGroupName(name)] ?? '';
      });
      labels = { ...series.labels };
      if (value === '') delete labels[expr.dst];
      else labels[expr.dst] = value;
    }
    const key = labelsKey(labels);
    const existing = merged.get(key);
    if (!existing) {
      merged.set(key, { ...series, labels, key });
      continue;
    }
    for (let s = 0; s < steps; s++) {
      if (series.present[s] && existing.present[s]) {
        throw new QueryError('vector cannot contain metrics with the same labelset');
      }
      if (series.present[s]) {
        existing.values[s] = series.values[s]!;
        existing.present[s] = 1;
      }
    }
  }
  return [...merged.values()];
}
